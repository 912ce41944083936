import Foundation

/// A model opened for running: a ready engine, the input it takes and the preprocessing its
/// file records, so that a library user need not re-implement what the CLI does.
public struct LoadedModel: @unchecked Sendable {
    /// The path or registry name it was opened from.
    public var path: String
    /// The architecture: stage depths and widths, input shape, class count.
    public var config: ConvNeXtConfig
    /// Parameter count, when the file records it or the weights are floats.
    public var params: Int?
    /// The engine: the fast float engine (or the one asked for) for float models, the int8 engine
    /// for quantized `.cnxk` files. Kernels were chosen for this CPU when it was built.
    public var engine: any InferenceEngine
    /// Preprocessing defaults from the model (input size, crop_pct, interpolation, mean/std).
    public var preprocessDefaults: PreprocessOptions
    /// Set when the model is fed NV12 frames (a compiled model with input_type_rt nv12).
    public var nv12Input: NV12ModelInput?
    /// The pixel format the deployed model takes at run time (`rgb` for float model files).
    public var inputType: DeployedPreprocessing.InputType = .rgb
}

/// How a model that takes NV12 gets its input from an image file.
public struct NV12ModelInput: Sendable {
    /// The YUV range the model's colour conversion assumes.
    public var range: YUVRange
    /// How the model's colour conversion upsamples chroma.
    public var upsampling: ChromaUpsampling

    /// The conversion a model compiled for NV12 input applies.
    public init(range: YUVRange, upsampling: ChromaUpsampling) {
        self.range = range
        self.upsampling = upsampling
    }

    /// Decode, resize/crop, convert to NV12, then the model's own colour conversion and normalisation.
    public func tensor(imagePath: String, options: PreprocessOptions) throws -> Tensor {
        let image = Preprocessor.modelImage(try ImageDecoder.decode(path: imagePath, applyExifOrientation: options.applyExifOrientation), options: options)
        return try tensor(image: image, path: imagePath, options: options)
    }

    /// NV12-encodes an already resized and cropped image, then converts it as the model does.
    public func tensor(image: RGBImage, path: String, options: PreprocessOptions) throws -> Tensor {
        let frame = try NV12Frame(rgb: image, range: range, path: path)
        return frame.modelInput(normalization: options.pixelNormalization, range: range, upsampling: upsampling)
    }
}

extension ModelLoader {
    /// Opens any model for running: `.onnx`, `.pth`, `.safetensors`, a `.cnxk` file (float or
    /// quantized: the int8 engine, with the preprocessing its compile config recorded), or, through
    /// `load`, anything else a caller resolves (registry names, downloads).
    ///
    /// - Parameters:
    ///   - kind: the engine for float models (`.fast` unless comparing with `.reference`).
    ///   - precision: the float precision of float models (nil: the model's own, that is the
    ///     `float_precision` a `.cnxk` file records, else f32); `.bf16` is refused for int8 models.
    ///   - inputSize: the square input resolution for float models (a `.cnxk` runs at its compiled size).
    ///   - load: loads a float model that is not a `.cnxk` file; default `ModelLoader.load(path:)`.
    public static func open(path: String, engine kind: EngineKind = .fast, precision: FloatPrecision? = nil,
                            inputSize: Int? = nil,
                            allowRandomVariants: Bool = false,
                            load: ((String, Int?) throws -> ConvNeXtModel)? = nil) throws -> LoadedModel {
        if FileManager.default.fileExists(atPath: path), let deployable = try readDeployable(path) {
            let meta = deployable.metadata
            let config = meta.model.config
            if let size = inputSize, size != config.inputHeight || size != config.inputWidth {
                throw ConvNeXtError.usage("\(path): a .cnxk file runs at its compiled input size \(config.inputWidth)x\(config.inputHeight), not \(size)")
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
                let recorded = try deployable.floatPrecision(path: path)
                return LoadedModel(path: path, config: config, params: model.parameterCount,
                                   engine: try kind.make(model: model, precision: precision ?? recorded),
                                   preprocessDefaults: defaults, nv12Input: nv12,
                                   inputType: pre.inputTypeRT)
            case .quantized:
                if precision == .bf16 {
                    throw ConvNeXtError.usage("\(path): an int8 model has no bf16 precision (--precision bf16 applies to float models)")
                }
                let engine = try Int8Engine(model: try deployable.quantizedModel(path: path))
                return LoadedModel(path: path, config: config, params: meta.model.parameters, engine: engine,
                                   preprocessDefaults: defaults, nv12Input: nv12, inputType: pre.inputTypeRT)
            }
        }
        let model = try load?(path, inputSize) ?? ModelLoader.load(path: path, allowRandomVariants: allowRandomVariants,
                                                                      inputSize: inputSize)
        return LoadedModel(path: path, config: model.config, params: model.parameterCount,
                           engine: try kind.make(model: model, precision: precision ?? .f32),
                           preprocessDefaults: PreprocessOptions(model: model),
                           nv12Input: nil)
    }

    /// The deployable file at `path`, or nil when it is another kind of model file.
    public static func readDeployable(_ path: String) throws -> DeployableModel? {
        guard let head = FileIO.head(path: path, count: 64) else { return nil }
        guard DeployableModel.isDeployable(head) || path.lowercased().hasSuffix(".\(DeployableModel.fileExtension)") else { return nil }
        return try DeployableModel.read(path: path)
    }
}
