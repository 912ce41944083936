import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext table`: the model zoo's markdown table, every figure measured here.
struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Print the model-zoo markdown table from measurements: float and quant top-1, latency, FPS.",
        discussion: """
            For each model: top-1 on --data (as `convnext eval`), top-1 of the matching --quantized \
            model (same order), the median 1-thread latency and the FPS of concurrent \
            single-threaded workers (as `convnext bench`), all measured in this run.

            Examples:
              convnext table convnext_atto.onnx --quantized atto_int8.cnxk --data imagenet/val --val-list val.txt
              convnext table digits.onnx --quantized digits_int8.cnxk --data digits/val --size 64 --crop-pct 1
            """
    )

    @Argument(help: "Float models (files or registry names).")
    var models: [String]

    @Option(parsing: .upToNextOption, help: "Quantized models, in the same order as the float models.")
    var quantized: [String] = []

    @Option(help: "Labelled images: class folders, or the root of --val-list paths.")
    var data: String

    @Option(name: .customLong("val-list"), help: "File of `relative/path index` lines.")
    var valList: String?

    @Option(help: "Evaluate at most N images per model.")
    var limit: Int?

    @Option(help: "Timed runs for latency and throughput (as `bench`).")
    var runs = 200

    @OptionGroup var concurrency: ConcurrencyOptions
    /// Concurrent workers: `--concurrency` (or its old name `--workers`), else one per core.
    var workers: Int { concurrency.count }

    @Option(help: "Labels file mapping class folder names.")
    var labels: String?

    @OptionGroup var preprocess: PreprocessFlags

    @OptionGroup var lookup: ModelLookupOptions

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model") }
        guard quantized.count <= models.count else { throw ValidationError("more --quantized models than float models") }
        try OptionValidation.check(limit, "--limit", in: OptionValidation.limit)
        try OptionValidation.check(runs, "--runs", in: OptionValidation.runs)
    }

    @OptionGroup var isaOptions: ISAOptions

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            var rows: [String] = [
                "| Model | Size | Classes | Params (M) | Float top-1 | Quant top-1 | Latency 1 thread (ms) | Quant latency 1 thread (ms) | FPS (\(workers) workers) | Quant FPS |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            for (i, path) in models.enumerated() {
                let float = try openModel(path, lookup: lookup, inputSize: preprocess.size)
                let quant = i < quantized.count ? try openModel(quantized[i], lookup: lookup, inputSize: preprocess.size) : nil
                let floatFigures = try measure(float)
                let quantFigures = try quant.map { try measure($0) }
                let c = float.config
                let name = c.variantName == "custom" ? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent : "convnext_\(c.variantName)"
                func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", $0 * 100) } ?? "" }
                func ms(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "" }
                func fps(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "" }
                rows.append("| \(name) | \(c.inputHeight)x\(c.inputWidth) | \(c.numClasses) | \(float.params.map { String(format: "%.2f", Double($0) / 1e6) } ?? "") | "
                            + "\(pct(floatFigures.top1)) | \(pct(quantFigures?.top1)) | \(ms(floatFigures.latency)) | \(ms(quantFigures?.latency)) | "
                            + "\(fps(floatFigures.fps)) | \(fps(quantFigures?.fps)) |")
            }
            print(rows.joined(separator: "\n"))
        }
    }

    /// Top-1 on the data, median 1-thread latency, FPS with `workers` concurrent workers.
    private func measure(_ m: OpenedModel) throws -> (top1: Double, latency: Double, fps: Double) {
        let options = try preprocess.options(defaults: m.preprocessDefaults)
        try ClassifyCommand.checkInput(m.config, size: options.size, path: m.path)
        let samples = try evalSamples(data: data, valList: valList, labels: labels, numClasses: m.config.numClasses, limit: limit)
        printToStandardError("measuring \(m.path): accuracy on \(samples.count) images, latency, throughput")
        let nv12 = m.nv12Input
        let result = Evaluator(engines: [m.engine], modelNames: [m.path], workers: workers) { path in
            try modelInputs(path: path, options: options, nv12: [nv12])
        }.run(samples)
        let latency = EngineBenchmark.latency(m.engine, threads: 1, runs: runs, warmup: max(runs / 10, 3))
        let throughput = EngineBenchmark.throughput(m.engine, workers: workers, runs: runs, warmup: max(runs / 10, 3))
        return (result.metrics.first?.top1 ?? 0, latency.medianMs, throughput.fps)
    }
}
