/// The optimised float engine: NHWC, prepacked weights with folded norms and layer scales,
/// fused blocks, micro-kernels chosen from `KernelTable` for the CPU at build time.
///
/// Immutable after creation. Any number of `infer` calls may run at once: each takes its own
/// arena (scratch memory and, for `threads` > 1, its own thread team) from a pool.
public final class FastEngine: LayerProfiling, @unchecked Sendable {
    public let config: ConvNeXtConfig
    public var name: String { "fast-\(precision.rawValue)" }
    /// The precision of the pointwise layers.
    public let precision: FloatPrecision
    let plan: FastPlan
    private let arenas: ScratchPool<InferenceArena>

    /// Prepacks `model`; throws `ConvNeXtError.unsupportedModel` for shapes it cannot run, and
    /// `ConvNeXtError.usage` when `precision` cannot run here (`FloatPrecision.checkAvailable`).
    public init(model: ConvNeXtModel, precision: FloatPrecision = .f32) throws {
        try precision.checkAvailable()
        self.precision = precision
        plan = try FastPlan(model: model, precision: precision)
        config = model.config
        arenas = ScratchPool(threadsOf: { $0.threads }) { [plan] threads in InferenceArena(plan: plan, threads: threads) }
    }

    /// The kernels of the table this engine runs, chosen for the CPU (and ISA cap) when it was built.
    public var kernelNames: [String] { plan.kernelNames }

    /// Most threads one inference may use.
    public static let maxThreads = 64

    public func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int) {
        _ = run(input, logits: logits, threads: threads, profile: false)
    }

    /// Runs one inference and returns the time per layer kind seen by the calling thread.
    public func inferProfiled(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>,
                              threads: Int) -> LayerProfile {
        run(input, logits: logits, threads: threads, profile: true)
    }

    private func run(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>,
                     threads: Int, profile: Bool) -> LayerProfile {
        precondition(input.count >= config.inputCount && logits.count >= config.numClasses,
                     "FastEngine.infer: buffers smaller than the model's input or classes")
        let arena = arenas.take(threads: min(max(threads, 1), Self.maxThreads))
        defer { arenas.give(arena) }
        arena.input = input.baseAddress
        arena.logits = logits.baseAddress
        arena.profiling = profile
        if profile { arena.profileSink.update(repeating: 0, count: LayerKind.allCases.count) }
        arena.run(plan: plan)
        arena.input = nil
        arena.logits = nil
        return profile ? LayerProfile(nanoseconds: arena.profileSink) : LayerProfile()
    }
}

extension FastEngine {
    /// GFLOP/s of the prepacked linear layers on the pointwise shapes of `config` (the model
    /// being benchmarked), against the FMA peak of the kernels' ISA.
    public static func layerShapeReport(config: ConvNeXtConfig) -> String {
        PackedLinear.shapeBenchmarkReport(config: config)
    }
}
