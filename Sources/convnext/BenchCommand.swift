import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext bench`: batch-1 latency per thread count, throughput per worker count, profile.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure latency (min/median/p90), throughput (FPS) and time per layer kind.",
        discussion: """
            MODEL is a model file or a variant name (atto, femto, pico, nano, tiny) run on \
            deterministic random weights. Latency is one inference at a time split over \
            --threads cores; throughput runs --concurrency workers at once, each doing \
            single-threaded inferences on one shared model. Timings drift between runs on \
            shared machines: compare engines in the same shell command (docs/benchmarks.md).

            Examples:
              convnext bench convnext_atto.onnx
              convnext bench atto --threads 1,2 --concurrency 1,2 --profile
              convnext bench convnext_atto.onnx --json
              convnext bench convnext_atto.onnx --markdown --float-top1 75.7
            """
    )

    @Argument(help: "Model file (.onnx) or variant name (atto, femto, pico, nano, tiny).")
    var model: String

    @OptionGroup var lookup: ModelLookupOptions

    @Option(help: "Comma-separated thread counts for the latency runs.")
    var threads: String = "1,2"

    @Option(help: "Timed inferences per configuration (per worker for throughput).")
    var runs: Int = 200

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

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            let threadCounts = try Self.counts(threads, option: "--threads")
            let workerCounts = try Self.counts(concurrency, option: "--concurrency")
            guard runs >= 1, warmup >= 0 else { throw ConvNeXtError.usage("--runs must be >= 1 and --warmup >= 0") }
            let m = try openModel(model, lookup: lookup, inputSize: nil, allowRandomVariants: true)
            let engine = m.engine
            if kernels && !json { print(KernelTable.benchmarkReport() + "\n" + FastEngine.layerShapeReport(config: m.config)) }

            var results: [EngineBenchmark.Result] = []
            for t in threadCounts {
                var r = EngineBenchmark.latency(engine, threads: t, runs: runs, warmup: warmup)
                if profile, let fast = engine as? FastEngine {
                    let p = EngineBenchmark.profile(fast, threads: t, runs: max(runs / 2, 10))
                    var ms: [String: Double] = [:]
                    for kind in LayerKind.allCases where t > 1 || kind != .sync { ms[kind.key] = p[kind] * 1e3 }
                    r.profileMs = ms
                }
                results.append(r)
            }
            for w in workerCounts {
                results.append(EngineBenchmark.throughput(engine, workers: w, runs: runs, warmup: warmup))
            }

            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
            } else if markdown {
                print(markdownTable(m, results))
            } else {
                print(text(m, results))
            }
        }
    }

    /// Parses `1,2,4` into positive counts.
    static func counts(_ list: String, option: String) throws -> [Int] {
        let values = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= FastEngine.maxThreads }) else {
            throw ConvNeXtError.usage("\(option) expects comma-separated counts from 1 to \(FastEngine.maxThreads), got '\(list)'")
        }
        return values.compactMap { $0 }
    }

    private func describe(_ m: OpenedModel) -> String {
        let c = m.config
        let params = m.params.map { String(format: "%.2f", Double($0) / 1e6) } ?? "?"
        return "\(model): \(c.variantName), \(c.inputHeight)x\(c.inputWidth), \(c.numClasses) classes, \(params) M params"
    }

    private func text(_ m: OpenedModel, _ results: [EngineBenchmark.Result]) -> String {
        var lines = [describe(m) + "; engine \(m.engine.name)",
                     "latency (batch 1, \(runs) runs after \(warmup) warm-up):"]
        for r in results where r.kind == "latency" {
            lines.append(String(format: "  threads=%-2d  min %7.2f ms  median %7.2f ms  p90 %7.2f ms",
                                r.threads, r.minMs, r.medianMs, r.p90Ms))
        }
        let base = results.first { $0.kind == "throughput" && $0.concurrency == 1 }?.fps
        lines.append("throughput (workers, each running single-threaded inferences on one shared model):")
        for r in results where r.kind == "throughput" {
            let ratio = base.map { String(format: "  (%.2fx 1 worker)", r.fps / $0) } ?? ""
            lines.append(String(format: "  concurrency=%-2d  %8.1f FPS  median %7.2f ms", r.concurrency, r.fps, r.medianMs)
                         + ratio)
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
