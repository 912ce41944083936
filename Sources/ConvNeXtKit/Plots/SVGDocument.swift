import Foundation

/// A small SVG 1.1 document, built element by element and written as plain XML (no dependency):
/// every text and attribute value is escaped, numbers are written with at most two decimals.
public struct SVGDocument: Sendable {
    public var width: Double
    public var height: Double
    private var elements: [String] = []

    /// An empty white canvas of `width` x `height` pixels with a `<title>` (what browsers show
    /// as the tab name, and what screen readers read first).
    public init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        elements.append("<title>\(Self.escape(title))</title>")
        rect(x: 0, y: 0, width: width, height: height, fill: "#ffffff")
    }

    /// A filled rectangle; `tooltip` becomes its `<title>`, `kind` its `class`, `data` `data-*` attributes.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil,
                              kind: String? = nil, tooltip: String? = nil, data: [(String, String)] = []) {
        var attributes = [("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(max(0, width))),
                          ("height", Self.number(max(0, height))), ("fill", fill)]
        if let stroke { attributes.append(("stroke", stroke)) }
        add("rect", attributes, kind: kind, data: data, tooltip: tooltip)
    }

    /// A straight line; `dash` is an SVG `stroke-dasharray` such as `4 3`.
    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                              dash: String? = nil, kind: String? = nil, tooltip: String? = nil, data: [(String, String)] = []) {
        var attributes = [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
                          ("stroke", stroke), ("stroke-width", Self.number(width))]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        add("line", attributes, kind: kind, data: data, tooltip: tooltip)
    }

    /// A filled polygon (markers).
    public mutating func polygon(_ points: [(Double, Double)], fill: String, kind: String? = nil, tooltip: String? = nil,
                                 data: [(String, String)] = []) {
        let list = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        add("polygon", [("points", list), ("fill", fill)], kind: kind, data: data, tooltip: tooltip)
    }

    /// Text at (x, y) (the baseline); `anchor` is start, middle or end; `rotate` turns it about (x, y).
    public mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
                              fill: String = "#222222", bold: Bool = false, rotate: Double? = nil, kind: String? = nil) {
        var attributes = [("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)),
                          ("text-anchor", anchor), ("fill", fill), ("font-family", "sans-serif")]
        if bold { attributes.append(("font-weight", "bold")) }
        if let rotate { attributes.append(("transform", "rotate(\(Self.number(rotate)) \(Self.number(x)) \(Self.number(y)))")) }
        var open = "<text " + attributes.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: " ")
        if let kind { open += " class=\"\(Self.escape(kind))\"" }
        elements.append(open + ">" + Self.escape(string) + "</text>")
    }

    /// The document as an XML string, starting with the XML declaration.
    public var xml: String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" "
        out += "viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\">\n"
        for element in elements { out += "  " + element + "\n" }
        return out + "</svg>\n"
    }

    /// UTF-8 bytes of `xml`.
    public var data: Data { Data(xml.utf8) }

    private mutating func add(_ name: String, _ attributes: [(String, String)], kind: String?, data: [(String, String)], tooltip: String?) {
        var all = attributes
        if let kind { all.append(("class", kind)) }
        all += data.map { ("data-" + $0.0, $0.1) }
        let open = "<\(name) " + all.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: " ")
        if let tooltip {
            elements.append(open + "><title>\(Self.escape(tooltip))</title></\(name)>")
        } else {
            elements.append(open + "/>")
        }
    }

    /// XML-escapes `&`, `<`, `>`, `"` and `'`, and drops characters XML 1.0 does not allow.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                let v = scalar.value
                let allowed = v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000
                if allowed { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// A coordinate with at most two decimals (0 for non-finite values).
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let rounded = (v * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }
}

/// The charts the tool writes (`bench --plot`, `eval --plot`, `compile`'s per-layer report).
public enum SVGPlots {
    /// Colours of the first and second series (float, quantized) and of int16 / float layers.
    static let palette = ["#4472c4", "#ed7d31", "#a5a5a5", "#70ad47", "#7f3fbf", "#c00000"]

    /// Round tick steps (1, 2, 5 x 10^k) giving about `count` ticks over `range`.
    static func ticks(_ range: ClosedRange<Double>, count: Int = 6) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / Double(max(count, 1))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var values: [Double] = []
        var v = (range.lowerBound / step).rounded(.up) * step
        while v <= range.upperBound + step * 1e-9 {
            values.append(v)
            v += step
        }
        return values
    }

    /// A tick label: no more decimals than the step needs.
    static func tickLabel(_ v: Double, step: Double, suffix: String = "") -> String {
        let decimals = step >= 1 ? 0 : min(6, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", v) + suffix
    }
}
