import Foundation

/// What a model takes as input and how an image becomes it: the facts a caller needs to feed
/// tensors directly, or to check that images will be prepared as the model was trained.
public struct ModelInputDescription: Sendable, Codable, Equatable {
    /// The input tensor's shape, NCHW: `[1, 3, height, width]`.
    public var shape: [Int]
    /// Number of floats in one input.
    public var elementCount: Int
    /// Number of classes in the output logits `[1, classes]`.
    public var classes: Int
    /// The pixel format the deployed model takes at run time: `rgb` for float model files;
    /// `nv12`, `bgr`, ... for a compiled `.cnxk` (images given to ``ImageClassifier`` are converted).
    public var format: String
    /// `f32` or `int8`.
    public var precision: String
    /// The engine's name (`fast-f32`, `reference`, `int8`).
    public var engine: String
    /// The architecture's name (`atto`, `femto`, ..., or `custom`).
    public var variant: String
    /// Parameter count, when known.
    public var parameters: Int?
    /// Side of the square crop photos are brought to (timm's eval transform; equals the input side).
    public var size: Int
    /// timm's crop_pct: photos are resized so that their shorter side is `floor(size / cropPct)`.
    public var cropPct: Double
    /// The resize filter, Pillow's: `bicubic` or `bilinear`.
    public var interpolation: String
    /// `crop` (timm's resize and centre crop) or `letterbox` (fit inside, pad with grey).
    public var resizeMode: String
    /// Per-channel mean in the 0...1 pixel domain, subtracted before dividing by ``std``.
    public var mean: [Float]
    /// Per-channel standard deviation in the 0...1 pixel domain.
    public var std: [Float]

    enum CodingKeys: String, CodingKey {
        case shape, classes, format, precision, engine, variant, parameters, size, interpolation, mean, std
        case elementCount = "element_count", cropPct = "crop_pct", resizeMode = "resize_mode"
    }

    /// The description of `loaded` when its photos get preprocessing `p`.
    public init(loaded: LoadedModel, preprocessing p: PreprocessOptions) {
        let config = loaded.config
        shape = config.inputShape
        elementCount = config.inputCount
        classes = config.numClasses
        format = loaded.inputType.rawValue
        engine = loaded.engine.name
        precision = loaded.engine is Int8Engine ? "int8" : (loaded.engine as? FastEngine)?.precision.rawValue ?? "f32"
        variant = config.variantName
        parameters = loaded.params
        size = p.size
        cropPct = p.cropPct
        interpolation = p.interpolation.rawValue
        resizeMode = p.resizeMode.rawValue
        mean = p.mean
        std = p.std
    }
}
