import Foundation

/// Numeric format of an activation tensor that feeds a convolution or linear layer.
public enum Precision: String, Sendable, Codable, CaseIterable, Comparable {
    /// u8 with a zero point (per tensor), multiplied with int8 weights, Int32 accumulation.
    case int8
    /// u16 with a zero point, run as two u8 byte planes against the same int8 weights.
    case int16
    /// float32 activations and float32 weights.
    case float

    /// Order by fidelity: int8 < int16 < float.
    public static func < (a: Precision, b: Precision) -> Bool { a.rank < b.rank }
    var rank: Int {
        switch self {
        case .int8: return 0
        case .int16: return 1
        case .float: return 2
        }
    }
}

/// How one activation tensor is quantised: `q = clamp(rint(x / scale) + zeroPoint, 0, 2^bits - 1)`.
public struct ActivationQuantization: Sendable, Equatable, Codable {
    public var precision: Precision
    /// Step between quantised levels (1 when `precision` is float).
    public var scale: Float
    /// The quantised value of 0.0 (0 when float).
    public var zeroPoint: Int32
    /// Calibrated clipping range, for reports: values outside [lower, upper] saturate.
    public var lower: Float
    public var upper: Float
    /// Calibration method that set the range (`max`, `percentile`, `kl`, `skip`, or `none`).
    public var method: String

    public init(precision: Precision, scale: Float, zeroPoint: Int32, lower: Float, upper: Float, method: String) {
        self.precision = precision
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.lower = lower
        self.upper = upper
        self.method = method
    }

    /// Float passthrough.
    public static let float = ActivationQuantization(precision: .float, scale: 1, zeroPoint: 0, lower: 0, upper: 0, method: "none")

    /// The largest quantised value: 255 or 65535.
    public var maxLevel: Int32 { precision == .int16 ? 65535 : 255 }

    /// Scales below this are degenerate ranges: the scale becomes 1 (see `range`).
    public static let smallestScale: Float = 1e-12

    /// Parameters covering [lower, upper] (widened to include 0) at `precision`, asymmetric.
    ///
    /// Degenerate ranges are defined, not trapped: non-finite bounds count as 0; a range narrower than
    /// `levels * smallestScale` (all zero, denormal or otherwise negligible values, e.g. a tensor of
    /// 1e-37) gets scale 1 with the zero point at the level nearest 0, so such values quantise to
    /// (dequantised) 0; a range wider than Float can hold is capped at the largest finite scale. A
    /// constant tensor c is the range [min(c, 0), max(c, 0)].
    public static func range(lower: Float, upper: Float, precision: Precision, method: String) -> ActivationQuantization {
        guard precision != .float else {
            return ActivationQuantization(precision: .float, scale: 1, zeroPoint: 0, lower: lower, upper: upper, method: method)
        }
        let lo = min(lower.isFinite ? lower : 0, 0), hi = max(upper.isFinite ? upper : 0, 0)
        let levels: Float = precision == .int16 ? 65535 : 255
        // In Double: hi - lo can overflow Float (e.g. -3e38...3e38).
        var scale = Float(Swift.min(Double(Float.greatestFiniteMagnitude), (Double(hi) - Double(lo)) / Double(levels)))
        if !(scale > smallestScale) { scale = 1 }
        let zp = Int32(max(0, min(levels, (-lo / scale).rounded(.toNearestOrEven))))
        return ActivationQuantization(precision: precision, scale: scale, zeroPoint: zp, lower: lo, upper: hi, method: method)
    }

    /// The same range at another precision.
    public func with(precision p: Precision) -> ActivationQuantization {
        var q = ActivationQuantization.range(lower: lower, upper: upper, precision: p, method: method)
        if p == .float { q.scale = 1; q.zeroPoint = 0 }
        return q
    }

    /// Quantise then dequantise one value (what the int engine sees).
    public func fakeQuantize(_ x: Float) -> Float {
        guard precision != .float else { return x }
        let q = quantize(x)
        return Float(q - zeroPoint) * scale
    }

    /// The quantised level of x, exactly as the kernels compute it.
    public func quantize(_ x: Float) -> Int32 {
        var t = x * (1 / scale)
        t = max(t, Float(-zeroPoint) - 1)
        t = min(t, Float(maxLevel - zeroPoint) + 1)
        if t.isNaN { t = Float(maxLevel - zeroPoint) + 1 }
        return min(max(Int32(t.rounded(.toNearestOrEven)) + zeroPoint, 0), maxLevel)
    }
}

/// A convolution or linear layer ready for the int8 engine: per-output-channel symmetric int8
/// weights (or float weights when its input stays float), float bias, and its input's quantisation.
///
/// Weights are `[outFeatures][inFeatures]` with the input in the engine's gather order: the stem
/// convolution `(inChannel, ky, kx)` (OIHW, it reads the NCHW image), downsample convolutions
/// `(ky, kx, inChannel)` (OHWI, they read NHWC), linears the input feature.
public struct QuantizedLinear: Sendable {
    public var outFeatures: Int
    public var inFeatures: Int
    /// How the input activation is quantised.
    public var input: ActivationQuantization
    /// int8 weights in [-127, 127] (empty when `input.precision == .float`).
    public var weights: [Int8]
    /// Per output channel: float weight = weights * weightScales.
    public var weightScales: [Float]
    /// Float weights (only when `input.precision == .float`).
    public var floatWeights: [Float]
    public var bias: [Float]

    public init(outFeatures: Int, inFeatures: Int, input: ActivationQuantization, weights: [Int8],
                weightScales: [Float], floatWeights: [Float], bias: [Float]) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.input = input
        self.weights = weights
        self.weightScales = weightScales
        self.floatWeights = floatWeights
        self.bias = bias
    }

    /// Quantises float weights `[out][in]` per output channel, symmetric, when `input` is int8/int16.
    public init(outFeatures: Int, inFeatures: Int, floatWeights w: [Float], bias: [Float], input: ActivationQuantization) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.input = input
        self.bias = bias
        if input.precision == .float {
            weights = []
            weightScales = []
            floatWeights = w
            return
        }
        var q = [Int8](repeating: 0, count: w.count)
        var scales = [Float](repeating: 1, count: outFeatures)
        for o in 0..<outFeatures {
            var m: Float = 0
            for i in 0..<inFeatures { m = max(m, abs(w[o * inFeatures + i])) }
            let s: Float = m > 0 ? m / 127 : 1
            scales[o] = s
            for i in 0..<inFeatures {
                let v = (w[o * inFeatures + i] / s).rounded(.toNearestOrEven)
                q[o * inFeatures + i] = Int8(max(-127, min(127, v)))
            }
        }
        weights = q
        weightScales = scales
        floatWeights = []
    }

    /// The weights as floats (dequantised when int8).
    public var effectiveWeights: [Float] {
        if input.precision == .float { return floatWeights }
        var w = [Float](repeating: 0, count: weights.count)
        for o in 0..<outFeatures {
            for i in 0..<inFeatures { w[o * inFeatures + i] = Float(weights[o * inFeatures + i]) * weightScales[o] }
        }
        return w
    }
}

/// One residual block: float depthwise 7x7, LayerNorm (affine folded into fc1), fc1 + GELU,
/// fc2 (layer scale folded in), residual add.
public struct QuantizedBlock: Sendable {
    /// Depthwise weights `[7][7][channels]` (HWC) and bias; this layer runs in float (it is ~5% of
    /// the multiply-adds and reads the residual stream, which stays float).
    public var dwKernel: Int
    public var dwWeights: [Float]
    public var dwBias: [Float]
    public var normEpsilon: Float
    /// The LayerNorm affine, kept for reports and layer dumps (it is folded into fc1).
    public var normWeight: [Float]
    public var normBias: [Float]
    public var fc1: QuantizedLinear
    public var fc2: QuantizedLinear
    /// True when the source had a layer scale (folded into fc2).
    public var hasLayerScale: Bool
}

/// LayerNorm then a 2x2 stride-2 convolution (the LayerNorm affine folded into the convolution).
public struct QuantizedDownsample: Sendable {
    public var normEpsilon: Float
    public var normWeight: [Float]
    public var normBias: [Float]
    /// Input in gather order (ky, kx, inChannel), 2x2.
    public var conv: QuantizedLinear
}

/// One resolution level.
public struct QuantizedStage: Sendable {
    public var downsample: QuantizedDownsample?
    public var blocks: [QuantizedBlock]
}

/// What calibration chose, kept with the model.
public struct CalibrationSummary: Sendable, Equatable, Codable {
    /// `max`, `percentile`, `kl`, `mix` or `skip`.
    public var method: String
    /// The percentile used by `percentile` (e.g. 0.99995).
    public var percentile: Double
    public var sampleCount: Int
    /// Mean cosine similarity of quantised vs float logits over the calibration set.
    public var outputCosine: Double
    public init(method: String, percentile: Double, sampleCount: Int, outputCosine: Double) {
        self.method = method
        self.percentile = percentile
        self.sampleCount = sampleCount
        self.outputCosine = outputCosine
    }
}

/// A ConvNeXt prepared for the int8 engine; immutable and shareable.
///
/// Built by `Quantizer.quantize`, stored by `serialize()`, restored by `init(deserializing:)`.
/// Every convolution and linear layer holds per-output-channel symmetric int8 weights and the
/// quantisation of its input (int8, int16 or float). The residual stream, LayerNorm statistics,
/// depthwise convolutions and pooling run in float.
public struct QuantizedModel: Sendable {
    public var config: ConvNeXtConfig
    /// Patchify convolution (input gathered as (channel, ky, kx)), input = the image.
    public var stemConv: QuantizedLinear
    public var stemKernel: Int
    public var stemNorm: LayerNorm
    public var stages: [QuantizedStage]
    public var headNormEpsilon: Float
    public var headNormWeight: [Float]
    public var headNormBias: [Float]
    /// Classifier with the head LayerNorm affine folded in.
    public var head: QuantizedLinear
    /// ONNX node names per layer (from the source model), for reports.
    public var sourceNodes: [LayerID: [String]]
    public var calibration: CalibrationSummary

    /// The activation quantisation of every quantised tensor, keyed by the layer that produces it.
    /// See `QuantPoint`.
    public var activationPoints: [(QuantPoint, ActivationQuantization)] {
        var out: [(QuantPoint, ActivationQuantization)] = [(.input, stemConv.input)]
        for (s, stage) in stages.enumerated() {
            if let d = stage.downsample { out.append((.downsampleNorm(stage: s), d.conv.input)) }
            for (b, block) in stage.blocks.enumerated() {
                out.append((.blockNorm(stage: s, block: b), block.fc1.input))
                out.append((.gelu(stage: s, block: b), block.fc2.input))
            }
        }
        out.append((.headNorm, head.input))
        return out
    }
}

/// A quantised activation tensor: the input of a convolution or linear layer.
public enum QuantPoint: Hashable, Sendable, CustomStringConvertible {
    /// The image, input of the stem convolution.
    case input
    /// The normalised LayerNorm output feeding a downsample convolution (before its affine).
    case downsampleNorm(stage: Int)
    /// The normalised LayerNorm output feeding fc1 (before its affine).
    case blockNorm(stage: Int, block: Int)
    /// The GELU output feeding fc2.
    case gelu(stage: Int, block: Int)
    /// The normalised head LayerNorm output feeding the classifier.
    case headNorm

    public var description: String {
        switch self {
        case .input: return "input"
        case .downsampleNorm(let s): return "stages.\(s).downsample.norm"
        case .blockNorm(let s, let b): return "stages.\(s).blocks.\(b).norm"
        case .gelu(let s, let b): return "stages.\(s).blocks.\(b).gelu"
        case .headNorm: return "head.norm"
        }
    }

    /// The quantised tensor a layer's precision override applies to: a LayerNorm's output, the
    /// layer consuming it, a GELU and the layer consuming it. Depthwise convolutions, residual adds
    /// and the stem LayerNorm stay float in this engine, so they have no point (nil).
    public static func forLayer(_ id: LayerID) -> QuantPoint? {
        switch id {
        case .stemConv: return .input
        case .downsampleNorm(let s), .downsampleConv(let s): return .downsampleNorm(stage: s)
        case .norm(let s, let b), .fc1(let s, let b): return .blockNorm(stage: s, block: b)
        case .gelu(let s, let b), .fc2(let s, let b), .layerScale(let s, let b): return .gelu(stage: s, block: b)
        case .headPool, .headNorm, .headFC: return .headNorm
        case .stemNorm, .dwConv, .residual: return nil
        }
    }

    /// The layer whose output this point quantises, for reports.
    public var layer: LayerID {
        switch self {
        case .input: return .stemConv
        case .downsampleNorm(let s): return .downsampleNorm(stage: s)
        case .blockNorm(let s, let b): return .norm(stage: s, block: b)
        case .gelu(let s, let b): return .gelu(stage: s, block: b)
        case .headNorm: return .headNorm
        }
    }
}
