import Foundation
import Histogram

/// Inference latencies of one model in an HdrHistogram (microseconds, 3 significant digits), for
/// the percentiles the models table and the web page show; Prometheus gets bucketed histograms.
final class LatencyHistogram: @unchecked Sendable {
    private let lock = NSLock()
    private var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    func record(_ duration: Duration) {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        lock.lock()
        _ = histogram.record(UInt64(clamping: max(1, microseconds)))
        lock.unlock()
    }

    func summary() -> LatencySummary {
        lock.lock()
        defer { lock.unlock() }
        func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
        guard histogram.totalCount > 0 else { return LatencySummary(count: 0, p50: nil, p90: nil, p99: nil, max: nil) }
        return LatencySummary(count: Int(histogram.totalCount), p50: ms(histogram.valueAtPercentile(50)),
                              p90: ms(histogram.valueAtPercentile(90)), p99: ms(histogram.valueAtPercentile(99)),
                              max: ms(histogram.max))
    }
}

/// Inference count and latency percentiles in milliseconds (nil before the first inference).
struct LatencySummary: Codable, Sendable, Equatable {
    var count: Int
    var p50: Double?
    var p90: Double?
    var p99: Double?
    var max: Double?

    enum CodingKeys: String, CodingKey {
        case count
        case p50 = "p50_ms", p90 = "p90_ms", p99 = "p99_ms", max = "max_ms"
    }
}
