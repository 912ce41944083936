import Foundation

/// Latency and throughput measurements of any engine, as `convnext bench` reports them.
public enum EngineBenchmark {
    /// One measured configuration.
    public struct Result: Sendable, Codable, Equatable {
        /// `latency` (one inference at a time) or `throughput` (concurrent workers).
        public var kind: String
        /// Threads per inference.
        public var threads: Int
        /// Inferences running at once (workers sharing one engine).
        public var concurrency: Int
        /// Timed inferences per worker.
        public var runs: Int
        public var minMs: Double
        public var medianMs: Double
        public var p90Ms: Double
        /// Inferences per second over all workers.
        public var fps: Double
        /// Median CPU milliseconds per layer kind (`LayerKind.key`), when profiled.
        public var profileMs: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case kind, threads, concurrency, runs, fps
            case minMs = "min_ms", medianMs = "median_ms", p90Ms = "p90_ms", profileMs = "profile_ms"
        }
    }

    /// Deterministic pseudo-random input for benchmarking.
    public static func input(for config: ConvNeXtConfig) -> [Float] {
        var rng = SeededGenerator(seed: 0)
        return (0..<config.inputCount).map { _ in rng.normal() }
    }

    /// Times `runs` single inferences with `threads` threads after `warmup` untimed ones.
    public static func latency(_ engine: some InferenceEngine, threads: Int, runs: Int, warmup: Int) -> Result {
        let input = Self.input(for: engine.config)
        var logits = [Float](repeating: 0, count: engine.config.numClasses)
        var times: [Double] = []
        times.reserveCapacity(runs)
        input.withUnsafeBufferPointer { inp in
            logits.withUnsafeMutableBufferPointer { out in
                for _ in 0..<warmup { engine.infer(inp, logits: out, threads: threads) }
                for _ in 0..<runs {
                    let start = monotonicNanoseconds()
                    engine.infer(inp, logits: out, threads: threads)
                    times.append(Double(monotonicNanoseconds() - start) * 1e-6)
                }
            }
        }
        let total = times.reduce(0, +)
        return summarise(kind: "latency", threads: threads, concurrency: 1, runs: runs, times: times,
                         fps: total > 0 ? Double(runs) / (total / 1000) : 0)
    }

    /// `workers` threads each run `runs` single-threaded inferences on the shared engine at once;
    /// FPS counts all of them over the wall time from the common start to the last finish.
    public static func throughput(_ engine: some InferenceEngine, workers: Int, runs: Int, warmup: Int) -> Result {
        let input = Self.input(for: engine.config)
        let shared = ThroughputRun()
        for _ in 0..<workers {
            shared.done.enter()
            let thread = Thread {
                var logits = [Float](repeating: 0, count: engine.config.numClasses)
                var local: [Double] = []
                local.reserveCapacity(runs)
                input.withUnsafeBufferPointer { inp in
                    logits.withUnsafeMutableBufferPointer { out in
                        for _ in 0..<warmup { engine.infer(inp, logits: out, threads: 1) }
                        shared.ready.signal()
                        shared.go.wait()
                        for _ in 0..<runs {
                            let start = monotonicNanoseconds()
                            engine.infer(inp, logits: out, threads: 1)
                            local.append(Double(monotonicNanoseconds() - start) * 1e-6)
                        }
                    }
                }
                shared.lock.lock()
                shared.times += local
                shared.lock.unlock()
                shared.done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<workers { shared.ready.wait() }
        let start = monotonicNanoseconds()
        for _ in 0..<workers { shared.go.signal() }
        shared.done.wait()
        let wall = Double(monotonicNanoseconds() - start) * 1e-9
        return summarise(kind: "throughput", threads: 1, concurrency: workers, runs: runs, times: shared.times,
                         fps: wall > 0 ? Double(workers * runs) / wall : 0)
    }

    /// Time per layer kind over `runs` profiled inferences (fast engine only): the median of
    /// each kind, which shrugs off runs disturbed by other processes.
    public static func profile(_ engine: FastEngine, threads: Int, runs: Int) -> LayerProfile {
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

    private static func summarise(kind: String, threads: Int, concurrency: Int, runs: Int, times: [Double],
                                  fps: Double) -> Result {
        let sorted = times.sorted()
        func at(_ q: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
        }
        return Result(kind: kind, threads: threads, concurrency: concurrency, runs: runs,
                      minMs: sorted.first ?? 0, medianMs: at(0.5), p90Ms: at(0.9), fps: fps)
    }
}

/// Start line and result collection of a throughput run.
private final class ThroughputRun: @unchecked Sendable {
    let lock = NSLock()
    var times: [Double] = []
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
}
