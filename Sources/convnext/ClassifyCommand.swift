import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext classify`: images in, top-k class names with probabilities out.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify images: softmax top-k with class names, and the time of each step.",
        discussion: """
            Each image is preprocessed (see `convnext preprocess`), run through the model and \
            ranked. An image that cannot be read gets a one-line error and the others are still \
            classified; the exit code is 1 if any failed.

            With --nv12 WIDTHxHEIGHT the inputs are raw NV12 frames. A frame of the model's input \
            size is fed as a deployed model takes it (colour conversion and normalisation as the \
            model's first step); other sizes are converted to RGB and preprocessed like photos.

            Labels: ImageNet-1k names are built in; --labels reads one name per line or \
            `index<TAB>id<TAB>name` lines. If the model's class count differs from the labels, \
            class indices are printed instead, with a note.

            Examples:
              convnext classify convnext_atto.onnx chelsea.jpg rocket.png --top 3
              convnext classify convnext_atto.onnx frame.nv12 --nv12 224x224 --nv12-range video
              convnext classify digits.onnx *.png --labels digits.txt --size 64 --crop-pct 1 --json
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors or .pth), or a registry name (atto; see `convnext zoo`).")
    var model: String

    @Argument(help: "Images (JPEG, PNG), or raw NV12 frames with --nv12.")
    var images: [String] = []

    @Option(help: "How many classes to print per image.")
    var top = 5

    @Option(help: "Labels file: one name per line, or index<TAB>id<TAB>name (default: ImageNet-1k).")
    var labels: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(name: .customLong("nv12"), help: "The inputs are raw NV12 frames of this size (WIDTHxHEIGHT).")
    var nv12: String?

    @Option(help: "Threads for one inference.")
    var threads = 1

    @Option(help: "Engine: fast (optimised, default) or reference (the plain NCHW oracle).")
    var engine: EngineKind = .fast

    @OptionGroup var preprocess: PreprocessFlags

    @OptionGroup var lookup: ModelLookupOptions

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    @OptionGroup var isaOptions: ISAOptions

    func run() throws {
        var failed = 0
        try reportingErrors {
            try isaOptions.apply()
            // --size also sets the model's input resolution (ConvNeXt runs at any multiple of 32).
            let loaded = try openModel(model, lookup: lookup, inputSize: preprocess.size, kind: self.engine)
            let options = try preprocess.options(defaults: loaded.preprocessDefaults)
            try Self.checkInput(loaded.config, size: options.size, path: model)
            let frameSize = try nv12.map { try NV12Frame.parseSize($0) }
            let engine = loaded.engine
            let classes = loaded.config.numClasses

            var labelSet: LabelSet? = try labels.map { try LabelSet.read(path: $0) } ?? LabelSet.imagenet1k
            var labelNote: String?
            if let set = labelSet, set.count != classes {
                let note = "the model has \(classes) classes but the labels have \(set.count) names: printing class indices"
                // On stdout (JSON carries it as labelsNote), so stderr holds only errors.
                if !json { print("note: \(note)") }
                labelNote = note
                labelSet = nil
            }

            var results: [ImageResult] = []
            for path in images {
                do {
                    let result = try classify(path: path, engine: engine, options: options,
                                              frameSize: frameSize, labels: labelSet, modelNV12Input: loaded.nv12Input)
                    results.append(result)
                    if !json { print(result.text(), terminator: "") }
                } catch let error as ConvNeXtError {
                    failed += 1
                    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                    results.append(ImageResult(image: path, error: error.description))
                }
            }
            if json {
                let report = ClassifyReport(model: model, labels: labels ?? (labelSet == nil ? nil : "imagenet-1k"),
                                            labelsNote: labelNote, results: results)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// Runs one image or frame through preprocessing, the engine and softmax top-k.
    func classify(path: String, engine: any InferenceEngine, options: PreprocessOptions,
                  frameSize: (width: Int, height: Int)?, labels: LabelSet?,
                  modelNV12Input: NV12ModelInput? = nil) throws -> ImageResult {
        let clock = ContinuousClock()
        let start = clock.now
        let input: Tensor
        if let frameSize {
            let frame = try NV12Frame.read(path: path, width: frameSize.width, height: frameSize.height)
            if frame.width == options.size && frame.height == options.size {
                input = frame.modelInput(normalization: options.pixelNormalization,
                                         range: preprocess.nv12Range, upsampling: preprocess.nv12Upsampling)
            } else {
                let rgb = frame.rgbImage(range: preprocess.nv12Range, upsampling: preprocess.nv12Upsampling)
                input = Preprocessor.normalizedTensor(Preprocessor.modelImage(rgb, options: options),
                                                      mean: options.mean, std: options.std)
            }
        } else if let nv12Input = modelNV12Input {
            // A model compiled for NV12 input sees photos the way the camera path delivers them.
            input = try nv12Input.tensor(imagePath: path, options: options)
        } else {
            input = try Preprocessor.tensor(path: path, options: options)
        }
        let preprocessed = clock.now
        let logits = engine.infer(input, threads: threads)
        let inferred = clock.now
        let ranked = Classification.topK(Classification.softmax(logits.data), k: top)
        let top = ranked.map { score in
            ImageResult.Entry(index: score.index, label: labels.map { $0.names[score.index] },
                              probability: score.probability)
        }
        let done = clock.now
        return ImageResult(image: path, top: top, times: ImageResult.Times(
            preprocess: milliseconds(preprocessed - start), inference: milliseconds(inferred - preprocessed),
            postprocess: milliseconds(done - inferred)))
    }

    /// The model must take 3-channel size x size images.
    static func checkInput(_ config: ConvNeXtConfig, size: Int, path: String) throws {
        guard config.inputChannels == 3 else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "it takes \(config.inputChannels) input channels, images give 3")
        }
        guard config.inputHeight == size && config.inputWidth == size else {
            throw ConvNeXtError.usage("\(path): the model input is \(config.inputWidth)x\(config.inputHeight), not \(size)x\(size) (use --size)")
        }
    }
}

private func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// What `classify` reports for one input.
struct ImageResult: Codable {
    struct Entry: Codable {
        var index: Int
        var label: String?
        var probability: Float
    }
    struct Times: Codable {
        var preprocess: Double
        var inference: Double
        var postprocess: Double
    }
    var image: String
    var top: [Entry]?
    var times: Times?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case image, top, error
        case times = "times_ms"
    }

    init(image: String, top: [Entry], times: Times) {
        self.image = image
        self.top = top
        self.times = times
    }

    init(image: String, error: String) {
        self.image = image
        self.error = error
    }

    /// Human-readable block: the image, one line per class, the times.
    func text() -> String {
        var s = "\(image)\n"
        for e in top ?? [] {
            let name = e.label.map { "\($0) (\(e.index))" } ?? "class \(e.index)"
            s += "  \(String(format: "%.4f", e.probability))  \(name)\n"
        }
        if let t = times {
            s += String(format: "  pre-process %.2f ms, inference %.2f ms, post-process %.2f ms\n",
                        t.preprocess, t.inference, t.postprocess)
        }
        return s
    }
}

/// The JSON document of one `classify` run.
struct ClassifyReport: Codable {
    var model: String
    var labels: String?
    var labelsNote: String?
    var results: [ImageResult]

    enum CodingKeys: String, CodingKey {
        case model, labels, results
        case labelsNote = "labels_note"
    }
}
