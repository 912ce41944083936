import Foundation

/// The runtime with a quantised program: int8/int16 GEMMs with Int32 accumulation and
/// requantisation in the epilogues (bias + GELU + quantise after fc1, bias + residual add after
/// fc2), float depthwise, LayerNorm statistics and residual stream.
///
/// Per block and per chunk of image rows (kept in cache): depthwise 7x7 -> LayerNorm normalise +
/// quantise -> fc1 GEMM (+GELU, requantise) -> fc2 GEMM (+residual), so a block needs one barrier.
/// Immutable; each inference takes a scratch arena from a pool (`ConvNeXtRuntime`).
public struct Int8Engine: RuntimeEngine {
    public let model: QuantizedModel
    let runtime: ConvNeXtRuntime

    public var config: ConvNeXtConfig { model.config }
    public var name: String { "int8" }
    /// The kernels in use (GEMMs of every precision, depthwise, LayerNorm).
    public var kernelNames: [String] { runtime.plan.kernelNames }

    public init(model: QuantizedModel, kernels: Int8KernelChoice = .automatic) throws {
        self.model = model
        runtime = try ConvNeXtRuntime(program: model, kernels: kernels)
    }

    /// Runs one NCHW image and reports every layer's output (NCHW, dequantised) to `observe`,
    /// with the same LayerIDs as `ReferenceForward.run(_:observe:)`: stem.conv, stem.norm, downsample
    /// norm/conv, conv_dw, norm, fc1 (before GELU), gelu, layer_scale (fc2 with the layer scale
    /// folded; fc2 when the model has none), residual, head pool/norm/fc. LayerNorm outputs are the
    /// quantised normalised values with the affine applied, as the graph's LayerNorm node outputs.
    public func run(_ input: Tensor, threads: Int = 1, observe: ((LayerID, Tensor) -> Void)? = nil) -> Tensor {
        runtime.run(input, threads: threads, observe: observe)
    }
}
