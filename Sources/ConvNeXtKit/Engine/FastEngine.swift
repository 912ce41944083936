/// The float engine: the runtime with every layer in float — f32, or bf16 pointwise layers with
/// `precision: .bf16` — (NHWC, prepacked weights with the
/// LayerNorm affines and layer scales folded once by `FoldedModel`, fused blocks, micro-kernels
/// chosen from `KernelTable` for the CPU at build time).
///
/// Immutable after creation. Any number of `infer` calls may run at once: each takes its own
/// arena (scratch memory and, for `threads` > 1, its own thread team) from a pool.
public final class FastEngine: RuntimeEngine, @unchecked Sendable {
    public let config: ConvNeXtConfig
    public var name: String { "fast-\(precision.rawValue)" }
    /// The precision of the pointwise layers.
    public let precision: FloatPrecision
    let runtime: ConvNeXtRuntime

    /// Folds and prepacks `model`; throws `ConvNeXtError.unsupportedModel` for shapes it cannot run,
    /// and `ConvNeXtError.usage` when `precision` cannot run here (`FloatPrecision.checkAvailable`).
    public init(model: ConvNeXtModel, precision: FloatPrecision = .f32) throws {
        try precision.checkAvailable()
        try FoldedModel.validate(model)
        self.precision = precision
        runtime = try ConvNeXtRuntime(program: QuantizedModel(floatModel: model), floatPrecision: precision)
        config = model.config
    }

    /// The kernels of the table this engine runs, chosen for the CPU (and ISA cap) when it was built.
    public var kernelNames: [String] { runtime.plan.kernelNames }

    /// Most threads one inference may use.
    public static let maxThreads = ConvNeXtRuntime.maxThreads

    /// Runs one NCHW image and reports every layer's output (NCHW) to `observe`, with the same
    /// `LayerID`s as `ReferenceForward.run(_:observe:)` (fc2 carries the folded layer scale).
    public func run(_ input: Tensor, threads: Int = 1, observe: ((LayerID, Tensor) -> Void)? = nil) -> Tensor {
        runtime.run(input, threads: threads, observe: observe)
    }
}
