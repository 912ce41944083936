import Foundation

/// How activation ranges are calibrated (the vendor's `calibration_type`).
public enum CalibrationType: String, Sendable, Codable, CaseIterable {
    /// Try max, percentile and KL; keep the one with the best output cosine similarity.
    case `default`
    /// Observed min/max.
    case max
    /// The `maxPercentile` quantile of |x| (the vendor's `max` with `max_percentile` < 1).
    case percentile
    /// Entropy (KL) calibration.
    case kl
    /// Per quantised tensor, the method that gives the best output cosine (greedy, in network order).
    case mix
    /// No calibration: fixed plausible ranges, for speed tests only.
    case skip
}

/// Progress of a quantisation, for a progress line on stderr.
public struct QuantizationProgress: Sendable {
    /// `observe`, `calibrate`, `precision`, `report`.
    public var phase: String
    public var completed: Int
    public var total: Int
    public var message: String
}

/// Settings of `Quantizer.quantize`.
public struct QuantizationOptions: Sendable {
    public var calibrationType: CalibrationType = .default
    /// Quantile for `percentile` (0.99995 by default; 0.999 ... 0.99999 are sensible).
    public var maxPercentile: Double = 0.99995
    /// Per-layer precision requests (int8, int16, float). Applied to the quantised tensor the layer
    /// produces or consumes (see `QuantPoint.forLayer`); several requests for one tensor: the
    /// highest wins. Layers that always run float here (depthwise conv, residual add, stem norm)
    /// ignore requests, as they already meet any of them.
    public var precisionOverrides: [LayerID: Precision] = [:]
    /// Raise the most sensitive int8 tensors to int16 (measured: the output cosine gain of each
    /// tensor alone at int16, then greedily in order of gain) until the calibration-set output
    /// cosine reaches `targetCosine`; if int16 is not enough, raised tensors go to float where that helps.
    public var automaticPrecision: Bool = true
    public var targetCosine: Double = 0.9995
    /// At most this many tensors raised automatically.
    public var maxAutomaticRaises: Int = 8
    /// Calibration images used for the per-layer report (each costs a reference pass).
    public var reportSamples: Int = 8
    /// Threads for the calibration passes (images shared out) and the quantised evaluation runs.
    public var threads: Int = 1
    /// Called as work proceeds (calls are serialised; with `threads` > 1 possibly from worker threads).
    public var progress: (@Sendable (QuantizationProgress) -> Void)?

    public init() {}
}

/// Post-training quantisation of a float ConvNeXt.
public enum Quantizer {
    /// Calibrates on `calibration` (NCHW images of the model's input size), chooses ranges and
    /// precisions by measurement, and returns the quantised model with its similarity report.
    /// Throws `ConvNeXtError.invalidInput` for empty calibration data or tensors of the wrong size.
    public static func quantize(model: ConvNeXtModel, calibration: [Tensor],
                                options: QuantizationOptions = QuantizationOptions()) throws -> (QuantizedModel, QuantizationReport) {
        let cfg = model.config
        if options.calibrationType != .skip, calibration.isEmpty {
            throw ConvNeXtError.invalidInput(path: "calibration data", reason: "no calibration tensors")
        }
        for (i, t) in calibration.enumerated() where t.count != cfg.inputCount {
            throw ConvNeXtError.invalidInput(path: "calibration tensor \(i)",
                                             reason: "has \(t.count) values, the model needs \(cfg.inputCount) (\(cfg.inputShape.map(String.init).joined(separator: "x")))")
        }
        try FoldedModel.validate(model)
        let folded = FoldedModel(model)
        let points = folded.points
        var session = CalibrationSession(model: model, folded: folded, calibration: calibration, options: options)

        // Fixed precisions: overrides (highest per tensor), the rest int8 for now.
        var fixed: [QuantPoint: Precision] = [:]
        for (layer, precision) in options.precisionOverrides {
            guard let p = QuantPoint.forLayer(layer), points.contains(p) else { continue }
            fixed[p] = Swift.max(fixed[p] ?? .int8, precision)
        }
        var precisions = Dictionary(uniqueKeysWithValues: points.map { ($0, fixed[$0] ?? .int8) })

        if options.calibrationType == .skip {
            let params = Dictionary(uniqueKeysWithValues: points.map { p in (p, skipRange(p).with(precision: precisions[p] ?? .int8)) })
            let summary = CalibrationSummary(method: "skip", percentile: options.maxPercentile, sampleCount: calibration.count, outputCosine: 0)
            let q = folded.quantized(activations: params, calibration: summary)
            let report = QuantizationReport(rows: [], outputCosine: .nan, method: "skip", methodScores: [:],
                                            sampleCount: calibration.count, raisedPoints: [])
            return (q, report)
        }

        try session.observe()

        // Method choice.
        var methods: [QuantPoint: CalibrationMethod] = [:]
        var scores: [String: Double] = [:]
        var chosen: String
        switch options.calibrationType {
        case .max, .percentile, .kl:
            let m = CalibrationMethod(rawValue: options.calibrationType.rawValue)!
            methods = Dictionary(uniqueKeysWithValues: points.map { ($0, m) })
            chosen = m.rawValue
        case .default, .mix:
            var best: (CalibrationMethod, Double) = (.max, -2)
            for (i, m) in CalibrationMethod.allCases.enumerated() {
                let all = Dictionary(uniqueKeysWithValues: points.map { ($0, m) })
                let score = try session.score(session.parameters(methods: all, precisions: precisions))
                scores[m.rawValue] = score
                options.progress?(QuantizationProgress(phase: "calibrate", completed: i + 1, total: 3,
                                                       message: "\(m.rawValue): output cosine \(String(format: "%.6f", score))"))
                if score > best.1 { best = (m, score) }
            }
            methods = Dictionary(uniqueKeysWithValues: points.map { ($0, best.0) })
            chosen = best.0.rawValue
            if options.calibrationType == .mix {
                var current = best.1
                for (i, p) in points.enumerated() where precisions[p] == .int8 {
                    for m in CalibrationMethod.allCases where m != methods[p] {
                        var trial = methods
                        trial[p] = m
                        let s = try session.score(session.parameters(methods: trial, precisions: precisions))
                        if s > current + 1e-7 {
                            current = s
                            methods = trial
                        }
                    }
                    options.progress?(QuantizationProgress(phase: "calibrate", completed: i + 1, total: points.count,
                                                           message: "mix \(p): \(methods[p]!.rawValue)"))
                }
                scores["mix"] = current
                chosen = "mix"
            }
        case .skip:
            chosen = "skip"
        }

        // Precision: raise the tensors whose int16 version helps the output most.
        var score = try session.score(session.parameters(methods: methods, precisions: precisions))
        var raised: [QuantPoint] = []
        if options.automaticPrecision, score < options.targetCosine {
            let candidates = points.filter { fixed[$0] == nil && precisions[$0] == .int8 }
            var gains: [(QuantPoint, Double)] = []
            for (i, p) in candidates.enumerated() {
                var trial = precisions
                trial[p] = .int16
                let s = try session.score(session.parameters(methods: methods, precisions: trial))
                gains.append((p, s - score))
                options.progress?(QuantizationProgress(phase: "precision", completed: i + 1, total: candidates.count,
                                                       message: "\(p) int16: output cosine \(String(format: "%.6f", s))"))
            }
            gains.sort { $0.1 > $1.1 }
            for (p, gain) in gains where gain > 0 && raised.count < options.maxAutomaticRaises && score < options.targetCosine {
                var trial = precisions
                trial[p] = .int16
                let s = try session.score(session.parameters(methods: methods, precisions: trial))
                if s > score {
                    precisions = trial
                    score = s
                    raised.append(p)
                }
            }
            // Still short: keep raised tensors in float where that measurably helps.
            for p in raised where score < options.targetCosine {
                var trial = precisions
                trial[p] = .float
                let s = try session.score(session.parameters(methods: methods, precisions: trial))
                if s > score + 1e-6 {
                    precisions = trial
                    score = s
                }
            }
        }

        let params = session.parameters(methods: methods, precisions: precisions)
        let summary = CalibrationSummary(method: chosen, percentile: options.maxPercentile,
                                         sampleCount: calibration.count, outputCosine: score)
        let quantized = folded.quantized(activations: params, calibration: summary)
        let report = try session.report(quantized, method: chosen, methodScores: scores, raised: raised)
        return (quantized, report)
    }

    /// Plausible fixed ranges for `skip`: normalised LayerNorm outputs within +-4, GELU outputs in
    /// [-0.17, 4], images within +-3 (normalised) or 0..255 never matter for speed.
    static func skipRange(_ p: QuantPoint) -> ActivationQuantization {
        switch p {
        case .gelu: return .range(lower: -0.17, upper: 4, precision: .int8, method: "skip")
        case .input: return .range(lower: -3, upper: 3, precision: .int8, method: "skip")
        default: return .range(lower: -4, upper: 4, precision: .int8, method: "skip")
        }
    }
}

/// State of one quantisation run: observers, float logits, and evaluation of candidates.
struct CalibrationSession {
    let model: ConvNeXtModel
    let folded: FoldedModel
    let calibration: [Tensor]
    let options: QuantizationOptions
    var observers: [QuantPoint: TensorObserver] = [:]
    var floatLogits: [[Float]] = []

    init(model: ConvNeXtModel, folded: FoldedModel, calibration: [Tensor], options: QuantizationOptions) {
        self.model = model
        self.folded = folded
        self.calibration = calibration
        self.options = options
    }

    /// One reference pass per calibration image, feeding the observers of every quantised tensor.
    /// With `options.threads` > 1 the images are shared out; each thread keeps its own observers
    /// (started from the first image's histogram widths) and they are merged at the end.
    mutating func observe() throws {
        guard !calibration.isEmpty else { return }
        let reference = ReferenceForward(model: model)
        let stages = model.stages
        let headEpsilon = model.head.norm.epsilon
        let images = calibration
        let progress = options.progress

        /// Runs one image, adding its tensors to `observers`; returns the float logits.
        func observeImage(_ image: Tensor, into observers: inout [QuantPoint: TensorObserver]) -> [Float] {
            final class State {
                var observers: [QuantPoint: TensorObserver]
                var stream: Tensor?
                init(_ o: [QuantPoint: TensorObserver]) { observers = o }
            }
            let state = State(observers)
            state.observers[.input]?.observe(image.data)
            let logits = reference.run(image) { id, t in
                switch id {
                case .stemNorm, .residual, .downsampleConv:
                    state.stream = t
                case .downsampleNorm(let s):
                    if let x = state.stream, let eps = stages[s].downsample?.norm.epsilon {
                        state.observers[.downsampleNorm(stage: s)]?.observe(normalizeChannels(x, epsilon: eps))
                    }
                case .dwConv(let s, let b):
                    state.observers[.blockNorm(stage: s, block: b)]?.observe(normalizeChannels(t, epsilon: stages[s].blocks[b].norm.epsilon))
                case .gelu(let s, let b):
                    state.observers[.gelu(stage: s, block: b)]?.observe(t.data)
                case .headPool:
                    state.observers[.headNorm]?.observe(normalizeChannels(t, epsilon: headEpsilon))
                default:
                    break
                }
            }
            observers = state.observers
            return logits.data
        }

        var first = Dictionary(uniqueKeysWithValues: folded.points.map { ($0, TensorObserver()) })
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var logits: [[Float]]
            var partial: [[QuantPoint: TensorObserver]]
            var done = 1
            init(images: Int, threads: Int) {
                logits = [[Float]](repeating: [], count: images)
                partial = [[QuantPoint: TensorObserver]](repeating: [:], count: threads)
            }
        }
        let threads = max(1, min(options.threads, images.count - 1))
        let shared = Shared(images: images.count, threads: threads)
        shared.logits[0] = observeImage(images[0], into: &first)
        progress?(QuantizationProgress(phase: "observe", completed: 1, total: images.count, message: "calibration image 1/\(images.count)"))
        let empty = first.mapValues { $0.emptied() }
        let start = first
        parallel(threads) { t in
            var mine = t == 0 ? start : empty
            for i in stride(from: 1 + t, to: images.count, by: threads) {
                let logits = observeImage(images[i], into: &mine)
                shared.lock.lock()
                shared.logits[i] = logits
                shared.done += 1
                progress?(QuantizationProgress(phase: "observe", completed: shared.done, total: images.count,
                                               message: "calibration image \(shared.done)/\(images.count)"))
                shared.lock.unlock()
            }
            shared.lock.lock()
            shared.partial[t] = mine
            shared.lock.unlock()
        }
        var merged = shared.partial[0]
        for part in shared.partial.dropFirst() {
            for (p, o) in part { merged[p]?.merge(o) }
        }
        observers = merged
        floatLogits = shared.logits
    }

    /// Activation quantisation of every point for the given methods and precisions.
    func parameters(methods: [QuantPoint: CalibrationMethod], precisions: [QuantPoint: Precision]) -> [QuantPoint: ActivationQuantization] {
        var out: [QuantPoint: ActivationQuantization] = [:]
        for p in folded.points {
            let precision = precisions[p] ?? .int8
            let obs = observers[p] ?? TensorObserver()
            out[p] = obs.quantization(methods[p] ?? .max, percentile: options.maxPercentile, precision: precision)
        }
        return out
    }

    /// Mean cosine similarity of quantised vs float logits over the calibration set.
    func score(_ params: [QuantPoint: ActivationQuantization]) throws -> Double {
        let q = folded.quantized(activations: params, calibration: CalibrationSummary(method: "", percentile: 0, sampleCount: 0, outputCosine: 0))
        let engine = try Int8Engine(model: q)
        var total = 0.0
        for (i, image) in calibration.enumerated() {
            let out = engine.infer(image, threads: options.threads)
            total += cosineSimilarity(out.data, floatLogits[i])
        }
        return total / Double(max(1, calibration.count))
    }

    /// Per-layer comparison of reference and quantised layer outputs on the first calibration images.
    func report(_ q: QuantizedModel, method: String, methodScores: [String: Double], raised: [QuantPoint]) throws -> QuantizationReport {
        let engine = try Int8Engine(model: q)
        let reference = ReferenceForward(model: model)
        var sums: [LayerID: CosineAccumulator] = [:]
        var order: [LayerID] = []
        let n = min(options.reportSamples, calibration.count)
        for i in 0..<n {
            var floatLayers: [LayerID: [Float]] = [:]
            _ = reference.run(calibration[i]) { id, t in floatLayers[id] = t.data }
            _ = engine.run(calibration[i], threads: options.threads) { id, t in
                guard let f = floatLayers[id], f.count == t.count else { return }
                if sums[id] == nil { order.append(id) }
                sums[id, default: CosineAccumulator()].add(f, t.data)
            }
            options.progress?(QuantizationProgress(phase: "report", completed: i + 1, total: n, message: "layer comparison \(i + 1)/\(n)"))
        }
        let params = Dictionary(q.activationPoints, uniquingKeysWith: { a, _ in a })
        let rows = order.map { id -> QuantizationReport.Row in
            // Pooling feeds the head LayerNorm in float; its point is only for overrides.
            let point = id == .headPool ? nil : QuantPoint.forLayer(id)
            let quant = point.flatMap { params[$0] }
            let precision = quant?.precision ?? .float
            return QuantizationReport.Row(layer: id.description, nodes: model.sourceNodes[id] ?? [],
                                          computesOn: Self.isIntegerGEMM(id) && precision != .float ? "int" : "float",
                                          precision: precision.rawValue, cosine: sums[id]?.cosine ?? .nan,
                                          threshold: quant.map { Swift.max(abs($0.lower), abs($0.upper)) },
                                          lower: quant?.lower, upper: quant?.upper, scale: quant?.scale, zeroPoint: quant?.zeroPoint)
        }
        return QuantizationReport(rows: rows, outputCosine: q.calibration.outputCosine, method: method,
                                  methodScores: methodScores, sampleCount: calibration.count,
                                  raisedPoints: raised.map(\.description))
    }

    static func isIntegerGEMM(_ id: LayerID) -> Bool {
        switch id {
        case .stemConv, .downsampleConv, .fc1, .fc2, .layerScale, .headFC: return true
        default: return false
        }
    }
}

/// LayerNorm over channels without affine, for every pixel of an NCHW tensor (values in any order).
func normalizeChannels(_ t: Tensor, epsilon: Float) -> [Float] {
    let c = t.shape.count == 4 ? t.shape[1] : t.count
    let hw = max(1, t.count / max(c, 1))
    var out = [Float](repeating: 0, count: t.count)
    for p in 0..<hw {
        var mean = 0.0
        for ch in 0..<c { mean += Double(t.data[ch * hw + p]) }
        mean /= Double(c)
        var variance = 0.0
        for ch in 0..<c {
            let d = Double(t.data[ch * hw + p]) - mean
            variance += d * d
        }
        let inv = 1 / (variance / Double(c) + Double(epsilon)).squareRoot()
        for ch in 0..<c { out[ch * hw + p] = Float((Double(t.data[ch * hw + p]) - mean) * inv) }
    }
    return out
}

/// Cosine similarity of two vectors (1 when both are zero).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double {
    var acc = CosineAccumulator()
    acc.add(a, b)
    return acc.cosine
}

/// Accumulates dot products and norms for a cosine similarity over many tensors.
struct CosineAccumulator {
    var dot = 0.0, aa = 0.0, bb = 0.0
    mutating func add(_ a: [Float], _ b: [Float]) {
        for i in 0..<min(a.count, b.count) {
            let x = Double(a[i]), y = Double(b[i])
            dot += x * y
            aa += x * x
            bb += y * y
        }
    }
    var cosine: Double {
        if aa == 0 && bb == 0 { return 1 }
        guard aa > 0, bb > 0 else { return 0 }
        return dot / (aa.squareRoot() * bb.squareRoot())
    }
}
