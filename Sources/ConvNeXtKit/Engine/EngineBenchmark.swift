import Foundation

/// Latency and throughput measurements of any engine, as `convnext bench` reports them.
///
/// A configuration runs a fixed number of timed inferences or, with `Budget.seconds`, as many as
/// fit in that time (each started before the deadline is finished and counted). Percentiles are
/// nearest-rank (the smallest time with at least q of the runs at or below it), so
/// min <= p50 <= p90 <= p99 <= max always holds.
public enum EngineBenchmark {
    /// How long a configuration runs.
    public enum Budget: Sendable, Equatable {
        /// This many timed inferences (per worker for throughput).
        case runs(Int)
        /// Timed inferences until this many seconds have passed.
        case seconds(Double)
    }

    /// What every timed inference is fed.
    public struct Input: Sendable {
        /// The model input used when there is no per-run preparation (and for warm-up runs).
        public var tensor: [Float]
        /// Per-run decoding and preprocessing (an image or an NV12 frame), timed apart from the inference.
        public var prepare: (@Sendable () throws -> [Float])?
        /// What the input is, for reports: `random`, `tensor FILE`, `image FILE`, `nv12 FILE`.
        public var description: String

        public init(tensor: [Float], prepare: (@Sendable () throws -> [Float])? = nil, description: String) {
            self.tensor = tensor
            self.prepare = prepare
            self.description = description
        }

        /// Deterministic pseudo-random input of the model's shape.
        public static func random(for config: ConvNeXtConfig) -> Input {
            Input(tensor: EngineBenchmark.input(for: config), description: "random")
        }
    }

    /// Order statistics of a list of times, in milliseconds.
    public struct Distribution: Sendable, Codable, Equatable {
        public var min: Double
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var max: Double
        public var mean: Double
        /// Sample standard deviation (n - 1); 0 for one run.
        public var stddev: Double

        /// The distribution of `times` (empty: all zero).
        public init(_ times: [Double]) {
            let sorted = times.sorted()
            func rank(_ q: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[Swift.max(0, Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
            }
            min = sorted.first ?? 0
            p50 = rank(0.5)
            p90 = rank(0.9)
            p99 = rank(0.99)
            max = sorted.last ?? 0
            mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
            let m = mean
            stddev = sorted.count > 1 ? (sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(sorted.count - 1)).squareRoot() : 0
        }
    }

    /// One measured configuration.
    public struct Result: Sendable, Codable, Equatable {
        /// `latency` (one inference at a time), `throughput` (concurrent single-threaded workers) or
        /// `grid` (`concurrency` workers, each running `threads`-threaded inferences).
        public var kind: String
        /// Threads per inference.
        public var threads: Int
        /// Inferences running at once (workers sharing one engine).
        public var concurrency: Int
        /// Timed inferences per worker (the average per worker for a timed budget).
        public var runs: Int
        /// Timed inferences over all workers.
        public var totalRuns: Int
        public var minMs: Double
        public var medianMs: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var meanMs: Double
        public var stddevMs: Double
        /// Inferences per second: for `latency`, runs over the summed inference times; for the
        /// concurrent kinds, completed items of all workers over the wall time (which includes
        /// decode and preprocessing when the input is prepared per run).
        public var fps: Double
        /// Wall-clock seconds of the timed part.
        public var wallSeconds: Double
        /// Per-run decode + preprocessing time, when the input is an image or a frame.
        public var preprocess: Distribution?
        /// Median CPU milliseconds per layer kind (`LayerKind.key`), when profiled.
        public var profileMs: [String: Double]?
        /// Every timed inference in milliseconds, in run order (for plots; not in the JSON).
        public var samplesMs: [Double] = []

        enum CodingKeys: String, CodingKey {
            case kind, threads, concurrency, runs, fps, totalRuns = "total_runs", wallSeconds = "wall_s", preprocess
            case minMs = "min_ms", medianMs = "median_ms", p90Ms = "p90_ms", p99Ms = "p99_ms", maxMs = "max_ms"
            case meanMs = "mean_ms", stddevMs = "stddev_ms", profileMs = "profile_ms"
        }

        /// `threads=T workers=W` (or the latency / throughput form).
        public var label: String {
            switch kind {
            case "latency": return "latency, threads=\(threads)"
            case "throughput": return "throughput, workers=\(concurrency)"
            default: return "threads=\(threads) x workers=\(concurrency)"
            }
        }
    }

    /// Deterministic pseudo-random input for benchmarking.
    public static func input(for config: ConvNeXtConfig) -> [Float] {
        var rng = SeededGenerator(seed: 0)
        return (0..<config.inputCount).map { _ in rng.normal() }
    }

    /// Times `runs` single inferences with `threads` threads after `warmup` untimed ones.
    public static func latency(_ engine: some InferenceEngine, threads: Int, runs: Int, warmup: Int) -> Result {
        latency(engine, threads: threads, budget: .runs(runs), warmup: warmup, input: .random(for: engine.config))
    }

    /// Times single inferences with `threads` threads, one at a time, for `budget`, after `warmup` untimed ones.
    public static func latency(_ engine: some InferenceEngine, threads: Int, budget: Budget, warmup: Int, input: Input) -> Result {
        let run = concurrent(engine, workers: 1, threads: threads, budget: budget, warmup: warmup, input: input)
        let inferenceSeconds = run.times.reduce(0, +) / 1000
        return summarise(kind: "latency", threads: threads, concurrency: 1, run: run,
                         fps: inferenceSeconds > 0 ? Double(run.times.count) / inferenceSeconds : 0)
    }

    /// `workers` threads each run `runs` single-threaded inferences on the shared engine at once;
    /// FPS counts all of them over the wall time from the common start to the last finish.
    public static func throughput(_ engine: some InferenceEngine, workers: Int, runs: Int, warmup: Int) -> Result {
        throughput(engine, workers: workers, threads: 1, budget: .runs(runs), warmup: warmup, input: .random(for: engine.config))
    }

    /// `workers` threads each run `threads`-threaded inferences on the shared engine at once, for
    /// `budget`; FPS counts all of them over the wall time from the common start to the last finish.
    /// `threads` = 1 is the `throughput` kind, anything else a `grid` point.
    public static func throughput(_ engine: some InferenceEngine, workers: Int, threads: Int, budget: Budget, warmup: Int,
                                  input: Input, kind: String? = nil) -> Result {
        let run = concurrent(engine, workers: workers, threads: threads, budget: budget, warmup: warmup, input: input)
        return summarise(kind: kind ?? (threads == 1 ? "throughput" : "grid"), threads: threads, concurrency: workers, run: run,
                         fps: run.wall > 0 ? Double(run.times.count) / run.wall : 0)
    }

    /// What the workers of one configuration measured.
    struct TimedRun {
        var times: [Double]
        var preprocess: [Double]
        var wall: Double
        var workers: Int
    }

    /// Runs `workers` threads from a common start line; each prepares (when asked) and infers until
    /// its budget is spent.
    static func concurrent(_ engine: some InferenceEngine, workers: Int, threads: Int, budget: Budget, warmup: Int,
                           input: Input) -> TimedRun {
        let shared = ThroughputRun()
        let deadline = ThroughputRun.Deadline()
        for _ in 0..<workers {
            shared.done.enter()
            let thread = Thread {
                var logits = [Float](repeating: 0, count: engine.config.numClasses)
                var local: [Double] = [], prepared: [Double] = []
                if case .runs(let n) = budget { local.reserveCapacity(n) }
                logits.withUnsafeMutableBufferPointer { out in
                    input.tensor.withUnsafeBufferPointer { inp in
                        for _ in 0..<warmup { engine.infer(inp, logits: out, threads: threads) }
                    }
                    shared.ready.signal()
                    shared.go.wait()
                    var count = 0
                    while true {
                        if case .runs(let n) = budget, count >= n { break }
                        if case .seconds = budget, monotonicNanoseconds() >= deadline.value { break }
                        var data = input.tensor
                        if let prepare = input.prepare {
                            let t0 = monotonicNanoseconds()
                            data = (try? prepare()) ?? input.tensor
                            prepared.append(Double(monotonicNanoseconds() - t0) * 1e-6)
                        }
                        let start = monotonicNanoseconds()
                        data.withUnsafeBufferPointer { engine.infer($0, logits: out, threads: threads) }
                        local.append(Double(monotonicNanoseconds() - start) * 1e-6)
                        count += 1
                    }
                }
                shared.lock.lock()
                shared.times += local
                shared.preprocess += prepared
                shared.lock.unlock()
                shared.done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<workers { shared.ready.wait() }
        let start = monotonicNanoseconds()
        if case .seconds(let s) = budget { deadline.value = start + UInt64(max(0, s) * 1e9) }
        for _ in 0..<workers { shared.go.signal() }
        shared.done.wait()
        let wall = Double(monotonicNanoseconds() - start) * 1e-9
        return TimedRun(times: shared.times, preprocess: shared.preprocess, wall: wall, workers: workers)
    }

    /// Time per layer kind over `runs` profiled inferences (float or int8 engine): the median of
    /// each kind, which shrugs off runs disturbed by other processes.
    public static func profile(_ engine: any LayerProfiling, threads: Int, runs: Int) -> LayerProfile {
        let input = Self.input(for: engine.config)
        var logits = [Float](repeating: 0, count: engine.config.numClasses)
        var samples: [LayerProfile] = []
        input.withUnsafeBufferPointer { inp in
            logits.withUnsafeMutableBufferPointer { out in
                for _ in 0..<max(runs, 1) { samples.append(engine.inferProfiled(inp, logits: out, threads: threads)) }
            }
        }
        var result = LayerProfile()
        for kind in LayerKind.allCases {
            let sorted = samples.map { $0[kind] }.sorted()
            result[kind] = sorted[sorted.count / 2]
        }
        return result
    }

    private static func summarise(kind: String, threads: Int, concurrency: Int, run: TimedRun, fps: Double) -> Result {
        let d = Distribution(run.times)
        return Result(kind: kind, threads: threads, concurrency: concurrency,
                      runs: run.times.count / max(run.workers, 1), totalRuns: run.times.count,
                      minMs: d.min, medianMs: d.p50, p90Ms: d.p90, p99Ms: d.p99, maxMs: d.max, meanMs: d.mean, stddevMs: d.stddev,
                      fps: fps, wallSeconds: run.wall, preprocess: run.preprocess.isEmpty ? nil : Distribution(run.preprocess),
                      profileMs: nil, samplesMs: run.times)
    }
}

/// Start line and result collection of a concurrent run.
private final class ThroughputRun: @unchecked Sendable {
    let lock = NSLock()
    var times: [Double] = []
    var preprocess: [Double] = []
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchGroup()

    /// The end of a timed budget, set before the workers are released (the semaphore orders it).
    final class Deadline: @unchecked Sendable {
        var value: UInt64 = .max
    }
}
