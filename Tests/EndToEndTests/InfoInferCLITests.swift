import Foundation
import XCTest

/// `convnext info` and `convnext infer` as a user runs them.
final class InfoInferCLITests: XCTestCase {
    func testInfoJSONOnTinyModels() throws {
        for name in ["tiny_opset11", "tiny_linear_opset17"] {
            let r = try CLI.run(["info", CLI.fixture("models/\(name).onnx"), "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(json["variant"] as? String, "custom")
            XCTAssertEqual(json["params"] as? Int, 72_690)
            XCTAssertEqual(json["classes"] as? Int, 10)
            XCTAssertEqual(json["input_shape"] as? [Int], [1, 3, 64, 64])
            XCTAssertNotNil(json["macs"] as? Int)
        }
    }

    func testInfoOnAtto() throws {
        let r = try CLI.run(["info", try CLI.shared("models/convnext_atto.onnx")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("atto"), r.stdout)
        XCTAssertTrue(r.stdout.contains("3,695,520"), r.stdout)
        XCTAssertTrue(r.stdout.contains("0.547 GMAC"), r.stdout)
    }

    func testInferMatchesPyTorchGolden() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["tiny_opset11", "tiny_linear_opset11", "tiny_opset17"] {
            let out = dir.appendingPathComponent("\(name).f32").path
            let r = try CLI.run(["infer", CLI.fixture("models/\(name).onnx"), "--input-tensor", CLI.fixture("golden/\(name)/input.f32"),
                                 "--output-tensor", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            let got = try RawFloats.read(out), golden = try RawFloats.read(CLI.fixture("golden/\(name)/output.f32"))
            XCTAssertEqual(got.count, golden.count)
            let scale = golden.map(abs).max() ?? 1
            let err = zip(got, golden).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(err / scale, 1e-4, name)
        }
    }

    func testBadModelsGiveOneLineErrorAndNoOutput() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("models/tiny_opset11.onnx")))
        let truncated = dir.appendingPathComponent("truncated.onnx")
        try model.prefix(model.count / 2).write(to: truncated)
        let text = dir.appendingPathComponent("notes.onnx")
        try Data("not a model at all".utf8).write(to: text)
        let empty = dir.appendingPathComponent("empty.onnx")
        try Data().write(to: empty)
        for bad in [truncated, text, empty] {
            let out = dir.appendingPathComponent("out.f32")
            let r = try CLI.run(["infer", bad.path, "--input-tensor", CLI.fixture("golden/tiny_opset11/input.f32"), "--output-tensor", out.path])
            CLI.assertOneLineFailure(r, mentions: bad.lastPathComponent)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no output after a failure")
            CLI.assertOneLineFailure(try CLI.run(["info", bad.path]), mentions: bad.lastPathComponent)
        }
    }

    func testWrongSizeInputTensorIsRefused() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("short.f32")
        try Data(count: 1000).write(to: input)
        let out = dir.appendingPathComponent("out.f32")
        let r = try CLI.run(["infer", CLI.fixture("models/tiny_opset11.onnx"), "--input-tensor", input.path, "--output-tensor", out.path])
        CLI.assertOneLineFailure(r, mentions: "short.f32")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testUsageErrorExits64() throws {
        let r = try CLI.run(["infer"])
        XCTAssertEqual(r.status, 64, r.stderr)
    }
}
