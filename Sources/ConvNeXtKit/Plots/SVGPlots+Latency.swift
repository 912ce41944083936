import Foundation

extension SVGPlots {
    /// One configuration's timed inferences for `latencyChart`.
    public struct LatencySeries: Sendable {
        public var name: String
        public var samplesMs: [Double]
        public init(name: String, samplesMs: [Double]) {
            self.name = name
            self.samplesMs = samplesMs
        }
    }

    /// The latency distribution of each configuration (for `bench --plot`): one row per
    /// configuration, a histogram of its inference times on a common millisecond axis, with the
    /// p50 (solid) and p99 (dashed) marked and labelled. Histogram bars carry `class="bin row-R"`,
    /// markers `class="marker p50|p99"` with `data-ms`; times beyond the axis are counted in the last bin.
    public static func latencyChart(title: String, series: [LatencySeries], bins: Int = 40) -> SVGDocument {
        let left = 190.0, right = 30.0, top = 56.0, rowHeight = 64.0, bottom = 50.0
        let plotWidth = 640.0
        let all = series.flatMap(\.samplesMs)
        let distributions = series.map { EngineBenchmark.Distribution($0.samplesMs) }
        // The axis ends at the largest p99 plus a margin, so one slow outlier does not squash the rest.
        let upper = max((distributions.map(\.p99).max() ?? 1) * 1.15, distributions.map(\.p50).max() ?? 0, 1e-3)
        let lower = max(0, (all.min() ?? 0) * 0.9)
        let range = lower...upper
        var svg = SVGDocument(width: left + plotWidth + right, height: top + rowHeight * Double(max(series.count, 1)) + bottom, title: title)
        func x(_ ms: Double) -> Double { left + plotWidth * (min(ms, upper) - lower) / (upper - lower) }

        svg.text(title, x: 12, y: 22, size: 15, bold: true)
        svg.text("latency distribution per configuration (histogram of inference times); p50 solid, p99 dashed",
                 x: 12, y: 40, size: 11, fill: "#555555", kind: "caption")
        let ticks = Self.ticks(range, count: 8)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let plotBottom = top + rowHeight * Double(series.count)
        for t in ticks {
            svg.line(x1: x(t), y1: top, x2: x(t), y2: plotBottom, stroke: "#ececec")
            svg.text(tickLabel(t, step: step), x: x(t), y: plotBottom + 16, size: 10, anchor: "middle")
        }
        svg.text("milliseconds per inference", x: left + plotWidth / 2, y: plotBottom + 34, size: 11, anchor: "middle")

        let binWidth = (upper - lower) / Double(bins)
        for (r, s) in series.enumerated() {
            let rowTop = top + Double(r) * rowHeight
            let base = rowTop + rowHeight - 10
            var counts = [Int](repeating: 0, count: bins)
            for v in s.samplesMs { counts[min(bins - 1, max(0, Int((v - lower) / binWidth)))] += 1 }
            let tallest = Double(counts.max() ?? 1)
            let d = distributions[r]
            svg.text(s.name, x: left - 10, y: rowTop + 24, size: 11, anchor: "end", bold: true)
            svg.text(String(format: "%d runs, max %.2f ms", s.samplesMs.count, d.max), x: left - 10, y: rowTop + 40, size: 10,
                     anchor: "end", fill: "#555555")
            svg.line(x1: left, y1: base, x2: left + plotWidth, y2: base, stroke: "#999999")
            for (b, c) in counts.enumerated() where c > 0 {
                let h = (rowHeight - 22) * Double(c) / max(tallest, 1)
                let lo = lower + Double(b) * binWidth
                svg.rect(x: x(lo), y: base - h, width: max(1, x(lo + binWidth) - x(lo) - 1), height: h,
                         fill: palette[r % palette.count], kind: "bin row-\(r)",
                         tooltip: String(format: "%.3f-%.3f ms: %d runs", lo, lo + binWidth, c))
            }
            for (name, value, dash) in [("p50", d.p50, nil as String?), ("p99", d.p99, "4 3")] {
                svg.line(x1: x(value), y1: rowTop + 6, x2: x(value), y2: base, stroke: "#222222", width: 1.5, dash: dash,
                         kind: "marker \(name)", tooltip: String(format: "%@ %.3f ms", name, value),
                         data: [("ms", String(format: "%.4f", value)), ("row", "\(r)")])
                svg.text(String(format: "%@ %.2f", name, value), x: x(value) + 3, y: rowTop + (name == "p50" ? 14 : 26), size: 10)
            }
        }
        return svg
    }
}
