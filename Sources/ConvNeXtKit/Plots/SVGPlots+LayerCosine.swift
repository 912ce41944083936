import Foundation

extension SVGPlots {
    /// One layer of `layerCosineChart`.
    public struct LayerCosine: Sendable {
        public var layer: String
        /// `int8`, `int16` or `float`: the bar's colour.
        public var precision: String
        /// Float vs quantized output cosine; nil when not measured.
        public var cosine: Double?
        /// The precision a config override (node_info / run_on_cpu) asked for, when there is one.
        public var override: String?

        public init(layer: String, precision: String, cosine: Double?, override: String?) {
            self.layer = layer
            self.precision = precision
            self.cosine = cosine
            self.override = override
        }
    }

    /// Per-layer cosine similarity of float and quantized outputs (for `compile`): one horizontal
    /// bar per layer in forward order, coloured by precision (int8 blue, int16 orange, float grey),
    /// layers a config override set marked with a red triangle and their override. Bars carry
    /// `class="bar precision-P"` and `data-layer`, `data-cosine`; markers `class="override"`.
    public static func layerCosineChart(title: String, subtitle: String, layers: [LayerCosine]) -> SVGDocument {
        let left = 250.0, right = 150.0, top = 74.0, rowHeight = 14.0, bottom = 44.0
        let plotWidth = 560.0
        let measured = layers.compactMap(\.cosine)
        let lowest = measured.min() ?? 0.99
        // A round lower end below the lowest cosine: 0.9, 0.99, 0.999 ... or 0 for poor layers.
        var floor = 0.0
        for candidate in [0.999, 0.99, 0.9, 0.5] where lowest >= candidate + (1 - candidate) * 0.05 {
            floor = candidate
            break
        }
        let range = floor...1.0
        let plotBottom = top + rowHeight * Double(max(layers.count, 1))
        var svg = SVGDocument(width: left + plotWidth + right, height: plotBottom + bottom, title: title)
        func x(_ c: Double) -> Double { left + plotWidth * (max(c, floor) - floor) / (1 - floor) }
        let colours = ["int8": palette[0], "int16": palette[1], "float": palette[2]]

        svg.text(title, x: 12, y: 22, size: 15, bold: true)
        svg.text(subtitle, x: 12, y: 40, size: 11, fill: "#555555", kind: "caption")
        var legendX = 12.0
        for (name, colour) in [("int8", palette[0]), ("int16", palette[1]), ("float", palette[2])] {
            svg.rect(x: legendX, y: 50, width: 12, height: 12, fill: colour, kind: "legend")
            svg.text(name, x: legendX + 16, y: 60, size: 11)
            legendX += 70
        }
        svg.polygon([(legendX, 62), (legendX + 12, 62), (legendX + 6, 50)], fill: palette[5], kind: "legend")
        svg.text("precision set by a config override (node_info / run_on_cpu)", x: legendX + 16, y: 60, size: 11)

        let ticks = Self.ticks(range, count: 5)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 0.1
        for t in ticks {
            svg.line(x1: x(t), y1: top, x2: x(t), y2: plotBottom, stroke: "#e6e6e6")
            svg.text(tickLabel(t, step: step), x: x(t), y: plotBottom + 14, size: 10, anchor: "middle")
        }
        svg.text("cosine similarity of float and quantized layer outputs (axis from \(tickLabel(floor, step: step)))",
                 x: left + plotWidth / 2, y: plotBottom + 32, size: 11, anchor: "middle")
        for (r, l) in layers.enumerated() {
            let y = top + Double(r) * rowHeight
            svg.text(String(l.layer.prefix(40)), x: left - 8, y: y + rowHeight - 3, size: 10, anchor: "end")
            let value = l.cosine.map { String(format: "%.6f", $0) } ?? "n/a"
            if let c = l.cosine {
                svg.rect(x: left, y: y + 2, width: x(c) - left, height: rowHeight - 4, fill: colours[l.precision] ?? palette[3],
                         kind: "bar precision-\(l.precision)", tooltip: "\(l.layer): \(l.precision), cosine \(value)",
                         data: [("layer", l.layer), ("cosine", value)])
            }
            var note = "\(value)  \(l.precision)"
            if let o = l.override {
                let tip = x(l.cosine ?? floor) + 8
                svg.polygon([(tip - 5, y + rowHeight - 2), (tip + 5, y + rowHeight - 2), (tip, y + 2)], fill: palette[5], kind: "override",
                            tooltip: "\(l.layer): override \(o)", data: [("layer", l.layer), ("override", o)])
                note += "  override \(o)"
            }
            svg.text(note, x: left + plotWidth + 6, y: y + rowHeight - 3, size: 9, fill: "#444444")
        }
        return svg
    }
}
