import ConvNeXtKit
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The SVG writer and the three charts, parsed back as XML.
final class SVGPlotTests: XCTestCase {
    private func parse(_ svg: SVGDocument) throws -> [XMLElement] {
        let document = try XMLDocument(data: svg.data, options: [])
        XCTAssertEqual(document.rootElement()?.name, "svg")
        XCTAssertTrue(svg.xml.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        return try document.nodes(forXPath: "//*").compactMap { $0 as? XMLElement }
    }

    /// An attribute's value ("" when absent), read from the attribute list: FoundationXML's
    /// `attribute(forName:)` finds nothing in a document with a default namespace.
    private func attr(_ e: XMLElement, _ name: String) -> String {
        e.attributes?.first { $0.name == name }?.stringValue ?? ""
    }

    private func withClass(_ all: [XMLElement], _ prefix: String) -> [XMLElement] {
        all.filter { attr($0, "class").hasPrefix(prefix) }
    }

    func testTextIsEscapedAndTheDocumentStaysWellFormed() throws {
        var svg = SVGDocument(width: 100, height: 50, title: "a < b & \"c\"")
        svg.text("x > y & 'z' \u{1}", x: 1, y: 2)
        svg.rect(x: 0, y: 0, width: 3, height: 4, fill: "#000", kind: "bar", tooltip: "<tip>", data: [("class", "a&b")])
        let all = try parse(svg)
        XCTAssertEqual(all.first { $0.name == "title" }?.stringValue, "a < b & \"c\"")
        XCTAssertEqual(all.first { $0.name == "text" }?.stringValue, "x > y & 'z' ")
        XCTAssertEqual(withClass(all, "bar").first.map { attr($0, "data-class") }, "a&b")
        XCTAssertEqual(SVGDocument.number(1.005), "1") // two decimals at most: 1.00 -> 1 (1.005 is 1.00499... in binary)
        XCTAssertEqual(SVGDocument.number(2.5), "2.50")
        XCTAssertEqual(SVGDocument.number(.nan), "0")
    }

    func testClassAccuracyChartHasOneBarPerClassAndSeries() throws {
        let names = (0..<12).map { "class <\($0)>" }
        let a = SVGPlots.AccuracySeries(name: "float", counts: (0..<12).map { (hits: $0, images: 12) })
        // The second model has no image of class 3.
        let b = SVGPlots.AccuracySeries(name: "int8", counts: (0..<12).map { $0 == 3 ? nil : (hits: max(0, $0 - 1), images: 12) })
        let all = try parse(SVGPlots.classAccuracyChart(title: "t", categories: names, series: [a, b]))
        let first = withClass(all, "bar series-0"), second = withClass(all, "bar series-1")
        XCTAssertEqual(first.count, 12)
        XCTAssertEqual(second.count, 11)
        XCTAssertEqual(first.map { attr($0, "data-class") }, names)
        guard first.count == 12 else { return }
        XCTAssertEqual(Double(attr(first[6], "data-accuracy")) ?? -1, 0.5, accuracy: 1e-9)
        // A lower accuracy is a shorter bar (the axis starts at 0 here: the lowest rate is 0).
        let h = first.map { Double(attr($0, "height")) ?? -1 }
        XCTAssertEqual(h, h.sorted())
        XCTAssertEqual(h[0], 0)
        XCTAssertTrue(withClass(all, "caption").first?.stringValue?.contains("12 classes") ?? false)
    }

    func testLatencyChartMarksP50AndP99OfEachConfiguration() throws {
        let fast = (1...100).map { Double($0) / 10 }          // 0.1 ... 10 ms
        let slow = (1...200).map { 5 + Double($0) / 20 }     // 5.05 ... 15 ms
        let all = try parse(SVGPlots.latencyChart(title: "bench", series: [.init(name: "a", samplesMs: fast), .init(name: "b", samplesMs: slow)]))
        for (row, samples) in [fast, slow].enumerated() {
            let markers = withClass(all, "marker").filter { attr($0, "data-row") == "\(row)" }
            XCTAssertEqual(markers.map { attr($0, "class") }, ["marker p50", "marker p99"])
            guard markers.count == 2 else { continue }
            let d = EngineBenchmark.Distribution(samples)
            XCTAssertEqual(Double(attr(markers[0], "data-ms")) ?? -1, d.p50, accuracy: 1e-4)
            XCTAssertEqual(Double(attr(markers[1], "data-ms")) ?? -1, d.p99, accuracy: 1e-4)
            let x50 = Double(attr(markers[0], "x1")) ?? 0
            let x99 = Double(attr(markers[1], "x1")) ?? 0
            XCTAssertLessThan(x50, x99)
            // Every sample is in one of the row's bins.
            let bins = withClass(all, "bin row-\(row)")
            let counted = bins.compactMap { $0.elements(forName: "title").first?.stringValue?.split(separator: " ").dropLast().last.flatMap { Int($0) } }
            XCTAssertEqual(counted.reduce(0, +), samples.count)
        }
    }

    func testNearestRankPercentiles() {
        let d = EngineBenchmark.Distribution((1...100).map(Double.init).shuffled())
        XCTAssertEqual([d.min, d.p50, d.p90, d.p99, d.max], [1, 50, 90, 99, 100])
        XCTAssertEqual(d.mean, 50.5, accuracy: 1e-12)
        XCTAssertEqual(d.stddev, (Double(100 * 101) / 12).squareRoot(), accuracy: 1e-9)   // sample sd of 1...100
        let one = EngineBenchmark.Distribution([3])
        XCTAssertEqual([one.min, one.p50, one.p99, one.max, one.stddev], [3, 3, 3, 3, 0])
        let two = EngineBenchmark.Distribution([2, 1])
        XCTAssertEqual([two.p50, two.p90], [1, 2])
    }

    func testLayerCosineChartColoursByPrecisionAndMarksOverrides() throws {
        let layers: [SVGPlots.LayerCosine] = [
            .init(layer: "stem.conv", precision: "int8", cosine: 0.9995, override: nil),
            .init(layer: "stages.0.blocks.0.fc1", precision: "int16", cosine: 0.9999, override: "int16"),
            .init(layer: "stages.0.blocks.0.fc2", precision: "int16", cosine: 0.9990, override: nil),
            .init(layer: "head.fc", precision: "float", cosine: nil, override: "float"),
        ]
        let all = try parse(SVGPlots.layerCosineChart(title: "t", subtitle: "s", layers: layers))
        let bars = withClass(all, "bar")
        XCTAssertEqual(bars.map { attr($0, "class") },
                       ["bar precision-int8", "bar precision-int16", "bar precision-int16"])
        XCTAssertEqual(withClass(all, "override").map { attr($0, "data-layer") },
                       ["stages.0.blocks.0.fc1", "head.fc"])
        let widths = bars.map { Double(attr($0, "width")) ?? -1 }
        guard widths.count == 3 else { return }
        XCTAssertGreaterThan(widths[1], widths[0])
        XCTAssertGreaterThan(widths[0], widths[2])
    }
}
