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
    /// Preprocessing of photos: timm's eval transform with these settings.
    public var size: Int
    public var cropPct: Double
    public var interpolation: String
    public var resizeMode: String
    /// Per-channel mean and standard deviation in the 0...1 pixel domain.
    public var mean: [Float]
    public var std: [Float]

    enum CodingKeys: String, CodingKey {
        case shape, classes, format, precision, engine, variant, parameters, size, interpolation, mean, std
        case elementCount = "element_count", cropPct = "crop_pct", resizeMode = "resize_mode"
    }

    init(loaded: LoadedModel, preprocessing p: PreprocessOptions) {
        let config = loaded.config
        shape = config.inputShape
        elementCount = config.inputCount
        classes = config.numClasses
        format = loaded.inputType.rawValue
        engine = loaded.engine.name
        precision = loaded.engine is Int8Engine ? "int8" : "f32"
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
