import Foundation
import XCTest

/// `convnext eval` on the bundled digits set and on a folder with a corrupt image.
final class EvalCLITests: XCTestCase {
    static let demo = CLI.repoRoot.appendingPathComponent("Sources/convnext/Resources/demo").path

    /// PyTorch's figure from manifest.json: 526 of 540 on the full validation set.
    func testDigitsFloatTop1MatchesPyTorchExactly() throws {
        let val = try CLI.shared("digits/val")
        let r = try CLI.run(["eval", "\(Self.demo)/convnext_digits.onnx", "--data", val, "--size", "64", "--crop-pct", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["images"] as? Int, 540)
        XCTAssertEqual(json["correct_top1"] as? Int, 526)
        XCTAssertEqual(json["top1"] as? Double ?? 0, 526.0 / 540.0, accuracy: 1e-9)
        XCTAssertEqual(json["failed"] as? Int, 0)
        XCTAssertNotNil(json["top5"] as? Double)
        XCTAssertNotNil(json["images_per_second"] as? Double)
    }

    func testCorruptImageIsCountedAndTheRestEvaluated() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for c in ["3", "7"] {
            let src = "\(Self.demo)/val/\(c)"
            try fm.createDirectory(atPath: dir.appendingPathComponent(c).path, withIntermediateDirectories: true)
            for f in try fm.contentsOfDirectory(atPath: src).sorted().prefix(5) {
                try fm.copyItem(atPath: "\(src)/\(f)", toPath: dir.appendingPathComponent("\(c)/\(f)").path)
            }
        }
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("7/broken.png"))
        let r = try CLI.run(["eval", "\(Self.demo)/convnext_digits.onnx", "--data", dir.path, "--size", "64", "--crop-pct", "1",
                             "--workers", "2", "--json", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["images"] as? Int, 10)
        XCTAssertEqual(json["failed"] as? Int, 1)
        let failures = try XCTUnwrap(json["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue((failures.first?["path"] as? String ?? "").hasSuffix("broken.png"))
    }

    func testValListAndCompareReportAgreement() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var lines: [String] = []
        for c in 0..<10 {
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(Self.demo)/val/\(c)").sorted().prefix(2)
            lines += files.map { "val/\(c)/\($0) \(c)" }
        }
        let list = dir.appendingPathComponent("val.txt")
        try (lines.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let model = "\(Self.demo)/convnext_digits.onnx"
        let r = try CLI.run(["eval", model, "--compare", model, "--data", Self.demo, "--val-list", list.path,
                             "--size", "64", "--crop-pct", "1", "--json", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 2)
        XCTAssertEqual(models[0]["images"] as? Int, 20)
        XCTAssertEqual(json["agreement"] as? Double, 1.0)
        XCTAssertEqual(json["mean_cosine"] as? Double ?? 0, 1.0, accuracy: 1e-9)
    }
}
