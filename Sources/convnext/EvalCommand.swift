import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext eval`: top-1 / top-5 over a labelled image set, optionally two models side by side.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure top-1/top-5 accuracy on labelled images; --compare runs a second model on the same images.",
        discussion: """
            The data is DIR/<class>/<image>, where <class> is a class index, a WordNet id \
            (n01440764, through the labels) or a class name; or --val-list FILE with \
            `relative/path index` lines (ImageNet's val.txt form; paths relative to --data). \
            Images are decoded and preprocessed once, in parallel, and fed to every model; \
            each worker runs single-threaded inferences on the shared model. An unreadable \
            image is counted and listed, never fatal. A progress bar goes to stderr.

            Examples:
              convnext eval convnext_atto.onnx --data imagenet/val --val-list val.txt
              convnext eval digits.onnx --data digits/val --size 64 --crop-pct 1
              convnext eval digits.onnx --compare digits_int8.cnxk --data digits/val --size 64 --crop-pct 1 --json
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors, .pth, .cnxk) or a registry name.")
    var model: String

    @Option(help: "Folder of class folders, or the root that --val-list paths are relative to.")
    var data: String

    @Option(name: .customLong("val-list"), help: "File of `relative/path index` lines instead of class folders.")
    var valList: String?

    @Option(help: "A second model to run on the same images (agreement and output cosine are reported).")
    var compare: String?

    @Option(help: "Evaluate at most N images, spread evenly over the set (default: all).")
    var limit: Int?

    @Option(help: "Concurrent workers (default: all cores).")
    var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Labels file mapping class folder names (one name per line, or index<TAB>id<TAB>name).")
    var labels: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "Do not draw the progress bar.")
    var noProgress = false

    @OptionGroup var preprocess: PreprocessFlags

    @OptionGroup var lookup: ModelLookupOptions

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    @OptionGroup var isaOptions: ISAOptions

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            let first = try openModel(model, lookup: lookup, inputSize: preprocess.size)
            var opened = [first]
            if let compare {
                let second = try openModel(compare, lookup: lookup, inputSize: preprocess.size)
                guard second.config.numClasses == first.config.numClasses else {
                    throw ConvNeXtError.usage("--compare: \(compare) has \(second.config.numClasses) classes, \(model) has \(first.config.numClasses)")
                }
                opened.append(second)
            }
            let options = try preprocess.options(defaults: first.preprocessDefaults)
            for m in opened { try ClassifyCommand.checkInput(m.config, size: options.size, path: m.path) }
            let classes = first.config.numClasses

            let samples = try evalSamples(data: data, valList: valList, labels: labels, numClasses: classes, limit: limit)

            // Decode and resize once; each model gets its own input path (NV12-compiled models see NV12).
            let paths = opened.map { $0.nv12Input }
            let evaluator = Evaluator(engines: opened.map(\.engine), modelNames: opened.map(\.path), workers: workers) { path in
                try modelInputs(path: path, options: options, nv12: paths)
            }
            let bar = noProgress ? nil : ProgressBar(label: "eval")
            let result = evaluator.run(samples) { bar?.update($0) }
            bar?.finish()
            print(json ? Self.json(result) : Self.text(result, workers: workers))
        }
    }

    static func text(_ r: EvalResult, workers: Int) -> String {
        var lines: [String] = []
        for m in r.metrics {
            lines.append("\(m.model) (\(m.engine))")
            lines.append(String(format: "  top-1 %.2f%% (%d/%d)   top-5 %.2f%% (%d/%d)", m.top1 * 100, m.correctTop1, m.images,
                                m.top5 * 100, m.correctTop5, m.images))
        }
        if let agreement = r.agreement, let cosine = r.meanCosine {
            lines.append(String(format: "top-1 agreement %.2f%%   mean output cosine %.6f", agreement * 100, cosine))
        }
        let first = r.metrics.first
        lines.append(String(format: "%d images, %d failed, %.1f images/s with %d worker%@ (%.2f s)", first?.images ?? 0,
                            r.failures.count, first?.imagesPerSecond ?? 0, workers, workers == 1 ? "" : "s", r.seconds))
        for f in r.failures { lines.append("failed: \(f.reason)") }
        return lines.joined(separator: "\n")
    }

    static func json(_ r: EvalResult) -> String {
        func object(_ m: EvalMetrics) -> [String: Any] {
            ["model": m.model, "engine": m.engine, "top1": m.top1, "top5": m.top5, "images": m.images, "failed": m.failed,
             "correct_top1": m.correctTop1, "correct_top5": m.correctTop5, "images_per_second": m.imagesPerSecond]
        }
        var root: [String: Any]
        if r.metrics.count == 2, let agreement = r.agreement, let cosine = r.meanCosine {
            root = ["models": r.metrics.map(object), "agreement": agreement, "mean_cosine": cosine,
                    "images": r.metrics[0].images, "failed": r.failures.count]
        } else {
            root = r.metrics.first.map(object) ?? [:]
        }
        root["failures"] = r.failures.map { ["path": $0.path, "error": $0.reason] }
        root["seconds"] = r.seconds
        let data = (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The labelled images of `data` (class folders, or `valList` lines), at most `limit`, spread evenly.
func evalSamples(data: String, valList: String?, labels: String?, numClasses: Int, limit: Int?) throws -> [EvalSample] {
    var samples: [EvalSample]
    if let valList {
        samples = try EvalDataset.readList(valList, root: data, numClasses: numClasses)
    } else {
        let set = try labels.map { try LabelSet.read(path: $0) } ?? (numClasses == LabelSet.imagenet1k.count ? LabelSet.imagenet1k : nil)
        let resolver = ClassNameResolver(numClasses: numClasses, ids: set?.ids ?? [], names: set?.names ?? [])
        samples = try EvalDataset.scanFolders(data, classes: resolver)
    }
    if let limit, limit < samples.count {
        samples = (0..<limit).map { samples[$0 * samples.count / limit] }
    }
    return samples
}

/// Decodes and resizes `path` once, then builds each model's input: RGB normalisation, or the
/// NV12 encoding plus the model's own colour conversion for NV12-compiled models.
func modelInputs(path: String, options: PreprocessOptions, nv12: [NV12ModelInput?]) throws -> [Tensor] {
    let image = Preprocessor.modelImage(try ImageDecoder.decode(path: path, applyExifOrientation: options.applyExifOrientation), options: options)
    var rgb: Tensor?
    return try nv12.map { input in
        if let input { return try input.tensor(image: image, path: path, options: options) }
        if rgb == nil { rgb = Preprocessor.normalizedTensor(image, mean: options.mean, std: options.std) }
        return rgb!
    }
}

/// A one-line progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = 0.0
    private var lastDecile = -1

    init(label: String) { self.label = label }

    func update(_ p: EvalProgress) {
        lock.lock()
        defer { lock.unlock() }
        let fraction = p.total > 0 ? Double(p.done) / Double(p.total) : 1
        let status = String(format: "%@ %d/%d  %.1f img/s  top-1 %.2f%%%@", label, p.done, p.total, p.imagesPerSecond,
                            p.runningTop1 * 100, p.failed > 0 ? "  \(p.failed) failed" : "")
        if isTerminal {
            guard p.seconds - lastDraw >= 0.1 || p.done == p.total else { return }
            lastDraw = p.seconds
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(status)\u{1B}[K".utf8))
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data("\(status)\n".utf8))
        }
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
