import Foundation

/// The one runtime behind every engine: a program (`QuantizedModel`: the network with a
/// precision per GEMM input — all float for a float model) lowered into one `ExecutionPlan`, run
/// on `ExecutionArena`s taken from a pool, so any number of inferences may run at once.
final class ConvNeXtRuntime: @unchecked Sendable {
    let plan: ExecutionPlan
    private let pool: ScratchPool<ExecutionArena>

    /// Most threads one inference may use.
    static let maxThreads = 64

    /// `floatPrecision` is the storage of the program's float GEMMs (`FloatPrecision.storage(for:)`).
    init(program: QuantizedModel, kernels: Int8KernelChoice = .automatic, floatPrecision: FloatPrecision = .f32) throws {
        plan = try ExecutionPlan(model: program, kernels: kernels, floatPrecision: floatPrecision)
        pool = ScratchPool(threadsOf: { $0.threads }) { [plan] threads in ExecutionArena(plan: plan, threads: threads) }
    }

    var config: ConvNeXtConfig { plan.config }

    /// One inference on caller buffers; with `profile`, the CPU time per layer kind of the calling thread.
    func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int,
               profile: Bool) -> LayerProfile {
        precondition(input.count >= config.inputCount && logits.count >= config.numClasses,
                     "infer: buffers smaller than the model's input or classes")
        guard let inp = input.baseAddress, let out = logits.baseAddress else { return LayerProfile() }
        let t = max(1, min(threads, Self.maxThreads))
        let arena = pool.take(threads: t)
        defer { pool.give(arena) }
        arena.startProfile(profile)
        plan.execute(input: inp, logits: out, arena: arena, threads: t, dump: nil)
        arena.startProfile(false)
        return profile ? LayerProfile(nanoseconds: arena.profileSink) : LayerProfile()
    }

    /// Runs one NCHW image and reports every layer's output (NCHW) to `observe`, with the same
    /// `LayerID`s as `ReferenceForward.run(_:observe:)` (quantised layers dequantised).
    func run(_ input: Tensor, threads: Int, observe: ((LayerID, Tensor) -> Void)?) -> Tensor {
        var logits = [Float](repeating: 0, count: config.numClasses)
        guard input.count == config.inputCount else { return Tensor(shape: [1, config.numClasses], data: logits) }
        let t = max(1, min(threads, Self.maxThreads))
        let arena = pool.take(threads: t)
        defer { pool.give(arena) }
        let dump = observe.map { LayerDump(observe: $0) }
        input.data.withUnsafeBufferPointer { inp in
            logits.withUnsafeMutableBufferPointer { out in
                plan.execute(input: inp.baseAddress!, logits: out.baseAddress!, arena: arena, threads: t, dump: dump)
            }
        }
        return Tensor(shape: [1, config.numClasses], data: logits)
    }
}
