import Foundation

/// A model opened for classification: the one entry point for Swift callers, the C API, the
/// Python package and the service.
///
/// Open any model file (`.onnx`, `.pth`, `.safetensors`, `.cnxk`, float or int8) or a registry
/// name once, then call it from any number of threads: the object is immutable and every call
/// uses its own scratch memory.
///
/// ```swift
/// let model = try ImageClassifier(path: "convnext_atto.onnx")
/// let result = try model.classify(imagePath: "cat.jpg", top: 5)
/// print(result.top[0].label ?? "\(result.top[0].index)", result.top[0].probability)
/// ```
public final class ImageClassifier: Sendable {
    /// The loaded model: configuration, engine, preprocessing defaults.
    public let loaded: LoadedModel
    /// What the model takes as input and how images become that input.
    public let input: ModelInputDescription
    /// Class names, or nil when the model's class count matches no labels (indices are reported instead).
    public let labels: LabelSet?
    /// Why `labels` is nil when a labels set was available but did not fit (for a note to the user).
    public let labelsNote: String?
    /// The preprocessing every image gets (the model's defaults unless `Options.preprocessing` replaced them).
    public let preprocessing: PreprocessOptions
    private let nv12Range: YUVRange
    private let nv12Upsampling: ChromaUpsampling

    /// The engine that runs the model (kernels chosen for this CPU when it was opened).
    public var engine: any InferenceEngine { loaded.engine }
    /// The architecture: stage depths and widths, input shape, class count.
    public var config: ConvNeXtConfig { loaded.config }

    /// Opens `path` (a model file or a registry name).
    ///
    /// - Throws: ``ConvNeXtError`` naming the file and the problem (missing, unreadable,
    ///   not a ConvNeXt, a preprocessing the model cannot take).
    public convenience init(path: String, options: Options = Options()) throws {
        let resolver = try options.resolver ?? ModelResolver.standard()
        let loaded = try ModelLoader.open(path: path, engine: options.engine, precision: options.precision,
                                          inputSize: options.inputSize) {
            try resolver.resolve($0, download: options.download, inputSize: $1)
        }
        try self.init(loaded: loaded, options: options)
    }

    /// Wraps an already opened model (the CLI opens models with its own registry flags).
    public init(loaded: LoadedModel, options: Options = Options()) throws {
        let preprocessing = options.preprocessingChanges.applied(to: options.preprocessing ?? loaded.preprocessDefaults)
        try preprocessing.validate(source: "\(loaded.path): preprocessing")
        try Self.checkInput(loaded.config, size: preprocessing.size, path: loaded.path)
        let classes = loaded.config.numClasses
        var labels: LabelSet? = try options.labelsPath.map { try LabelSet.read(path: $0) } ?? LabelSet.imagenet1k
        var note: String?
        if let set = labels, set.count != classes {
            note = "the model has \(classes) classes but the labels have \(set.count) names: printing class indices"
            labels = nil
        }
        self.loaded = loaded
        self.labels = labels
        self.labelsNote = note
        self.preprocessing = preprocessing
        self.nv12Range = loaded.nv12Input?.range ?? options.nv12Range
        self.nv12Upsampling = loaded.nv12Input?.upsampling ?? options.nv12Upsampling
        self.input = ModelInputDescription(loaded: loaded, preprocessing: preprocessing)
    }

    /// Checks that the model takes 3-channel `size` x `size` images, the only input photos and
    /// frames can be turned into.
    ///
    /// - Throws: ``ConvNeXtError/unsupportedModel(path:reason:)`` for another channel count,
    ///   ``ConvNeXtError/usage(_:)`` when the model's input side differs from `size`.
    public static func checkInput(_ config: ConvNeXtConfig, size: Int, path: String) throws {
        guard config.inputChannels == 3 else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "it takes \(config.inputChannels) input channels, images give 3")
        }
        guard config.inputHeight == size && config.inputWidth == size else {
            throw ConvNeXtError.usage("\(path): the model input is \(config.inputWidth)x\(config.inputHeight), not \(size)x\(size) (use --size)")
        }
    }
}

// MARK: - Inference on tensors

extension ImageClassifier {
    /// Logits for one NCHW float input, written into caller-owned memory (no copies).
    ///
    /// `input` must hold `input.elementCount` floats and `logits` `config.numClasses`. This is the
    /// call `convnext infer` makes per image, so the logits are bit for bit the CLI's.
    ///
    /// - Parameter threads: threads for this one inference, 1...``maxThreads``.
    /// - Throws: ``ConvNeXtError/invalidInput(path:reason:)`` for a wrong element count,
    ///   ``ConvNeXtError/usage(_:)`` for a thread count out of range.
    public func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int = 1) throws {
        guard input.count == config.inputCount else {
            throw ConvNeXtError.invalidInput(path: "input", reason: "the model takes \(config.inputCount) floats \(Self.shapeText(config.inputShape)), got \(input.count)")
        }
        guard logits.count == config.numClasses else {
            throw ConvNeXtError.invalidInput(path: "logits", reason: "the model gives \(config.numClasses) logits, the buffer holds \(logits.count)")
        }
        try Self.checkThreads(threads)
        engine.infer(input, logits: logits, threads: threads)
    }

    /// The largest thread count one inference takes.
    public static var maxThreads: Int { FastEngine.maxThreads }

    /// Refuses a thread count outside 1...``maxThreads`` (the engines would clamp it silently).
    static func checkThreads(_ threads: Int) throws {
        guard (1...maxThreads).contains(threads) else {
            throw ConvNeXtError.usage("threads must be between 1 and \(maxThreads), not \(threads)")
        }
    }

    /// Logits `[1, classes]` for one input tensor of the model's input shape (or any shape with
    /// the same element count, read as NCHW).
    public func infer(_ input: Tensor, threads: Int = 1) throws -> Tensor {
        guard input.shape == config.inputShape || (input.count == config.inputCount && input.shape.reduce(1, *) == input.count) else {
            throw ConvNeXtError.invalidInput(path: "input", reason: "the model takes \(Self.shapeText(config.inputShape)), got \(Self.shapeText(input.shape))")
        }
        var logits = [Float](repeating: 0, count: config.numClasses)
        try input.data.withUnsafeBufferPointer { inp in
            try logits.withUnsafeMutableBufferPointer { try infer(inp, logits: $0, threads: threads) }
        }
        return Tensor(shape: [1, config.numClasses], data: logits)
    }

    static func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

// MARK: - Images and frames to input tensors

extension ImageClassifier {
    /// The model's input tensor for an encoded JPEG or PNG: decode, the model's preprocessing,
    /// and for an NV12-compiled model the camera path's colour conversion.
    public func tensor(imageData: Data, name: String = "image") throws -> Tensor {
        let image = try ImageDecoder.decode(data: imageData, path: name, applyExifOrientation: preprocessing.applyExifOrientation)
        return try tensor(image: image, name: name)
    }

    /// ``tensor(imageData:name:)`` for a file.
    public func tensor(imagePath: String) throws -> Tensor {
        let image = try ImageDecoder.decode(path: imagePath, applyExifOrientation: preprocessing.applyExifOrientation)
        return try tensor(image: image, name: imagePath)
    }

    /// The input tensor for a decoded image (`name` labels it in errors).
    public func tensor(image: RGBImage, name: String = "image") throws -> Tensor {
        let modelImage = Preprocessor.modelImage(image, options: preprocessing)
        if let nv12 = loaded.nv12Input {
            // A model compiled for NV12 input sees photos the way the camera path delivers them.
            return try nv12.tensor(image: modelImage, path: name, options: preprocessing)
        }
        return Preprocessor.normalizedTensor(modelImage, mean: preprocessing.mean, std: preprocessing.std)
    }

    /// The input tensor for an NV12 frame: a frame of the model's input size is converted as a
    /// deployed model does (colour conversion and normalisation as the model's first step); other
    /// sizes become RGB and are preprocessed like photos.
    public func tensor(nv12 frame: NV12Frame) -> Tensor {
        if frame.width == preprocessing.size && frame.height == preprocessing.size {
            return frame.modelInput(normalization: preprocessing.pixelNormalization, range: nv12Range, upsampling: nv12Upsampling)
        }
        let rgb = frame.rgbImage(range: nv12Range, upsampling: nv12Upsampling)
        return Preprocessor.normalizedTensor(Preprocessor.modelImage(rgb, options: preprocessing),
                                             mean: preprocessing.mean, std: preprocessing.std)
    }
}

// MARK: - Classification

/// One ranked class.
public struct Prediction: Sendable, Codable, Equatable {
    /// The class index, 0..<classes.
    public var index: Int
    /// The class name, when the model has labels.
    public var label: String?
    /// Softmax probability.
    public var probability: Float

    /// A prediction with these values.
    public init(index: Int, label: String?, probability: Float) {
        self.index = index
        self.label = label
        self.probability = probability
    }
}

/// The outcome of classifying one image or frame: top-k classes, the logits and the time of each step.
public struct ClassificationResult: Sendable {
    /// Classes by falling probability.
    public var top: [Prediction]
    /// The raw logits `[classes]`.
    public var logits: [Float]
    /// Milliseconds spent decoding and preprocessing (0 when a tensor was given).
    public var preprocessMilliseconds: Double
    /// Milliseconds in the engine.
    public var inferenceMilliseconds: Double
    /// Milliseconds for softmax and ranking.
    public var postprocessMilliseconds: Double

    /// A result with these values (the classifier makes them; this is for tests and adapters).
    public init(top: [Prediction], logits: [Float], preprocessMilliseconds: Double = 0,
                inferenceMilliseconds: Double = 0, postprocessMilliseconds: Double = 0) {
        self.top = top
        self.logits = logits
        self.preprocessMilliseconds = preprocessMilliseconds
        self.inferenceMilliseconds = inferenceMilliseconds
        self.postprocessMilliseconds = postprocessMilliseconds
    }
}

extension ImageClassifier {
    /// Softmax top-k of logits, with this model's labels: the `k` most probable classes, best
    /// first (equal probabilities keep the lower index first; `k` below 1 counts as 1).
    public func rank(logits: [Float], top k: Int) -> [Prediction] {
        Classification.topK(Classification.softmax(logits), k: max(1, k)).map {
            // Logits of another length than the class count get no names past the labels' end.
            Prediction(index: $0.index, label: label($0.index), probability: $0.probability)
        }
    }

    /// The name of class `index`, or nil without labels or outside them.
    public func label(_ index: Int) -> String? {
        guard let names = labels?.names, names.indices.contains(index) else { return nil }
        return names[index]
    }

    /// Classifies an encoded JPEG or PNG (`name` labels it in errors).
    ///
    /// - Throws: ``ConvNeXtError`` when the image does not decode, `k` is below 1 or `threads`
    ///   is out of range.
    public func classify(imageData: Data, top k: Int = 5, threads: Int = 1, name: String = "image") throws -> ClassificationResult {
        try timed(top: k, threads: threads) { try tensor(imageData: imageData, name: name) }
    }

    /// Classifies an image file: the same steps and results as `convnext classify MODEL IMAGE`.
    public func classify(imagePath: String, top k: Int = 5, threads: Int = 1) throws -> ClassificationResult {
        try timed(top: k, threads: threads) { try tensor(imagePath: imagePath) }
    }

    /// Classifies an NV12 frame (see ``tensor(nv12:)``).
    public func classify(nv12 frame: NV12Frame, top k: Int = 5, threads: Int = 1) throws -> ClassificationResult {
        try timed(top: k, threads: threads) { tensor(nv12: frame) }
    }

    /// Classifies an NV12 frame given as bytes (Y plane, then interleaved UV; `width * height * 3 / 2` bytes).
    public func classify(nv12 bytes: [UInt8], width: Int, height: Int, top k: Int = 5, threads: Int = 1) throws -> ClassificationResult {
        try classify(nv12: try NV12Frame(width: width, height: height, bytes: bytes), top: k, threads: threads)
    }

    /// Classifies an input tensor that is already preprocessed.
    public func classify(tensor: Tensor, top k: Int = 5, threads: Int = 1) throws -> ClassificationResult {
        try timed(top: k, threads: threads, preprocessCounts: false) { tensor }
    }

    private func timed(top k: Int, threads: Int, preprocessCounts: Bool = true,
                       _ makeInput: () throws -> Tensor) throws -> ClassificationResult {
        guard k >= 1 else { throw ConvNeXtError.usage("top must be at least 1, not \(k)") }
        let clock = ContinuousClock()
        let start = clock.now
        let input = try makeInput()
        let preprocessed = clock.now
        let logits = try infer(input, threads: threads).data
        let inferred = clock.now
        let ranked = rank(logits: logits, top: k)
        let done = clock.now
        return ClassificationResult(top: ranked, logits: logits,
                                    preprocessMilliseconds: preprocessCounts ? Self.milliseconds(preprocessed - start) : 0,
                                    inferenceMilliseconds: Self.milliseconds(inferred - preprocessed),
                                    postprocessMilliseconds: Self.milliseconds(done - inferred))
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
