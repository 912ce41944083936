import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext bench`: batch-1 latency per thread count, throughput per worker count, profile.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure latency (min/p50/p90/p99/max/stddev), throughput (FPS) and time per layer kind.",
        discussion: """
            MODEL is a model file, a registry name, or a variant name (atto, femto, pico, nano, \
            tiny): its downloaded weights, else deterministic random weights of its shape (said on \
            stderr and in the output; the speed is the same). Latency is one inference at a time split over \
            --threads cores; throughput runs --concurrency workers at once, each doing \
            single-threaded inferences on one shared model. Timings drift between runs on \
            shared machines: compare engines in the same shell command (docs/benchmarks.md).

            Like OpenVINO's benchmark_app: --duration S runs each configuration for S seconds \
            instead of --runs; --input times real data (an image is decoded and preprocessed on \
            every run, timed apart from the inference; an NV12 frame is read and converted; a raw \
            float32 tensor is fed as is); --grid also measures every threads x workers pair; \
            --report writes JSON or CSV, --plot an SVG of the latency distributions.

            Examples:
              convnext bench convnext_atto.onnx
              convnext bench atto --threads 1,2 --concurrency 1,2 --profile
              convnext bench convnext_atto.onnx --json
              convnext bench convnext_atto.onnx --markdown --float-top1 75.7
              convnext bench convnext_atto.onnx --duration 10 --input cat.jpg --grid --report bench.csv --plot bench.svg
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors, .pth, .cnxk), a registry name (see `convnext zoo`), or a variant name (atto, femto, pico, nano, tiny; random weights when not downloaded).")
    var model: String

    @OptionGroup var lookup: ModelLookupOptions

    @Option(help: "Comma-separated thread counts for the latency runs.")
    var threads: String = "1,2"

    @Option(help: "Timed inferences per configuration (per worker for throughput).")
    var runs: Int = 200

    @Option(help: "Run each configuration for this many seconds instead of --runs (benchmark_app's -t).")
    var duration: String?

    @Option(help: "Real input: an image (JPEG/PNG, decoded and preprocessed every run), an NV12 frame (.nv12/.yuv) or a raw float32 tensor (.f32/.raw/.bin). Default: random data.")
    var input: String?

    @Option(name: .customLong("nv12"), help: "Size of the --input NV12 frame, WIDTHxHEIGHT (default: the model's input size).")
    var nv12: String?

    @Flag(help: "Also measure every --threads x --concurrency pair (workers each running multi-threaded inferences).")
    var grid = false

    @Option(help: "Write the results to FILE.json or FILE.csv.")
    var report: String?

    @Option(help: "Write an SVG of the latency distribution of every configuration (p50 and p99 marked).")
    var plot: String?

    @OptionGroup var preprocess: PreprocessFlags

    @Option(help: "Untimed inferences before timing.")
    var warmup: Int = 20

    @Option(help: "Comma-separated worker counts for the throughput runs.")
    var concurrency: String = "1,2"

    @Flag(help: "Also report the time per layer kind (stem, dwconv, norm, pointwise 1/2, downsample, head).")
    var profile = false

    @Flag(help: "Print a JSON array of results.")
    var json = false

    @Flag(help: "Print the model-zoo table row.")
    var markdown = false

    @Flag(help: "Also time every micro-kernel of the kernel table (GFLOP/s).")
    var kernels = false

    @Option(name: .customLong("float-top1"), help: "Float top-1 accuracy (%) for the --markdown table.")
    var floatTop1: Double?

    @Option(name: .customLong("quant-top1"), help: "Quantized top-1 accuracy (%) for the --markdown table.")
    var quantTop1: Double?

    @OptionGroup var isaOptions: ISAOptions

    @OptionGroup var precisionOptions: PrecisionOptions

    func validate() throws {
        _ = try Self.counts(threads, option: "--threads")
        _ = try Self.counts(concurrency, option: "--concurrency")
        try OptionValidation.check(runs, "--runs", in: OptionValidation.runs)
        try OptionValidation.check(warmup, "--warmup", in: OptionValidation.warmup)
        _ = try duration.map(Self.seconds)
        _ = try nv12.map { try OptionValidation.frameSize($0, "--nv12") }
        try OptionValidation.check(floatTop1, "--float-top1", in: 0...100)
        try OptionValidation.check(quantTop1, "--quant-top1", in: 0...100)
        try OptionValidation.suffix(report, "--report", [".json", ".csv"])
    }

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            let threadCounts = try Self.counts(threads, option: "--threads")
            let workerCounts = try Self.counts(concurrency, option: "--concurrency")
            let seconds = try duration.map(Self.seconds)
            for (flag, path) in [("--report", report), ("--plot", plot)] { if let path { try checkOutputPath(path, flag: flag) } }
            let budget: EngineBenchmark.Budget = seconds.map { .seconds($0) } ?? .runs(runs)
            let m = try openModel(model, lookup: lookup, inputSize: preprocess.size, precision: precisionOptions.precision,
                                  allowRandomVariants: true)
            if isRandomVariant(model, lookup: lookup) {
                printToStandardError("note: \(model) is not downloaded: timing random weights of its shape (the speed is the same; `convnext download \(model)` for the pretrained ones)")
            }
            let engine = m.engine
            let benchInput = try makeInput(m)
            if kernels && !json {
                let peaks = KernelTable.measurePeaks()
                print(KernelTable.benchmarkReport(peaks: peaks))
                if let profiled = engine as? any LayerProfiling { print(profiled.pointwiseReport(peaks: peaks)) }
            }

            var results: [EngineBenchmark.Result] = []
            for t in threadCounts {
                var r = EngineBenchmark.latency(engine, threads: t, budget: budget, warmup: warmup, input: benchInput)
                if profile, let profiled = engine as? any LayerProfiling {
                    let p = EngineBenchmark.profile(profiled, threads: t, runs: max(runs / 2, 10))
                    var ms: [String: Double] = [:]
                    for kind in LayerKind.allCases where t > 1 || kind != .sync { ms[kind.key] = p[kind] * 1e3 }
                    r.profileMs = ms
                }
                results.append(r)
            }
            for w in workerCounts {
                results.append(EngineBenchmark.throughput(engine, workers: w, threads: 1, budget: budget, warmup: warmup, input: benchInput))
            }
            if grid {
                for t in threadCounts {
                    for w in workerCounts {
                        results.append(EngineBenchmark.throughput(engine, workers: w, threads: t, budget: budget, warmup: warmup,
                                                                  input: benchInput, kind: "grid"))
                    }
                }
            }

            var files: [(path: String, data: Data)] = []
            if let report { files.append((report, try reportFile(m, benchInput, results, csv: report.lowercased().hasSuffix(".csv")))) }
            if let plot {
                let series = results.map { SVGPlots.LatencySeries(name: $0.label, samplesMs: $0.samplesMs) }
                files.append((plot, SVGPlots.latencyChart(title: "convnext bench \(FileIO.namePart(of: model)) (\(engine.name), input \(input.map { FileIO.namePart(of: $0) } ?? "random"))",
                                                          series: series).data))
            }
            try FileIO.writeAllAtomically(files)

            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
            } else if markdown {
                print(markdownTable(m, results))
            } else {
                print(text(m, results, input: benchInput))
            }
        }
    }

    /// The inputs every timed run gets: random data, a raw tensor, an NV12 frame or an image.
    private func makeInput(_ m: OpenedModel) throws -> EngineBenchmark.Input {
        guard let path = input else { return .random(for: m.config) }
        let ext = (path as NSString).pathExtension.lowercased()
        if ["f32", "raw", "bin"].contains(ext) {
            let tensor = try Tensor.readRaw(path: path, shape: m.config.inputShape)
            return .init(tensor: tensor.data, description: "tensor \(path)")
        }
        let options = try preprocess.options(defaults: m.preprocessDefaults)
        try ClassifyCommand.checkInput(m.config, size: options.size, path: m.path)
        // The classifier's tensors are the ones `convnext classify` feeds the model: one place
        // turns frames and photos into model inputs.
        let classifier = try ImageClassifier(loaded: m, options: ImageClassifier.Options(
            preprocessing: options, nv12Range: preprocess.nv12Range, nv12Upsampling: preprocess.nv12Upsampling))
        let prepare: @Sendable () throws -> [Float]
        let what: String
        if ["nv12", "yuv"].contains(ext) {
            let size = try nv12.map { try NV12Frame.parseSize($0) } ?? (width: m.config.inputWidth, height: m.config.inputHeight)
            prepare = { classifier.tensor(nv12: try NV12Frame.read(path: path, width: size.width, height: size.height)).data }
            what = "nv12 \(path)"
        } else {
            prepare = { try classifier.tensor(imagePath: path).data }
            what = "image \(path)"
        }
        // Once up front: a bad file is one error line, never a failure inside the timed loop.
        let first = try prepare()
        guard first.count == m.config.inputCount else {
            throw ConvNeXtError.invalidInput(path: path, reason: "gives \(first.count) input values, the model takes \(m.config.inputCount)")
        }
        return .init(tensor: first, prepare: prepare, description: what)
    }

    /// `--report`: the results as CSV (one row per configuration) or JSON (with the model, CPU and input).
    private func reportFile(_ m: OpenedModel, _ input: EngineBenchmark.Input, _ results: [EngineBenchmark.Result], csv: Bool) throws -> Data {
        if csv {
            let header = "kind,threads,concurrency,runs,total_runs,min_ms,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,stddev_ms,fps,wall_s,"
                + "preprocess_p50_ms,preprocess_p90_ms,preprocess_p99_ms,preprocess_max_ms"
            let rows = results.map { r -> String in
                let p = r.preprocess
                let pre = [p?.p50, p?.p90, p?.p99, p?.max].map { $0.map { String(format: "%.4f", $0) } ?? "" }
                return ["\(r.kind)", "\(r.threads)", "\(r.concurrency)", "\(r.runs)", "\(r.totalRuns)"].joined(separator: ",") + ","
                    + [r.minMs, r.medianMs, r.p90Ms, r.p99Ms, r.maxMs, r.meanMs, r.stddevMs].map { String(format: "%.4f", $0) }.joined(separator: ",")
                    + String(format: ",%.2f,%.3f,", r.fps, r.wallSeconds) + pre.joined(separator: ",")
            }
            return Data((([header] + rows).joined(separator: "\n") + "\n").utf8)
        }
        struct Report: Encodable {
            var schema = 1
            var model: String
            var engine: String
            var cpu: String
            var isa: String
            var input: String
            var duration_s: Double?
            var runs: Int?
            var warmup: Int
            var results: [EngineBenchmark.Result]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Report(model: model, engine: m.engine.name, cpu: CPUFeatures.brand, isa: CPUFeatures.cap.rawValue,
                                         input: input.description, duration_s: try duration.map(Self.seconds), runs: duration == nil ? runs : nil,
                                         warmup: warmup, results: results)) + Data("\n".utf8)
    }

    /// Parses `--duration`: seconds above 0, at most a day.
    static func seconds(_ text: String) throws -> Double { try OptionValidation.seconds(text, "--duration") }

    /// Parses `1,2,4` into distinct thread (`--threads`) or worker (`--concurrency`) counts.
    static func counts(_ list: String, option: String) throws -> [Int] {
        try OptionValidation.counts(list, option, in: option == "--threads" ? OptionValidation.threads : OptionValidation.workers)
    }

    private func describe(_ m: OpenedModel) -> String {
        let c = m.config
        let params = m.params.map { String(format: "%.2f", Double($0) / 1e6) } ?? "?"
        let weights = isRandomVariant(model, lookup: lookup) ? ", random weights" : ""
        return "\(model): \(c.variantName), \(c.inputHeight)x\(c.inputWidth), \(c.numClasses) classes, \(params) M params\(weights)"
    }

    private func text(_ m: OpenedModel, _ results: [EngineBenchmark.Result], input: EngineBenchmark.Input) -> String {
        let budget = (try? duration.map(Self.seconds)).flatMap { $0 }.map { String(format: "%g s per configuration", $0) } ?? "\(runs) runs"
        var lines = [describe(m) + "; engine \(m.engine.name); input \(input.description)",
                     "latency (batch 1, \(budget) after \(warmup) warm-up):"]
        for r in results where r.kind == "latency" {
            lines.append(String(format: "  threads=%-2d  min %7.2f ms  median %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms  sd %6.2f ms  (%d runs)",
                                r.threads, r.minMs, r.medianMs, r.p90Ms, r.p99Ms, r.maxMs, r.stddevMs, r.totalRuns))
            if let p = r.preprocess {
                lines.append(String(format: "              decode+preprocess, timed apart: median %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms",
                                    p.p50, p.p90, p.p99, p.max))
            }
        }
        let base = results.first { $0.kind == "throughput" && $0.concurrency == 1 }?.fps
        lines.append("throughput (workers, each running single-threaded inferences on one shared model"
                     + (input.prepare != nil ? "; FPS includes decode+preprocess" : "") + "):")
        for r in results where r.kind == "throughput" {
            let ratio = base.map { String(format: "  (%.2fx 1 worker)", r.fps / $0) } ?? ""
            lines.append(String(format: "  concurrency=%-2d  %8.1f FPS  median %7.2f ms  p99 %7.2f ms", r.concurrency, r.fps, r.medianMs, r.p99Ms)
                         + ratio)
        }
        let gridRows = results.filter { $0.kind == "grid" }
        if !gridRows.isEmpty {
            lines.append("grid (threads per inference x workers): FPS, median / p99 ms")
            for r in gridRows {
                lines.append(String(format: "  threads=%-2d x workers=%-2d  %8.1f FPS  median %7.2f ms  p99 %7.2f ms  (%d runs)",
                                    r.threads, r.concurrency, r.fps, r.medianMs, r.p99Ms, r.totalRuns))
            }
        }
        for r in results where r.profileMs != nil {
            guard let p = r.profileMs else { continue }
            let total = p.values.reduce(0, +)
            lines.append("profile, threads=\(r.threads) (median CPU ms per inference and kind, calling thread):")
            for kind in LayerKind.allCases {
                guard let ms = p[kind.key] else { continue }
                lines.append("  " + kind.description.padding(toLength: 34, withPad: " ", startingAt: 0)
                             + String(format: "%7.3f ms  %5.1f%%", ms, total > 0 ? 100 * ms / total : 0))
            }
            lines.append("  " + "total".padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%7.3f ms", total))
        }
        return lines.joined(separator: "\n")
    }

    private func markdownTable(_ m: OpenedModel, _ results: [EngineBenchmark.Result]) -> String {
        let c = m.config
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "" }
        let single = results.first { $0.kind == "latency" && $0.threads == 1 }
        let multi = results.filter { $0.kind == "latency" && $0.threads > 1 }.max { $0.threads < $1.threads }
        let best = results.filter { $0.kind == "throughput" }.max { $0.concurrency < $1.concurrency }
        var multiCell: [String] = []
        if let multi { multiCell.append(String(format: "%.2f ms (%d threads)", multi.medianMs, multi.threads)) }
        if let best { multiCell.append(String(format: "%.1f FPS (%d workers)", best.fps, best.concurrency)) }
        let name = c.variantName == "custom" ? URL(fileURLWithPath: model).lastPathComponent : "convnext_\(c.variantName)"
        return """
            | Model | Size | Classes | Params (M) | Float top-1 | Quant top-1 | Latency 1 thread (ms) | Latency/throughput multi-thread | FPS |
            |---|---|---|---|---|---|---|---|---|
            | \(name) | \(c.inputHeight)x\(c.inputWidth) | \(c.numClasses) | \(m.params.map { String(format: "%.2f", Double($0) / 1e6) } ?? "") | \
            \(pct(floatTop1)) | \(pct(quantTop1)) | \(single.map { String(format: "%.2f", $0.medianMs) } ?? "") | \
            \(multiCell.joined(separator: " / ")) | \(best.map { String(format: "%.1f", $0.fps) } ?? "") |
            """
    }
}
