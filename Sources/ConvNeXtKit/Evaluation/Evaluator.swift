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

/// What one model predicted for one image: its five most probable classes.
public struct EvalPrediction: Sendable, Equatable {
    /// Model class indices, most probable first, with softmax probabilities (over the valid
    /// classes only when the evaluation is restricted to a class subset).
    public var top5: [ClassScore]

    public init(top5: [ClassScore]) { self.top5 = top5 }

    /// Whether `label` is the first class.
    public func hitTop1(_ label: Int) -> Bool { top5.first?.index == label }

    /// Whether `label` is among the first five classes.
    public func hitTop5(_ label: Int) -> Bool { top5.contains { $0.index == label } }
}

/// The outcome of one image of the evaluation: every model's prediction, or why it failed.
public struct EvalRecord: Sendable {
    /// One prediction per model, in model order; empty when the image failed.
    public var predictions: [EvalPrediction]
    /// Cosine similarity of the two models' logits (two models only).
    public var cosine: Double?
    /// Why the image could not be evaluated (unreadable, wrong size); nil when it was.
    public var failure: String?

    public init(predictions: [EvalPrediction], cosine: Double? = nil, failure: String? = nil) {
        self.predictions = predictions
        self.cosine = cosine
        self.failure = failure
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
    /// One record per sample, in the order of the samples given to `Evaluator.run`.
    public var records: [EvalRecord]
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
/// every engine; each engine call is single-threaded, so N workers use N cores. Every count is
/// taken from the per-image records in sample order afterwards, so the result does not depend on
/// the order in which workers finish.
public struct Evaluator: Sendable {
    public var engines: [any InferenceEngine]
    public var modelNames: [String]
    /// Turns an image path into each model's input (decode once + preprocess): one tensor per
    /// engine, or one shared by all; throws for unreadable files.
    public var load: @Sendable (String) throws -> [Tensor]
    public var workers: Int
    /// When set, predictions are taken among these class indices only (timm's `--valid-labels`:
    /// the logits of the other classes are dropped before softmax and top-k).
    public var validClasses: [Int]?

    public init(engines: [any InferenceEngine], modelNames: [String], workers: Int, validClasses: [Int]? = nil,
                load: @escaping @Sendable (String) throws -> [Tensor]) {
        self.engines = engines
        self.modelNames = modelNames
        self.workers = max(1, workers)
        self.validClasses = validClasses
        self.load = load
    }

    public func run(_ samples: [EvalSample], progress: (@Sendable (EvalProgress) -> Void)? = nil) -> EvalResult {
        let state = EvalState(count: samples.count)
        let start = DispatchTime.now().uptimeNanoseconds
        let engines = self.engines
        let load = self.load
        let valid = self.validClasses
        let total = samples.count
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var logits = engines.map { [Float](repeating: 0, count: $0.config.numClasses) }
            while let i = state.next(limit: total) {
                let sample = samples[i]
                let inputs: [Tensor]
                do {
                    inputs = try load(sample.path)
                } catch {
                    state.store(i, EvalRecord(predictions: [], failure: "\(error)"), hitTop1: false)
                    continue
                }
                var predictions: [EvalPrediction] = []
                var failure: String?
                for (m, engine) in engines.enumerated() {
                    let input = inputs[min(m, inputs.count - 1)]
                    guard input.count == engine.config.inputCount else {
                        failure = "preprocessed to \(input.count) values, model \(m + 1) needs \(engine.config.inputCount)"
                        break
                    }
                    input.data.withUnsafeBufferPointer { inp in
                        logits[m].withUnsafeMutableBufferPointer { engine.infer(inp, logits: $0, threads: 1) }
                    }
                    predictions.append(EvalPrediction(top5: Self.top5(logits[m], validClasses: valid)))
                }
                if let failure {
                    state.store(i, EvalRecord(predictions: [], failure: failure), hitTop1: false)
                    continue
                }
                let cosine = engines.count == 2 ? Self.cosine(logits[0], logits[1]) : nil
                state.store(i, EvalRecord(predictions: predictions, cosine: cosine), hitTop1: predictions[0].hitTop1(sample.label))
                if let progress { progress(state.progress(total: total, start: start)) }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Self.result(records: state.records, samples: samples, engines: engines, names: modelNames, seconds: seconds)
    }

    /// The five most probable classes of `logits` (softmax over `validClasses` when given).
    public static func top5(_ logits: [Float], validClasses: [Int]?) -> [ClassScore] {
        guard let validClasses else { return Classification.topK(Classification.softmax(logits), k: 5) }
        let restricted = validClasses.map { logits[$0] }
        return Classification.topK(Classification.softmax(restricted), k: 5).map {
            ClassScore(index: validClasses[$0.index], probability: $0.probability)
        }
    }

    /// Counts over the records, in sample order.
    static func result(records: [EvalRecord], samples: [EvalSample], engines: [any InferenceEngine], names: [String],
                       seconds: Double) -> EvalResult {
        var correct1 = [Int](repeating: 0, count: engines.count), correct5 = correct1
        var evaluated = 0, agreements = 0
        var cosineSum = 0.0
        var failures: [(path: String, reason: String)] = []
        for (i, record) in records.enumerated() {
            if let failure = record.failure {
                failures.append((samples[i].path, failure))
                continue
            }
            evaluated += 1
            for (m, p) in record.predictions.enumerated() {
                if p.hitTop1(samples[i].label) { correct1[m] += 1 }
                if p.hitTop5(samples[i].label) { correct5[m] += 1 }
            }
            if record.predictions.count == 2, record.predictions[0].top5.first?.index == record.predictions[1].top5.first?.index {
                agreements += 1
            }
            cosineSum += record.cosine ?? 0
        }
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
                          failures: failures.sorted { $0.path < $1.path },
                          seconds: seconds, records: records)
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

/// The work queue and the records the workers fill, behind one lock.
private final class EvalState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var done = 0
    private var failed = 0
    private var correctTop1 = 0
    private var stored: [EvalRecord]

    init(count: Int) {
        stored = [EvalRecord](repeating: EvalRecord(predictions: [], failure: "not evaluated"), count: count)
    }

    func next(limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nextIndex < limit else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    func store(_ index: Int, _ record: EvalRecord, hitTop1: Bool) {
        lock.lock()
        stored[index] = record
        done += 1
        if record.failure != nil { failed += 1 }
        if hitTop1 { correctTop1 += 1 }
        lock.unlock()
    }

    var records: [EvalRecord] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func progress(total: Int, start: UInt64) -> EvalProgress {
        lock.lock()
        defer { lock.unlock() }
        return EvalProgress(done: done, total: total, failed: failed, correctTop1: correctTop1,
                            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
