import Foundation

/// Calibration methods that turn observed statistics into a clipping range.
public enum CalibrationMethod: String, Sendable, Codable, CaseIterable {
    /// The observed minimum and maximum.
    case max
    /// The `maxPercentile` quantile of |x| (e.g. 0.99995), clipped to the observed range.
    case percentile
    /// TensorRT-style entropy calibration: the threshold minimising the KL divergence between the
    /// 2048-bin histogram of |x| and its quantised version.
    case kl
}

/// Statistics of one tensor over the calibration set: range and a 2048-bin histogram of |x|
/// whose bin width doubles (merging bin pairs) whenever a larger value arrives.
///
/// Degenerate data has a defined outcome instead of a trap or an endless loop: magnitudes below
/// `negligibleMagnitude` (denormals, 1e-37) count as zero in the histogram (the bin width never goes
/// below `minimumBinWidth`, so 1 / width stays finite), and the bin width doubles at most
/// `maximumGrowths` times per call, which covers the whole Float range. All-zero, denormal and constant
/// tensors then get the ranges `ActivationQuantization.range` defines for them.
public struct TensorObserver: Sendable {
    public static let bins = 2048
    /// Magnitudes at or below this are histogrammed as zero (they quantise to zero at any useful scale).
    public static let negligibleMagnitude: Float = 1e-30
    /// The narrowest bin: the negligible magnitude spread over the bins (about 4.9e-34, a normal float).
    public static let minimumBinWidth: Float = negligibleMagnitude / Float(bins)
    /// More doublings than any finite bin width can take before reaching infinity (2^128 / 2^-111).
    static let maximumGrowths = 256
    public private(set) var minimum: Float = .infinity
    public private(set) var maximum: Float = -.infinity
    public private(set) var binWidth: Float = 0
    public private(set) var histogram = [Double](repeating: 0, count: TensorObserver.bins)
    public private(set) var count: Int = 0
    /// Sum of squares, for quantisation-noise estimates.
    public private(set) var sumOfSquares: Double = 0

    public init() {}

    /// Adds values to the statistics (non-finite values are skipped).
    public mutating func observe<C: Collection>(_ values: C) where C.Element == Float {
        var lo = minimum, hi = maximum, sq = 0.0
        var largest: Float = 0
        for v in values where v.isFinite {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
            largest = Swift.max(largest, abs(v))
            sq += Double(v) * Double(v)
        }
        minimum = lo
        maximum = hi
        sumOfSquares += sq
        if binWidth == 0 {
            guard largest > Self.negligibleMagnitude else {
                count += values.count
                histogram[0] += Double(values.count)
                return
            }
            binWidth = Swift.max(Self.minimumBinWidth, largest / Float(Self.bins))
        }
        var growths = 0
        while largest >= binWidth * Float(Self.bins), growths < Self.maximumGrowths {
            grow()
            growths += 1
        }
        let inv = 1 / binWidth
        for v in values where v.isFinite {
            histogram[Self.bin(abs(v) * inv)] += 1
        }
        count += values.count
    }

    /// The bin of a magnitude already divided by the bin width; clamps in Float before converting,
    /// so no value (however large) can trap the Int conversion.
    static func bin(_ scaled: Float) -> Int {
        scaled < Float(bins - 1) ? Swift.max(0, Int(scaled)) : bins - 1
    }

    /// The same histogram layout with nothing observed (for per-thread observers that merge later).
    public func emptied() -> TensorObserver {
        var o = TensorObserver()
        o.binWidth = binWidth
        return o
    }

    /// Adds another observer's statistics. Histograms of equal or power-of-two-related widths merge
    /// exactly; others are re-binned by bin centre.
    public mutating func merge(_ other: TensorObserver) {
        guard other.count > 0 else { return }
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        sumOfSquares += other.sumOfSquares
        count += other.count
        if other.binWidth == 0 {
            histogram[0] += other.histogram.reduce(0, +)
            return
        }
        if binWidth == 0 {
            let zeros = histogram.reduce(0, +)
            histogram = other.histogram
            binWidth = other.binWidth
            histogram[0] += zeros
            return
        }
        var growths = 0
        while binWidth * Float(Self.bins) < other.histogramRange, growths < Self.maximumGrowths {
            grow()
            growths += 1
        }
        for j in 0..<Self.bins where other.histogram[j] > 0 {
            let center = (Double(j) + 0.5) * Double(other.binWidth) / Double(binWidth)
            histogram[center < Double(Self.bins - 1) ? Swift.max(0, Int(center)) : Self.bins - 1] += other.histogram[j]
        }
    }

    /// Doubles the bin width, merging bin pairs.
    private mutating func grow() {
        var merged = [Double](repeating: 0, count: Self.bins)
        for i in 0..<Self.bins { merged[i / 2] += histogram[i] }
        histogram = merged
        binWidth *= 2
    }

    /// Upper end of the |x| histogram.
    public var histogramRange: Float { binWidth * Float(Self.bins) }

    /// Symmetric threshold T on |x| chosen by `method` for a quantiser with `levels` steps over [0, T].
    public func threshold(_ method: CalibrationMethod, percentile: Double, levels: Int) -> Float {
        let absMax = Swift.max(abs(minimum), abs(maximum))
        guard count > 0, binWidth > 0, absMax.isFinite else { return absMax.isFinite ? absMax : 0 }
        switch method {
        case .max:
            return absMax
        case .percentile:
            let total = histogram.reduce(0, +)
            let target = total * Swift.min(1, Swift.max(0, percentile))
            var cumulative = 0.0
            for i in 0..<Self.bins {
                let next = cumulative + histogram[i]
                if next >= target, histogram[i] > 0 {
                    let fraction = (target - cumulative) / histogram[i]
                    return Swift.min(absMax, Float((Double(i) + fraction) * Double(binWidth)))
                }
                cumulative = next
            }
            return absMax
        case .kl:
            return Swift.min(absMax, klThreshold(levels: levels))
        }
    }

    /// Entropy calibration: for each candidate cut i (levels..bins), P = histogram[0..<i] with the
    /// clipped tail added to the last bin; Q = P merged into `levels` groups and spread back over each
    /// group's non-empty bins; keep the cut with the smallest KL(P || Q).
    func klThreshold(levels: Int) -> Float {
        let n = Self.bins
        // The highest non-empty bin bounds the search.
        var last = n - 1
        while last > 0, histogram[last] == 0 { last -= 1 }
        if last + 1 <= levels { return Float(last + 1) * binWidth }
        var suffix = [Double](repeating: 0, count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + histogram[i] }
        var bestI = last + 1
        var bestKL = Double.infinity
        var p = [Double](repeating: 0, count: n)
        var q = [Double](repeating: 0, count: n)
        for i in levels...(last + 1) {
            for j in 0..<i { p[j] = histogram[j] }
            p[i - 1] += suffix[i]
            // Merge into `levels` groups of (nearly) equal width, then expand.
            for g in 0..<levels {
                let start = g * i / levels, end = (g + 1) * i / levels
                var sum = 0.0, nonEmpty = 0
                for j in start..<end where histogram[j] > 0 {
                    sum += histogram[j]
                    nonEmpty += 1
                }
                let share = nonEmpty > 0 ? sum / Double(nonEmpty) : 0
                for j in start..<end { q[j] = histogram[j] > 0 ? share : 0 }
            }
            var pSum = 0.0, qSum = 0.0
            for j in 0..<i {
                pSum += p[j]
                qSum += q[j]
            }
            guard pSum > 0, qSum > 0 else { continue }
            var kl = 0.0
            for j in 0..<i where p[j] > 0 {
                let pj = p[j] / pSum
                // Bins that P has but Q lost get a small floor (as smoothing) instead of infinity.
                let qj = Swift.max(q[j] / qSum, 1e-12)
                kl += pj * Foundation.log(pj / qj)
            }
            if kl < bestKL {
                bestKL = kl
                bestI = i
            }
        }
        return (Float(bestI) + 0.5) * binWidth
    }

    /// The activation quantisation `method` gives at `precision` (int16 always uses the full range:
    /// 65536 levels leave nothing to gain from clipping).
    public func quantization(_ method: CalibrationMethod, percentile: Double, precision: Precision) -> ActivationQuantization {
        guard count > 0, minimum.isFinite, maximum.isFinite else {
            return .range(lower: -1, upper: 1, precision: precision, method: method.rawValue)
        }
        if precision != .int8 || method == .max {
            return .range(lower: minimum, upper: maximum, precision: precision, method: precision == .int8 ? method.rawValue : "max")
        }
        // Mostly one-sided tensors (GELU outputs) spend all 255 levels on the positive side.
        let oneSided = abs(minimum) < 0.1 * abs(maximum)
        let t = threshold(method, percentile: percentile, levels: oneSided ? 255 : 128)
        return .range(lower: Swift.max(minimum, -t), upper: Swift.min(maximum, t), precision: precision, method: method.rawValue)
    }

    /// Estimated cosine similarity between the tensor and its quantised version, from the histogram
    /// (rounding noise step^2/12 inside the range, clipping error outside).
    public func estimatedCosine(_ q: ActivationQuantization) -> Double {
        guard q.precision != .float, count > 0, sumOfSquares > 0 else { return 1 }
        let step = Double(q.scale)
        var noise = Double(count) * step * step / 12
        // Clipping error of values beyond the range (approximated on |x| against the wider bound).
        let bound = Double(Swift.max(abs(q.lower), abs(q.upper)))
        for i in 0..<Self.bins where histogram[i] > 0 {
            let center = (Double(i) + 0.5) * Double(binWidth)
            if center > bound { noise += histogram[i] * (center - bound) * (center - bound) }
        }
        let signal = sumOfSquares
        return Swift.max(0, 1 - noise / (2 * signal))
    }
}
