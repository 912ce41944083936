import Foundation

/// Top-1/top-5 of one model over an evaluation set.
public struct EvalMetrics: Sendable, Codable {
    public var model: String
    public var engine: String
    public var top1: Double
    public var top5: Double
    /// Images evaluated (decoded and run).
    public var images: Int
    /// Images that could not be read.
    public var failed: Int
    public var correctTop1: Int
    public var correctTop5: Int
    public var imagesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case model, engine, top1, top5, images, failed, correctTop1 = "correct_top1", correctTop5 = "correct_top5"
        case imagesPerSecond = "images_per_second"
    }
}

/// The outcome of one evaluation pass over one or two models.
public struct EvalResult: Sendable {
    public var metrics: [EvalMetrics]
    /// Fraction of images where both models give the same top-1 (two models only).
    public var agreement: Double?
    /// Mean cosine similarity of the two models' logits (two models only).
    public var meanCosine: Double?
    /// Unreadable images with the reason, sorted by path.
    public var failures: [(path: String, reason: String)]
    public var seconds: Double
}

/// Progress of a running evaluation, for a progress bar.
public struct EvalProgress: Sendable {
    public var done: Int
    public var total: Int
    public var failed: Int
    public var correctTop1: Int
    public var seconds: Double
    public var imagesPerSecond: Double { seconds > 0 ? Double(done) / seconds : 0 }
    public var runningTop1: Double { done - failed > 0 ? Double(correctTop1) / Double(done - failed) : 0 }
}

/// Runs one or two engines over labelled images with concurrent workers sharing the engines.
///
/// Each image is decoded once (in the worker, so decoding runs in parallel too) and fed to
/// every engine; each engine call is single-threaded, so N workers use N cores.
public struct Evaluator: Sendable {
    public var engines: [any InferenceEngine]
    public var modelNames: [String]
    /// Turns an image path into each model's input (decode once + preprocess): one tensor per
    /// engine, or one shared by all; throws for unreadable files.
    public var load: @Sendable (String) throws -> [Tensor]
    public var workers: Int

    public init(engines: [any InferenceEngine], modelNames: [String], workers: Int,
                load: @escaping @Sendable (String) throws -> [Tensor]) {
        self.engines = engines
        self.modelNames = modelNames
        self.workers = max(1, workers)
        self.load = load
    }

    public func run(_ samples: [EvalSample], progress: (@Sendable (EvalProgress) -> Void)? = nil) -> EvalResult {
        let state = EvalState(models: engines.count)
        let start = DispatchTime.now().uptimeNanoseconds
        let engines = self.engines
        let load = self.load
        let total = samples.count
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var logits = engines.map { [Float](repeating: 0, count: $0.config.numClasses) }
            while let i = state.next(limit: total) {
                let sample = samples[i]
                let inputs: [Tensor]
                do {
                    inputs = try load(sample.path)
                } catch {
                    state.fail(path: sample.path, reason: "\(error)")
                    continue
                }
                var hits1: [Bool] = [], hits5: [Bool] = [], top: [Int] = []
                for (m, engine) in engines.enumerated() {
                    let input = inputs[min(m, inputs.count - 1)]
                    guard input.count == engine.config.inputCount else {
                        state.fail(path: sample.path, reason: "preprocessed to \(input.count) values, model \(m + 1) needs \(engine.config.inputCount)")
                        continue
                    }
                    input.data.withUnsafeBufferPointer { inp in
                        logits[m].withUnsafeMutableBufferPointer { engine.infer(inp, logits: $0, threads: 1) }
                    }
                    let top5 = Self.topIndices(logits[m], k: 5)
                    top.append(top5.first ?? -1)
                    hits1.append(top5.first == sample.label)
                    hits5.append(top5.contains(sample.label))
                }
                guard hits1.count == engines.count else { continue }
                let cosine = engines.count == 2 ? Self.cosine(logits[0], logits[1]) : nil
                state.record(hits1: hits1, hits5: hits5, agree: engines.count == 2 ? top[0] == top[1] : nil, cosine: cosine)
                if let progress {
                    let p = state.progress(total: total, start: start)
                    progress(p)
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return state.result(engines: engines, names: modelNames, seconds: seconds)
    }

    /// Indices of the k largest values, largest first (ties: lower index first).
    public static func topIndices(_ v: [Float], k: Int) -> [Int] {
        var best: [Int] = []
        for i in v.indices {
            if best.count < k || v[i] > v[best[best.count - 1]] {
                var pos = best.count
                while pos > 0, v[i] > v[best[pos - 1]] { pos -= 1 }
                best.insert(i, at: pos)
                if best.count > k { best.removeLast() }
            }
        }
        return best
    }

    /// Cosine similarity, in Double.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<min(a.count, b.count) {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return na > 0 && nb > 0 ? dot / (na * nb).squareRoot() : (na == nb ? 1 : 0)
    }
}

/// Counters shared by the workers, behind one lock.
private final class EvalState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var done = 0
    private var correct1: [Int]
    private var correct5: [Int]
    private var evaluated = 0
    private var agreements = 0
    private var cosineSum = 0.0
    private var failures: [(String, String)] = []

    init(models: Int) {
        correct1 = [Int](repeating: 0, count: models)
        correct5 = [Int](repeating: 0, count: models)
    }

    func next(limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nextIndex < limit else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    func fail(path: String, reason: String) {
        lock.lock()
        failures.append((path, reason))
        done += 1
        lock.unlock()
    }

    func record(hits1: [Bool], hits5: [Bool], agree: Bool?, cosine: Double?) {
        lock.lock()
        for m in hits1.indices {
            if hits1[m] { correct1[m] += 1 }
            if hits5[m] { correct5[m] += 1 }
        }
        if agree == true { agreements += 1 }
        cosineSum += cosine ?? 0
        evaluated += 1
        done += 1
        lock.unlock()
    }

    func progress(total: Int, start: UInt64) -> EvalProgress {
        lock.lock()
        defer { lock.unlock() }
        return EvalProgress(done: done, total: total, failed: failures.count, correctTop1: correct1.first ?? 0,
                            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    func result(engines: [any InferenceEngine], names: [String], seconds: Double) -> EvalResult {
        lock.lock()
        defer { lock.unlock() }
        let n = max(evaluated, 1)
        let metrics = engines.indices.map { m in
            EvalMetrics(model: m < names.count ? names[m] : "model \(m + 1)", engine: engines[m].name,
                        top1: Double(correct1[m]) / Double(n), top5: Double(correct5[m]) / Double(n),
                        images: evaluated, failed: failures.count, correctTop1: correct1[m], correctTop5: correct5[m],
                        imagesPerSecond: seconds > 0 ? Double(evaluated) / seconds : 0)
        }
        return EvalResult(metrics: metrics,
                          agreement: engines.count == 2 ? Double(agreements) / Double(n) : nil,
                          meanCosine: engines.count == 2 ? cosineSum / Double(n) : nil,
                          failures: failures.sorted { $0.0 < $1.0 }.map { (path: $0.0, reason: $0.1) },
                          seconds: seconds)
    }
}
