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

            --shard I/N evaluates the images at positions i % N == I of the sorted list (--shard /N \
            takes I from $JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it); --output \
            writes the mergeable JSON result (schema 1: counts, per class, model SHA-256, \
            preprocessing), and `convnext merge` sums the shards (docs/scale-out.md). \
            --valid-labels, --real-labels and --results-file follow timm's validate.py.

            Examples:
              convnext eval convnext_atto.onnx --data imagenet/val --val-list val.txt
              convnext eval digits.onnx --data digits/val --size 64 --crop-pct 1
              convnext eval digits.onnx --compare digits_int8.cnxk --data digits/val --size 64 --crop-pct 1 --json
              convnext eval digits.onnx --compare digits.onnx --compare-precision bf16 --data digits/val --size 64 --crop-pct 1
              convnext eval atto --data imagenet/val --shard 3/8 --output shard-3.json --predictions shard-3.jsonl
              convnext eval atto --data imagenet/val --real-labels real.json --results-file atto.csv
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

    @Option(help: "Evaluate shard I of N: the images at positions i with i % N == I of the sorted list; /N takes I from $JOB_COMPLETION_INDEX.")
    var shard: String?

    @Option(name: .customLong("valid-labels"), help: "File of class indices, one per line: predict among these classes only (timm's --valid-labels, for ImageNet-A/R).")
    var validLabels: String?

    @Option(name: .customLong("real-labels"), help: "ReaL labels JSON (real.json): per image in file-name order, its list of valid classes (timm's --real-labels).")
    var realLabels: String?

    @Option(name: .shortAndLong, help: "Write the mergeable JSON result (schema 1) to this file.")
    var output: String?

    @Option(name: .customLong("results-file"), help: "Write timm validate.py's result row(s) to FILE.csv or FILE.json.")
    var resultsFile: String?

    @Option(help: "Write one JSON line per image (path, label, every model's top-5 with scores) to this file.")
    var predictions: String?

    @Option(help: "Write an SVG chart of the per-class top-1 accuracy of every model (float vs quantized with --compare).")
    var plot: String?

    @OptionGroup var concurrency: ConcurrencyOptions
    /// Concurrent workers: `--concurrency` (or its old name `--workers`), else one per core.
    var workers: Int { concurrency.count }

    @Option(help: "Labels file mapping class folder names (one name per line, or index<TAB>id<TAB>name).")
    var labels: String?

    @Flag(help: "Print the JSON result (schema 1) instead of text.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "Do not draw the progress bar.")
    var noProgress = false

    @OptionGroup var preprocess: PreprocessFlags

    @OptionGroup var lookup: ModelLookupOptions

    func validate() throws {
        try OptionValidation.check(limit, "--limit", in: OptionValidation.limit)
        if let shard { try OptionValidation.shard(shard) }
        try OptionValidation.suffix(resultsFile, "--results-file", [".csv", ".json"])
    }

    @OptionGroup var isaOptions: ISAOptions

    @OptionGroup var precisionOptions: PrecisionOptions

    @Option(name: .customLong("compare-precision"), help: "Float precision of the --compare model: f32 or bf16 (default: its own). `eval M --compare M --compare-precision bf16` shows f32 vs bf16.")
    var comparePrecision: FloatPrecision?

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            let shard = try shard.map { try EvalShard.parse($0) } ?? .whole
            try checkOutputPaths()
            let first = try openModel(model, lookup: lookup, inputSize: preprocess.size, precision: precisionOptions.precision)
            var opened = [first]
            if let compare {
                let second = try openModel(compare, lookup: lookup, inputSize: preprocess.size, precision: comparePrecision)
                guard second.config.numClasses == first.config.numClasses else {
                    throw ConvNeXtError.usage("--compare: \(compare) has \(second.config.numClasses) classes, \(model) has \(first.config.numClasses)")
                }
                opened.append(second)
            }
            let options = try preprocess.options(defaults: first.preprocessDefaults)
            for m in opened { try ClassifyCommand.checkInput(m.config, size: options.size, path: m.path) }
            let classes = first.config.numClasses

            // The whole set in its deterministic order, then --limit, then this shard's positions.
            let everything = try evalSamples(data: data, valList: valList, labels: labels, numClasses: classes, limit: nil)
            let valid = try validLabels.map { try EvalLabelFiles.readValidLabels(path: $0, numClasses: classes) }
            if let valid, let validLabels {
                let allowed = Set(valid.classes)
                if let outside = everything.first(where: { !allowed.contains($0.label) }) {
                    throw ConvNeXtError.invalidInput(path: validLabels, reason: "does not list class \(outside.label), the label of \(outside.path)")
                }
            }
            let real = try realLabels.map { path -> (labels: [[Int]], sha256: String, count: Int) in
                let file = try EvalLabelFiles.readRealLabels(path: path, numClasses: classes)
                return (try EvalLabelFiles.assignRealLabels(file.labels, to: everything, path: path), file.sha256, file.labels.count)
            }
            let kept = evenlySpread(count: everything.count, limit: limit)
            let setSamples = kept.map { everything[$0] }
            let positions = shard.positions(total: setSamples.count)
            let samples = positions.map { setSamples[$0] }
            let sampleReal = real.map { r in positions.map { r.labels[kept[$0]] } }
            guard !samples.isEmpty else {
                throw ConvNeXtError.usage("--shard \(shard.description): the set has \(setSamples.count) images, so this shard has none")
            }

            // Decode and resize once; each model gets its own input path (NV12-compiled models see NV12).
            let paths = opened.map { $0.nv12Input }
            let evaluator = Evaluator(engines: opened.map(\.engine), modelNames: opened.map(\.path), workers: workers,
                                      validClasses: valid?.classes) { path in
                try modelInputs(path: path, options: options, nv12: paths)
            }
            let bar = noProgress ? nil : ProgressBar(label: shard.count > 1 ? "eval \(shard.description)" : "eval")
            let result = evaluator.run(samples) { bar?.update($0) }
            bar?.finish()

            let context = EvalReport.Context(
                shard: shard,
                dataset: .init(root: data, list: valList, images: setSamples.count, sha256: EvalReport.datasetDigest(setSamples, root: data)),
                preprocessing: EvalReport.describe(options),
                validLabels: valid.map { .init(path: validLabels ?? "", sha256: $0.sha256, entries: $0.classes.count) },
                realLabels: real.map { .init(path: realLabels ?? "", sha256: $0.sha256, entries: $0.count) },
                models: try opened.map { (name: $0.path, sha256: try modelSHA256($0.path), parameters: $0.params) })
            let report = EvalReport.counting(result, samples: samples, realLabels: sampleReal, context: context)

            var files: [(path: String, data: Data)] = []
            if let output { files.append((output, try report.jsonData())) }
            if let resultsFile { files.append((resultsFile, try report.timmResultsFile(json: resultsFile.lowercased().hasSuffix(".json")))) }
            if let predictions {
                files.append((predictions, try EvalReport.predictionLines(samples: samples, positions: positions, records: result.records,
                                                                         modelNames: opened.map(\.path), realLabels: sampleReal)))
            }
            if let plot { files.append((plot, Self.accuracyPlot(report, numClasses: classes, labels: try labelNames(classes)).data)) }
            try FileIO.writeAllAtomically(files)
            print(json ? String(decoding: try report.jsonData(), as: UTF8.self).trimmingCharacters(in: .newlines)
                       : report.text(workers: workers))
        }
    }

    /// Refuses, before any image is read, output names that cannot become files (a missing folder, a folder).
    private func checkOutputPaths() throws {
        for (flag, path) in [("--output", output), ("--results-file", resultsFile), ("--predictions", predictions), ("--plot", plot)] {
            guard let path else { continue }
            try checkOutputPath(path, flag: flag)
        }
    }

    /// The class names for the plot: --labels, else ImageNet's for 1000 classes, else the indices.
    private func labelNames(_ classes: Int) throws -> [String] {
        if let labels { return try LabelSet.read(path: labels).names }
        return classes == LabelSet.imagenet1k.count ? LabelSet.imagenet1k.names : (0..<classes).map(String.init)
    }

    /// SHA-256 of the file a model name or path stands for.
    private func modelSHA256(_ nameOrPath: String) throws -> String {
        let file = try lookup.resolver().resolvePath(nameOrPath)?.path ?? nameOrPath
        return try SHA256.hex(file: file)
    }

    /// The per-class accuracy chart of `report`: one bar per class with images, per model.
    static func accuracyPlot(_ report: EvalReport, numClasses: Int, labels: [String]) -> SVGDocument {
        let shown = Set(report.models.flatMap { $0.perClass.map(\.classIndex) }).sorted()
        let categories = shown.map { $0 < labels.count ? labels[$0] : "\($0)" }
        let series = report.models.map { m -> SVGPlots.AccuracySeries in
            let byClass = Dictionary(m.perClass.map { ($0.classIndex, $0) }, uniquingKeysWith: { a, _ in a })
            return .init(name: "\(FileIO.namePart(of: m.model)) (\(m.engine))", counts: shown.map { c in byClass[c].map { (hits: $0.hits.correctTop1, images: $0.hits.images) } })
        }
        let names = report.models.map { FileIO.namePart(of: $0.model) }
        let title = "Per-class top-1: " + names.joined(separator: " vs ") + " (\(report.images) images)"
        return SVGPlots.classAccuracyChart(title: title, categories: categories, series: series)
    }
}

/// Refuses an output name that cannot become a file: its folder is missing, or it names a folder.
/// (Writing checks the rest: special files, permissions.) For commands that work long before they write.
func checkOutputPath(_ path: String, flag: String) throws {
    var isDir: ObjCBool = false
    if path.isEmpty { throw ConvNeXtError.usage("\(flag): empty file name") }
    if path.hasSuffix("/") || (FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue) {
        throw ConvNeXtError.io(path: path, reason: "is a folder, expected a file name (\(flag))")
    }
    let folder = FileIO.folderPart(of: path)
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
        throw ConvNeXtError.io(path: path, reason: "folder \(folder) does not exist (\(flag))")
    }
}

/// Positions of at most `limit` of `count` items, spread evenly (all of them without a limit).
func evenlySpread(count: Int, limit: Int?) -> [Int] {
    guard let limit, limit < count else { return Array(0..<count) }
    return (0..<limit).map { $0 * count / limit }
}

/// The labelled images of `data` (class folders, or `valList` lines), at most `limit`, spread evenly.
func evalSamples(data: String, valList: String?, labels: String?, numClasses: Int, limit: Int?) throws -> [EvalSample] {
    let samples: [EvalSample]
    if let valList {
        samples = try EvalDataset.readList(valList, root: data, numClasses: numClasses)
    } else {
        let set = try labels.map { try LabelSet.read(path: $0) } ?? (numClasses == LabelSet.imagenet1k.count ? LabelSet.imagenet1k : nil)
        let resolver = ClassNameResolver(numClasses: numClasses, ids: set?.ids ?? [], names: set?.names ?? [])
        samples = try EvalDataset.scanFolders(data, classes: resolver)
    }
    return evenlySpread(count: samples.count, limit: limit).map { samples[$0] }
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
