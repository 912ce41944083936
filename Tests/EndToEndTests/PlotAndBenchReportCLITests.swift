import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The SVGs the tool writes (`bench --plot`, `eval --plot`, `compile`'s per-layer chart), parsed as
/// XML and checked against what their captions say; and bench's `--duration`, percentiles,
/// `--input`, `--grid` and `--report`.
final class PlotAndBenchReportCLITests: XCTestCase {
    static let demo = CLI.repoRoot.appendingPathComponent("Sources/convnext/Resources/demo").path
    var scratch: URL!

    override func setUpWithError() throws { scratch = try CLI.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }
    private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    /// Every element of an SVG file (parsing fails the test when it is not well-formed XML).
    private func svgElements(_ file: String) throws -> [XMLElement] {
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: file), options: [])
        XCTAssertEqual(document.rootElement()?.name, "svg")
        return try document.nodes(forXPath: "//*").compactMap { $0 as? XMLElement }
    }

    private func elements(_ all: [XMLElement], name: String, classPrefix: String) -> [XMLElement] {
        all.filter { $0.name == name && attribute($0, "class").hasPrefix(classPrefix) }
    }

    /// An attribute's value ("" when absent), read from the attribute list: FoundationXML's
    /// `attribute(forName:)` finds nothing in a document with a default namespace.
    private func attribute(_ e: XMLElement, _ name: String) -> String { e.attributes?.first { $0.name == name }?.stringValue ?? "" }

    private func results(_ stdout: String) throws -> [[String: Any]] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]])
    }

    private func assertMonotone(_ row: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
        let values = ["min_ms", "median_ms", "p90_ms", "p99_ms", "max_ms"].map { row[$0] as? Double ?? -1 }
        XCTAssertGreaterThan(values[0], 0, "\(row)", file: file, line: line)
        XCTAssertEqual(values, values.sorted(), "percentiles not monotone: \(row)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(row["mean_ms"] as? Double ?? -1, values[0], file: file, line: line)
        XCTAssertLessThanOrEqual(row["mean_ms"] as? Double ?? .infinity, values[4], file: file, line: line)
    }

    func testBenchDurationRunCountMatchesItsOwnLatency() throws {
        let r = try CLI.run(["bench", CLI.fixture("models/tiny_opset11.onnx"), "--duration", "2", "--threads", "1",
                             "--concurrency", "2", "--warmup", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try results(r.stdout)
        XCTAssertEqual(rows.count, 2)
        for row in rows {
            assertMonotone(row)
            let total = try XCTUnwrap(row["total_runs"] as? Int), mean = try XCTUnwrap(row["mean_ms"] as? Double)
            let wall = try XCTUnwrap(row["wall_s"] as? Double), maxMs = try XCTUnwrap(row["max_ms"] as? Double)
            let workers = try XCTUnwrap(row["concurrency"] as? Int)
            // Each worker runs back to back until 2 s have passed: its inference time fills the 2 s
            // (less the timer reads), and the last run may end up to one inference late.
            let busy = Double(total) * mean / 1000 / Double(workers)
            XCTAssertGreaterThan(total, 10, "\(row)")
            XCTAssertGreaterThanOrEqual(wall, 2.0, "\(row)")
            XCTAssertLessThanOrEqual(wall, 2.0 + maxMs / 1000 + 0.5, "\(row)")
            XCTAssertGreaterThan(busy, 0.7 * 2.0, "runs x mean latency should fill the duration: \(row)")
            XCTAssertLessThanOrEqual(busy, wall + 1e-6, "\(row)")
            XCTAssertEqual(row["fps"] as? Double ?? 0, row["kind"] as? String == "latency" ? Double(total) / (Double(total) * mean / 1000)
                           : Double(total) / wall, accuracy: 1e-6 * Double(total))
        }
    }

    func testBenchImageInputTimesDecodeAndPreprocessApartAndWritesReportsAndPlot() throws {
        let model = CLI.fixture("models/tiny_opset11.onnx")
        let r = try CLI.run(["bench", model, "--input", CLI.fixture("images/chelsea.jpg"), "--runs", "6", "--warmup", "1",
                             "--threads", "1,2", "--concurrency", "1,2", "--grid", "--report", path("bench.json"), "--plot", path("bench.svg")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("input image"), r.stdout)
        XCTAssertTrue(r.stdout.contains("decode+preprocess, timed apart"), r.stdout)
        XCTAssertTrue(r.stdout.contains("threads=2  x workers=2"), r.stdout)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("bench.json")))) as? [String: Any])
        XCTAssertEqual(report["schema"] as? Int, 1)
        let rows = try XCTUnwrap(report["results"] as? [[String: Any]])
        // 2 latency + 2 throughput + 4 grid points.
        XCTAssertEqual(rows.compactMap { $0["kind"] as? String }, ["latency", "latency", "throughput", "throughput", "grid", "grid", "grid", "grid"])
        XCTAssertEqual(rows.suffix(4).map { "\($0["threads"] ?? "")x\($0["concurrency"] ?? "")" }, ["1x1", "1x2", "2x1", "2x2"])
        for row in rows {
            assertMonotone(row)
            let pre = try XCTUnwrap(row["preprocess"] as? [String: Any], "no preprocess timing: \(row)")
            XCTAssertGreaterThan(pre["p50"] as? Double ?? 0, 0)
            XCTAssertLessThanOrEqual(pre["p50"] as? Double ?? 0, pre["max"] as? Double ?? 0)
            XCTAssertEqual(row["total_runs"] as? Int, 6 * (row["concurrency"] as? Int ?? 0))
        }

        // The plot: one histogram row per configuration, a p50 and a p99 marker each, at the reported values.
        let all = try svgElements(path("bench.svg"))
        let caption = all.first { attribute($0, "class") == "caption" }?.stringValue ?? ""
        XCTAssertTrue(caption.contains("p50") && caption.contains("p99"), caption)
        for (i, row) in rows.enumerated() {
            XCTAssertFalse(elements(all, name: "rect", classPrefix: "bin row-\(i)").isEmpty, "no histogram for row \(i)")
            let markers = elements(all, name: "line", classPrefix: "marker").filter { attribute($0, "data-row") == "\(i)" }
            XCTAssertEqual(markers.map { attribute($0, "class") }, ["marker p50", "marker p99"])
            guard markers.count == 2 else { continue }
            XCTAssertEqual(Double(attribute(markers[0], "data-ms")) ?? -1, row["median_ms"] as? Double ?? 0, accuracy: 1e-3)
            XCTAssertEqual(Double(attribute(markers[1], "data-ms")) ?? -1, row["p99_ms"] as? Double ?? 0, accuracy: 1e-3)
        }

        // CSV report and a raw tensor input (no preprocessing timed).
        let csv = try CLI.run(["bench", model, "--input", CLI.fixture("golden/tiny_opset11/input.f32"), "--runs", "3", "--warmup", "0",
                               "--threads", "1", "--concurrency", "1", "--report", path("bench.csv")])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertFalse(csv.stdout.contains("decode+preprocess"), csv.stdout)
        let lines = try String(contentsOfFile: path("bench.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        guard lines.count == 3 else { return }
        XCTAssertTrue(lines[0].hasPrefix("kind,threads,concurrency,runs,total_runs,min_ms,p50_ms,p90_ms,p99_ms,max_ms"), String(lines[0]))
        XCTAssertTrue(lines[1].hasPrefix("latency,1,1,3,3,"), String(lines[1]))
    }

    func testBenchRefusesBadDurationInputAndReport() throws {
        let model = CLI.fixture("models/tiny_opset11.onnx")
        for d in ["0", "-1", "nan", "inf", "x", "1e9"] {
            CLI.assertArgumentError(try CLI.run(["bench", model, "--duration=\(d)"]), mentions: "--duration")
        }
        CLI.assertOneLineFailure(try CLI.run(["bench", model, "--input", path("missing.jpg")]), mentions: "missing.jpg")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: path("bad.png")))
        CLI.assertOneLineFailure(try CLI.run(["bench", model, "--input", path("bad.png")]), mentions: "bad.png")
        try Data(count: 12).write(to: URL(fileURLWithPath: path("short.f32")))
        CLI.assertOneLineFailure(try CLI.run(["bench", model, "--input", path("short.f32")]), mentions: "short.f32")
        CLI.assertArgumentError(try CLI.run(["bench", model, "--report", path("r.txt")]), mentions: ".json or .csv")
        CLI.assertOneLineFailure(try CLI.run(["bench", model, "--plot", scratch.path]), mentions: "is a folder")
    }

    func testEvalComparePlotHasOneBarPerClassAndModel() throws {
        let model = "\(Self.demo)/convnext_digits.onnx"
        let packed = path("digits.cnxk")
        XCTAssertEqual(try CLI.run(["pack", model, "--output", packed]).status, 0)
        let r = try CLI.run(["eval", model, "--compare", packed, "--data", "\(Self.demo)/val", "--limit", "60", "--size", "64",
                             "--crop-pct", "1", "--no-progress", "--plot", path("eval.svg"), "--output", path("eval.json")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("eval.json")))) as? [String: Any])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        let all = try svgElements(path("eval.svg"))
        let caption = all.first { attribute($0, "class") == "caption" }?.stringValue ?? ""
        XCTAssertTrue(caption.contains("10 classes, one bar per class and model"), caption)
        for m in 0..<2 {
            let bars = elements(all, name: "rect", classPrefix: "bar series-\(m)")
            XCTAssertEqual(bars.count, 10, "model \(m)")
            let perClass = try XCTUnwrap(models[m]["per_class"] as? [[String: Any]])
            for (bar, c) in zip(bars, perClass) {
                XCTAssertEqual(attribute(bar, "data-class"), "\(c["class"] ?? "")")
                let rate = Double(c["correct_top1"] as? Int ?? 0) / Double(c["images"] as? Int ?? 1)
                XCTAssertEqual(Double(attribute(bar, "data-accuracy")) ?? -1, rate, accuracy: 1e-6)
            }
        }
    }

    func testCompileWritesAPerLayerCosineSVGWithTheOverrideMarked() throws {
        let dir = scratch.path
        try FileManager.default.copyItem(atPath: CLI.fixture("models/tiny_opset11.onnx"), toPath: dir + "/tiny.onnx")
        try FileManager.default.createDirectory(atPath: dir + "/cal", withIntermediateDirectories: true)
        var rng = UInt64(7)
        for i in 0..<3 {
            var floats = [Float](repeating: 0, count: 3 * 64 * 64)
            for k in floats.indices {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                floats[k] = Float(Int(rng >> 40) % 2000 - 1000) / 500
            }
            try floats.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: dir + "/cal/\(i).f32"))
        }
        let yaml = """
            model_parameters:
              onnx_model: tiny.onnx
              working_dir: out
              output_model_file_prefix: q
              node_info: {"/stages/stages.3/downsample/downsample.1/Conv": {ON: BPU, InputType: int16}}
            input_parameters: {input_type_rt: featuremap}
            calibration_parameters: {cal_data_dir: cal, calibration_type: max}
            """
        try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(["compile", "c.yaml"], cwd: scratch)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("out/q_quant_report.svg\n"), r.stdout)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/q_quant_report.json"))) as? [String: Any])
        let rows = try XCTUnwrap((report["quantization"] as? [String: Any])?["rows"] as? [[String: Any]])
        let all = try svgElements(dir + "/out/q_quant_report.svg")
        let bars = elements(all, name: "rect", classPrefix: "bar")
        let measured = rows.filter { ($0["cosine"] as? Double ?? -1) >= -0.5 }
        XCTAssertEqual(bars.count, measured.count)
        XCTAssertEqual(bars.map { attribute($0, "data-layer") }, measured.map { $0["layer"] as? String ?? "" })
        for (bar, row) in zip(bars, measured) {
            XCTAssertEqual(attribute(bar, "class"), "bar precision-\(row["precision"] as? String ?? "")")
        }
        let overrides = elements(all, name: "polygon", classPrefix: "override")
        XCTAssertEqual(overrides.map { attribute($0, "data-layer") }, ["stages.3.downsample.conv"])
        XCTAssertEqual(overrides.map { attribute($0, "data-override") }, ["int16"])
    }
}
