import Foundation

extension SVGPlots {
    /// One model's per-class top-1 accuracy for `classAccuracyChart`.
    public struct AccuracySeries: Sendable {
        public var name: String
        /// Per category: top-1 hits and images (nil when the class has no image).
        public var counts: [(hits: Int, images: Int)?]

        public init(name: String, counts: [(hits: Int, images: Int)?]) {
            self.name = name
            self.counts = counts
        }
    }

    /// Per-class top-1 accuracy, one bar per class and model, grouped by class (for `eval --plot`):
    /// first model blue, second orange. The y axis starts at a round value below the lowest bar, said
    /// in the caption, so that differences of a few percent are visible.
    /// Bars carry `class="bar series-M"`, `data-class` and `data-accuracy`; a tooltip gives the counts.
    public static func classAccuracyChart(title: String, categories: [String], series: [AccuracySeries]) -> SVGDocument {
        let groupWidth = Double(max(10, 8 * series.count + 6))
        let left = 64.0, right = 24.0, top = 58.0 + 16 * Double(max(series.count, 1))
        let longestName = categories.map(\.count).max() ?? 1
        let bottom = 40 + min(Double(longestName), 28) * 6.2
        // Wide enough for the bars, the title and the legend (about 8 px per character of 15 px text).
        let textWidth = max(Double(title.count) * 9, Double(series.map(\.name.count).max() ?? 0) * 6.5 + 20) + 12 - right
        let plotWidth = max(480, Double(categories.count) * groupWidth, textWidth)
        let plotHeight = 300.0
        var svg = SVGDocument(width: left + plotWidth + right, height: top + plotHeight + bottom, title: title)

        let rates = series.flatMap { $0.counts.compactMap { $0.map { $0.images > 0 ? Double($0.hits) / Double($0.images) : 0 } } }
        let lowest = rates.min() ?? 0
        // A multiple of 10% at least 2 points below the lowest bar, so that every bar shows.
        var floor = (lowest * 10).rounded(.down) / 10
        if lowest - floor < 0.02 { floor -= 0.1 }
        floor = max(0, min(0.9, floor))
        let range = floor...1.0
        func y(_ rate: Double) -> Double { top + plotHeight * (1 - (rate - range.lowerBound) / (range.upperBound - range.lowerBound)) }

        svg.text(title, x: left, y: 22, size: 15, bold: true)
        svg.text(String(format: "top-1 accuracy per class (%d classes, one bar per class and model); y axis from %.0f%%",
                        categories.count, floor * 100), x: left, y: 40, size: 11, fill: "#555555", kind: "caption")
        for (m, s) in series.enumerated() {
            let y = 50 + 16 * Double(m)
            svg.rect(x: left, y: y, width: 12, height: 12, fill: palette[m % palette.count], kind: "legend")
            svg.text(s.name, x: left + 16, y: y + 10, size: 11)
        }
        let ticks = Self.ticks(range, count: 5)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 0.1
        for t in ticks {
            svg.line(x1: left, y1: y(t), x2: left + plotWidth, y2: y(t), stroke: "#e0e0e0")
            svg.text(tickLabel(t * 100, step: step * 100, suffix: "%"), x: left - 6, y: y(t) + 4, size: 10, anchor: "end")
        }
        svg.line(x1: left, y1: top, x2: left, y2: top + plotHeight, stroke: "#444444")
        svg.line(x1: left, y1: top + plotHeight, x2: left + plotWidth, y2: top + plotHeight, stroke: "#444444")

        let slot = plotWidth / Double(max(categories.count, 1))
        let barWidth = max(2, min(14, (slot - 4) / Double(max(series.count, 1))))
        for (c, name) in categories.enumerated() {
            let x0 = left + Double(c) * slot + (slot - barWidth * Double(series.count)) / 2
            for (m, s) in series.enumerated() {
                guard c < s.counts.count, let count = s.counts[c] else { continue }
                let rate = count.images > 0 ? Double(count.hits) / Double(count.images) : 0
                let barTop = min(y(rate), top + plotHeight)
                svg.rect(x: x0 + Double(m) * barWidth, y: barTop, width: barWidth - 1, height: top + plotHeight - barTop,
                         fill: palette[m % palette.count], kind: "bar series-\(m)",
                         tooltip: String(format: "%@, %@: %.2f%% (%d/%d)", name, s.name, rate * 100, count.hits, count.images),
                         data: [("class", name), ("accuracy", String(format: "%.6f", rate))])
            }
            let labelX = left + (Double(c) + 0.5) * slot
            svg.text(String(name.prefix(28)), x: labelX, y: top + plotHeight + 12, size: 10, anchor: "end", rotate: -55)
        }
        return svg
    }
}
