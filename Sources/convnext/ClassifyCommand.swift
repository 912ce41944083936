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

            Streams: with `-` as the only input, frames are read from standard input until it \
            ends and one JSON line is written per frame (flushed at once), for GStreamer, ffmpeg \
            or any pipeline: raw NV12 frames back to back with --nv12 WIDTHxHEIGHT, or JPEG/PNG \
            files back to back with --stdin-format image (or jpeg, png to accept only one).

            Labels: ImageNet-1k names are built in; --labels reads one name per line or \
            `index<TAB>id<TAB>name` lines. If the model's class count differs from the labels, \
            class indices are printed instead, with a note.

            Examples:
              convnext classify convnext_atto.onnx chelsea.jpg rocket.png --top 3
              convnext classify convnext_atto.onnx frame.nv12 --nv12 224x224 --nv12-range video
              convnext classify digits.onnx *.png --labels digits.txt --size 64 --crop-pct 1 --json
              ffmpeg -i cam.mp4 -f rawvideo -pix_fmt nv12 -s 224x224 - | convnext classify atto --nv12 224x224 -
              ffmpeg -i cam.mp4 -f image2pipe -c:v mjpeg - | convnext classify atto --stdin-format image -
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors or .pth), or a registry name (atto; see `convnext zoo`).")
    var model: String

    @Argument(help: "Images (JPEG, PNG), or raw NV12 frames with --nv12; `-` alone reads a stream of frames from standard input.")
    var images: [String] = []

    @Option(name: .customLong("stdin-format"),
            help: "With `-`: image (JPEG or PNG files back to back), jpeg, png; raw NV12 frames take --nv12 instead.")
    var stdinFormat: StdinFormat?

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
        try OptionValidation.check(top, "--top", in: OptionValidation.top)
        try OptionValidation.check(threads, "--threads", in: OptionValidation.threads)
        _ = try nv12.map { try OptionValidation.frameSize($0, "--nv12") }
        if images.contains("-") {
            guard images.count == 1 else { throw ValidationError("`-` (standard input) must be the only input") }
            guard (nv12 == nil) != (stdinFormat == nil) else {
                throw ValidationError("with `-`, give either --nv12 WIDTHxHEIGHT (raw frames) or --stdin-format image|jpeg|png")
            }
        } else if stdinFormat != nil {
            throw ValidationError("--stdin-format applies only to `-` (standard input)")
        }
    }

    @OptionGroup var isaOptions: ISAOptions

    @OptionGroup var precisionOptions: PrecisionOptions

    func run() throws {
        var failed = 0
        try reportingErrors {
            try isaOptions.apply()
            // --size also sets the model's input resolution (ConvNeXt runs at any multiple of 32).
            let loaded = try openModel(model, lookup: lookup, inputSize: preprocess.size, kind: self.engine,
                                       precision: precisionOptions.precision)
            let classifier = try ImageClassifier(loaded: loaded, options: ImageClassifier.Options(
                labelsPath: labels, preprocessing: try preprocess.options(defaults: loaded.preprocessDefaults),
                nv12Range: preprocess.nv12Range, nv12Upsampling: preprocess.nv12Upsampling))
            let frameSize = try nv12.map { try NV12Frame.parseSize($0) }
            // On stdout (JSON carries it as labelsNote), so stderr holds only errors.
            if let note = classifier.labelsNote, !json, images != ["-"] { print("note: \(note)") }
            if images == ["-"] {
                let layout: FrameStreamReader.Layout = frameSize.map { .nv12(width: $0.width, height: $0.height) }
                    ?? .images(allowed: stdinFormat?.formats ?? [])
                failed = try classifyStream(FrameStreamReader(input: .standardInput, layout: layout), with: classifier)
                return
            }

            var results: [ImageResult] = []
            for path in images {
                do {
                    let result: ClassificationResult
                    if let frameSize {
                        let frame = try NV12Frame.read(path: path, width: frameSize.width, height: frameSize.height)
                        result = try classifier.classify(nv12: frame, top: top, threads: threads)
                    } else {
                        result = try classifier.classify(imagePath: path, top: top, threads: threads)
                    }
                    let entry = ImageResult(image: path, result: result)
                    results.append(entry)
                    if !json { print(entry.text(), terminator: "") }
                } catch let error as ConvNeXtError {
                    failed += 1
                    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                    results.append(ImageResult(image: path, error: error.description))
                }
            }
            if json {
                let report = ClassifyReport(model: model, labels: labels ?? (classifier.labels == nil ? nil : "imagenet-1k"),
                                            labelsNote: classifier.labelsNote, results: results)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// The model must take 3-channel size x size images.
    static func checkInput(_ config: ConvNeXtConfig, size: Int, path: String) throws {
        try ImageClassifier.checkInput(config, size: size, path: path)
    }
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

    init(image: String, result: ClassificationResult) {
        self.image = image
        top = result.top.map { Entry(index: $0.index, label: $0.label, probability: $0.probability) }
        times = Times(preprocess: result.preprocessMilliseconds, inference: result.inferenceMilliseconds,
                      postprocess: result.postprocessMilliseconds)
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
