/// Typed weights of a ConvNeXt image classifier, independent of the file it came from.
///
/// Layouts follow PyTorch: convolution weights are OIHW, linear weights are
/// `[outFeatures][inFeatures]` row-major. Every engine (reference, fast, int8) reads this.
public struct ConvNeXtModel: Sendable {
    /// Architecture: depths, dims, block form, input size, classes.
    public var config: ConvNeXtConfig
    /// Patchify convolution (4x4, stride 4) and its channel LayerNorm.
    public var stem: Stem
    /// The four stages; stage 0 has no downsample.
    public var stages: [Stage]
    /// Global average pool, LayerNorm, classifier.
    public var head: Head
    /// ONNX node names (or checkpoint keys) per layer, for node_info overrides and reports.
    public var sourceNodes: [LayerID: [String]]
    /// Preprocessing the model expects when fed images.
    public var preprocessing: PreprocessingDefaults
    /// Where the weights came from (path, format).
    public var source: ModelSource

    public init(config: ConvNeXtConfig, stem: Stem, stages: [Stage], head: Head,
                sourceNodes: [LayerID: [String]] = [:],
                preprocessing: PreprocessingDefaults = .imagenet,
                source: ModelSource = ModelSource(path: "", format: "memory")) {
        self.config = config
        self.stem = stem
        self.stages = stages
        self.head = head
        self.sourceNodes = sourceNodes
        self.preprocessing = preprocessing
        self.source = source
    }
}

/// Which form the block MLP takes in the exported graph.
public enum BlockForm: String, Sendable, Codable {
    /// Two 1x1 convolutions around LayerNorm2d, NCHW (timm `conv_mlp=True`: atto..nano).
    case convMLP = "conv_mlp"
    /// Permute to NHWC, LayerNorm, Linear, GELU, Linear, permute back (tiny and larger).
    case linearMLP = "linear_mlp"
}

/// Architecture hyper-parameters of a ConvNeXt.
public struct ConvNeXtConfig: Sendable, Equatable, Codable {
    public var depths: [Int]
    public var dims: [Int]
    public var blockForm: BlockForm
    public var numClasses: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var inputChannels: Int

    public init(depths: [Int], dims: [Int], blockForm: BlockForm, numClasses: Int,
                inputHeight: Int = 224, inputWidth: Int = 224, inputChannels: Int = 3) {
        self.depths = depths
        self.dims = dims
        self.blockForm = blockForm
        self.numClasses = numClasses
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.inputChannels = inputChannels
    }

    /// NCHW input shape with batch 1.
    public var inputShape: [Int] { [1, inputChannels, inputHeight, inputWidth] }

    /// Number of input elements for one image.
    public var inputCount: Int { inputChannels * inputHeight * inputWidth }

    /// The timm name for these depths and dims, or `custom`.
    public var variantName: String { ConvNeXtSpec.variantName(depths: depths, dims: dims) }
}

/// A convolution with OIHW weights; groups == channels for depthwise.
public struct Conv2D: Sendable {
    public var outChannels: Int
    public var inChannels: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var groups: Int
    /// OIHW: `[outChannels][inChannels / groups][kernel][kernel]`.
    public var weight: [Float]
    public var bias: [Float]

    public init(outChannels: Int, inChannels: Int, kernel: Int, stride: Int, padding: Int,
                groups: Int, weight: [Float], bias: [Float]) {
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.weight = weight
        self.bias = bias
    }

    /// Weights plus biases.
    public var parameterCount: Int { weight.count + bias.count }
}

/// A fully connected layer (also a 1x1 convolution): `y = W x + b`.
public struct Linear: Sendable {
    public var outFeatures: Int
    public var inFeatures: Int
    /// Row-major `[outFeatures][inFeatures]`.
    public var weight: [Float]
    public var bias: [Float]

    public init(outFeatures: Int, inFeatures: Int, weight: [Float], bias: [Float]) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.weight = weight
        self.bias = bias
    }

    public var parameterCount: Int { weight.count + bias.count }
}

/// LayerNorm over the channel dimension with affine weight and bias.
public struct LayerNorm: Sendable {
    public var weight: [Float]
    public var bias: [Float]
    public var epsilon: Float

    public init(weight: [Float], bias: [Float], epsilon: Float) {
        self.weight = weight
        self.bias = bias
        self.epsilon = epsilon
    }

    public var channels: Int { weight.count }
    public var parameterCount: Int { weight.count + bias.count }
}

/// dwconv 7x7 -> LayerNorm -> fc1 (C->4C) -> GELU -> fc2 (4C->C) -> x layer scale -> + shortcut.
public struct ConvNeXtBlock: Sendable {
    public var dwConv: Conv2D
    public var norm: LayerNorm
    public var fc1: Linear
    public var fc2: Linear
    /// Per-channel layer scale (timm `gamma`); nil when the model has none.
    public var layerScale: [Float]?

    public init(dwConv: Conv2D, norm: LayerNorm, fc1: Linear, fc2: Linear, layerScale: [Float]?) {
        self.dwConv = dwConv
        self.norm = norm
        self.fc1 = fc1
        self.fc2 = fc2
        self.layerScale = layerScale
    }

    public var parameterCount: Int {
        dwConv.parameterCount + norm.parameterCount + fc1.parameterCount + fc2.parameterCount
            + (layerScale?.count ?? 0)
    }
}

/// Patchify stem: conv 4x4 stride 4, then LayerNorm2d.
public struct Stem: Sendable {
    public var conv: Conv2D
    public var norm: LayerNorm
    public init(conv: Conv2D, norm: LayerNorm) {
        self.conv = conv
        self.norm = norm
    }
    public var parameterCount: Int { conv.parameterCount + norm.parameterCount }
}

/// Downsample between stages: LayerNorm2d, then conv 2x2 stride 2.
public struct Downsample: Sendable {
    public var norm: LayerNorm
    public var conv: Conv2D
    public init(norm: LayerNorm, conv: Conv2D) {
        self.norm = norm
        self.conv = conv
    }
    public var parameterCount: Int { conv.parameterCount + norm.parameterCount }
}

/// One resolution level: optional downsample, then residual blocks.
public struct Stage: Sendable {
    public var downsample: Downsample?
    public var blocks: [ConvNeXtBlock]
    public init(downsample: Downsample?, blocks: [ConvNeXtBlock]) {
        self.downsample = downsample
        self.blocks = blocks
    }
    public var parameterCount: Int {
        (downsample?.parameterCount ?? 0) + blocks.reduce(0) { $0 + $1.parameterCount }
    }
}

/// Classifier head: global average pool -> LayerNorm -> Linear.
public struct Head: Sendable {
    public var norm: LayerNorm
    public var fc: Linear
    public init(norm: LayerNorm, fc: Linear) {
        self.norm = norm
        self.fc = fc
    }
    public var parameterCount: Int { norm.parameterCount + fc.parameterCount }
}

/// Names one layer of the typed model, for node maps, observers and reports.
public enum LayerID: Hashable, Sendable, Codable, CustomStringConvertible {
    case stemConv, stemNorm
    case downsampleNorm(stage: Int), downsampleConv(stage: Int)
    case dwConv(stage: Int, block: Int), norm(stage: Int, block: Int)
    case fc1(stage: Int, block: Int), gelu(stage: Int, block: Int), fc2(stage: Int, block: Int)
    case layerScale(stage: Int, block: Int), residual(stage: Int, block: Int)
    case headPool, headNorm, headFC

    public var description: String {
        switch self {
        case .stemConv: return "stem.conv"
        case .stemNorm: return "stem.norm"
        case .downsampleNorm(let s): return "stages.\(s).downsample.norm"
        case .downsampleConv(let s): return "stages.\(s).downsample.conv"
        case .dwConv(let s, let b): return "stages.\(s).blocks.\(b).conv_dw"
        case .norm(let s, let b): return "stages.\(s).blocks.\(b).norm"
        case .fc1(let s, let b): return "stages.\(s).blocks.\(b).fc1"
        case .gelu(let s, let b): return "stages.\(s).blocks.\(b).gelu"
        case .fc2(let s, let b): return "stages.\(s).blocks.\(b).fc2"
        case .layerScale(let s, let b): return "stages.\(s).blocks.\(b).layer_scale"
        case .residual(let s, let b): return "stages.\(s).blocks.\(b).residual"
        case .headPool: return "head.pool"
        case .headNorm: return "head.norm"
        case .headFC: return "head.fc"
        }
    }
}

/// How images are turned into the model input, as timm's eval transform does.
public struct PreprocessingDefaults: Sendable, Equatable, Codable {
    public var cropPct: Double
    public var interpolation: String
    public var mean: [Float]
    public var std: [Float]

    public init(cropPct: Double, interpolation: String, mean: [Float], std: [Float]) {
        self.cropPct = cropPct
        self.interpolation = interpolation
        self.mean = mean
        self.std = std
    }

    /// timm's defaults for ConvNeXt on ImageNet: crop 0.875, bicubic, ImageNet mean/std.
    public static let imagenet = PreprocessingDefaults(
        cropPct: 0.875, interpolation: "bicubic",
        mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
}

/// The file a model was read from.
public struct ModelSource: Sendable, Equatable, Codable {
    public var path: String
    /// `onnx`, `safetensors`, `pth`, `cnxk` (deployable) or `memory`.
    public var format: String
    public var opset: Int?
    public init(path: String, format: String, opset: Int? = nil) {
        self.path = path
        self.format = format
        self.opset = opset
    }
}
