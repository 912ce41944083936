import ConvNeXtKit

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
        let frame = try NV12Frame(rgb: image, range: range, path: imagePath)
        return frame.modelInput(normalization: options.pixelNormalization, range: range, upsampling: upsampling)
    }
}

/// Opens `nameOrPath` for running: float models get the fast engine.
func openModel(_ nameOrPath: String, lookup: ModelLookupOptions, inputSize: Int?) throws -> OpenedModel {
    let model = try lookup.load(nameOrPath, inputSize: inputSize)
    return OpenedModel(path: nameOrPath, config: model.config, params: model.parameterCount, engine: try makeEngine(model: model),
                       preprocessDefaults: PreprocessOptions(model: model), nv12Input: nil)
}
