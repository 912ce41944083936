import ConvNeXtKit
import Foundation

/// The engine every command runs float models with: the fast engine unless `--engine reference`.
func makeEngine(model: ConvNeXtModel, kind: EngineKind = .fast) throws -> any InferenceEngine {
    try kind.make(model: model)
}

/// A model opened by path or registry name, with the engine that runs it.
struct OpenedModel {
    var path: String
    var config: ConvNeXtConfig
    /// Parameter count, when the model's weights are known as floats.
    var params: Int?
    var engine: any InferenceEngine
    /// Preprocessing defaults from the model (input size, crop_pct, interpolation, mean/std).
    var preprocessDefaults: PreprocessOptions
    /// Set when the model is fed NV12 frames (a compiled model with input_type_rt nv12).
    var nv12Input: NV12ModelInput?
}

/// How a model that takes NV12 gets its input from an image file.
struct NV12ModelInput {
    var range: YUVRange
    var upsampling: ChromaUpsampling

    /// Decode, resize/crop, convert to NV12, then the model's own colour conversion and normalisation.
    func tensor(imagePath: String, options: PreprocessOptions) throws -> Tensor {
        let image = Preprocessor.modelImage(try ImageDecoder.decode(path: imagePath, applyExifOrientation: options.applyExifOrientation), options: options)
        return try tensor(image: image, path: imagePath, options: options)
    }

    /// NV12-encodes an already resized and cropped image, then converts it as the model does.
    func tensor(image: RGBImage, path: String, options: PreprocessOptions) throws -> Tensor {
        let frame = try NV12Frame(rgb: image, range: range, path: path)
        return frame.modelInput(normalization: options.pixelNormalization, range: range, upsampling: upsampling)
    }
}

/// Opens `nameOrPath` for running: float models get the chosen float engine; a compiled
/// (quantized) `.cnxk` gets the int8 engine, with the preprocessing its config recorded.
func openModel(_ nameOrPath: String, lookup: ModelLookupOptions, inputSize: Int?,
               kind: EngineKind = .fast, allowRandomVariants: Bool = false) throws -> OpenedModel {
    if FileManager.default.fileExists(atPath: nameOrPath), let deployable = try readDeployable(nameOrPath) {
        let meta = deployable.metadata
        let config = meta.model.config
        if let size = inputSize, size != config.inputHeight || size != config.inputWidth {
            throw ConvNeXtError.usage("\(nameOrPath): a .cnxk file runs at its compiled input size \(config.inputWidth)x\(config.inputHeight), not \(size)")
        }
        var defaults = PreprocessOptions(size: config.inputHeight, cropPct: meta.imageDefaults.cropPct,
                                         interpolation: Interpolation(rawValue: meta.imageDefaults.interpolation.lowercased()) ?? .bicubic,
                                         mean: meta.imageDefaults.mean, std: meta.imageDefaults.std)
        let pre = meta.preprocessing
        if pre.normType != .noPreprocess {
            // The deployed model normalises pixels with (x - mean) * scale: the same as timm's mean/std form.
            defaults.mean = pre.effectiveMean.map { $0 / 255 }
            defaults.std = pre.effectiveScale.map { 1 / ($0 * 255) }
        }
        let nv12 = pre.inputTypeRT == .nv12
            ? NV12ModelInput(range: pre.colourRange == .bt601Video ? .video : .full, upsampling: .bilinear) : nil
        switch deployable.payload {
        case .float(let model):
            return OpenedModel(path: nameOrPath, config: config, params: model.parameterCount,
                               engine: try makeEngine(model: model, kind: kind), preprocessDefaults: defaults, nv12Input: nv12)
        case .quantized:
            let engine = try Int8Engine(model: try deployable.quantizedModel(path: nameOrPath))
            return OpenedModel(path: nameOrPath, config: config, params: meta.model.parameters, engine: engine,
                               preprocessDefaults: defaults, nv12Input: nv12)
        }
    }
    let model = try lookup.load(nameOrPath, inputSize: inputSize, allowRandomVariants: allowRandomVariants)
    return OpenedModel(path: nameOrPath, config: model.config, params: model.parameterCount,
                       engine: try makeEngine(model: model, kind: kind),
                       preprocessDefaults: PreprocessOptions(model: model), nv12Input: nil)
}

/// The deployable file at `path`, or nil when it is another kind of model file.
func readDeployable(_ path: String) throws -> DeployableModel? {
    guard let head = FileIO.head(path: path, count: 64) else { return nil }
    guard DeployableModel.isDeployable(head) || path.lowercased().hasSuffix(".\(DeployableModel.fileExtension)") else { return nil }
    return try DeployableModel.read(path: path)
}
