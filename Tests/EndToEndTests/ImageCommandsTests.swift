import ConvNeXtKit
import Foundation
import XCTest

/// Runs the built `convnext` binary: `preprocess` and `classify`, good and bad inputs.
final class ImageCommandsTests: XCTestCase {
    static func fixture(_ relative: String) -> String { CLI.fixture(relative) }
    static func shared(_ relative: String) -> String? { try? CLI.shared(relative) }
    static let tinyModel = fixture("models/tiny_opset11.onnx")

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("error:") } }
    }

    func run(_ arguments: [String]) throws -> Result {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "no convnext binary at \(CLI.binary.path)")
        let r = try CLI.run(arguments)
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    func scratch() throws -> URL {
        let url = try CLI.tempDir()
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Empty, truncated, corrupt and unsupported images written into `folder`.
    func badImages(in folder: URL) throws -> [String] {
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("images/chelsea.jpg")))
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("images/chelsea.png")))
        var corrupt = png
        corrupt[png.count / 2] ^= 0x5A
        let files: [(String, Data)] = [
            ("empty.jpg", Data()), ("truncated.jpg", jpeg.prefix(jpeg.count / 2)), ("truncated.png", png.prefix(png.count / 3)),
            ("corrupt.png", corrupt), ("notes.txt", Data("not an image\n".utf8)),
        ]
        return try files.map { name, data in
            let url = folder.appendingPathComponent(name)
            try data.write(to: url)
            return url.path
        }
    }

    // MARK: preprocess

    func testPreprocessWritesTimmsTensor() throws {
        let folder = try scratch()
        let out = folder.appendingPathComponent("chelsea.f32").path
        let r = try run(["preprocess", Self.fixture("images/chelsea.jpg"), "--output-tensor", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ours = floatsFromLittleEndian(try Data(contentsOf: URL(fileURLWithPath: out)))
        let golden = floatsFromLittleEndian(try Data(contentsOf: URL(fileURLWithPath: Self.fixture("golden/preprocess/chelsea.jpg.f32"))))
        XCTAssertEqual(ours.count, 3 * 224 * 224)
        XCTAssertEqual(ours.count, golden.count)
        let std: [Float] = [0.229, 0.224, 0.225]
        var worst: Float = 0
        for i in 0..<min(ours.count, golden.count) { worst = max(worst, abs(ours[i] - golden[i]) * 255 * std[i / (224 * 224)]) }
        XCTAssertLessThanOrEqual(worst, 1, "pixel-unit error against timm's golden")
    }

    func testPreprocessWritesNV12AndHonoursFlags() throws {
        let folder = try scratch()
        let nv12 = folder.appendingPathComponent("f.nv12").path, tensor = folder.appendingPathComponent("t.f32").path
        var r = try run(["preprocess", Self.fixture("images/rocket.jpg"), "--output-nv12", nv12])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: nv12)).count, 224 * 224 * 3 / 2)
        r = try run(["preprocess", Self.fixture("images/rocket.jpg"), "--size", "64", "--crop-pct", "1", "--interpolation", "bilinear",
                     "--resize-mode", "letterbox", "--mean", "0.5", "--std", "0.5,0.5,0.5", "--output-tensor", tensor, "--output-nv12", nv12])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tensor)).count, 3 * 64 * 64 * 4)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: nv12)).count, 64 * 64 * 3 / 2)
        // Letterbox of a landscape photo: the top row is padding grey 127 -> (127/255 - 0.5) / 0.5.
        let values = floatsFromLittleEndian(try Data(contentsOf: URL(fileURLWithPath: tensor)))
        XCTAssertEqual(values[0], (Float(127) / 255 - 0.5) / 0.5, accuracy: 1e-6)
    }

    func testPreprocessOfBadImagesFailsWithOneLineAndLeavesNoFile() throws {
        let folder = try scratch()
        for bad in try badImages(in: folder) {
            let out = folder.appendingPathComponent("out.f32").path
            let r = try run(["preprocess", bad, "--output-tensor", out, "--output-nv12", out + ".nv12"])
            XCTAssertEqual(r.status, 1, bad)
            XCTAssertEqual(r.errorLines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: \(bad):"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), bad)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".nv12"), bad)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp") || $0.hasPrefix("out") }
        XCTAssertEqual(left, [], "temporary or partial files left behind")
    }

    func testBadFlagsAreRejected() throws {
        let image = Self.fixture("images/chelsea.jpg")
        let folder = try scratch()
        let out = folder.appendingPathComponent("x.f32").path
        for flags in [["--crop-pct", "0"], ["--mean", "1,2"], ["--std", "0.2,0,0.2"], ["--size", "0"]] {
            let r = try run(["preprocess", image, "--output-tensor", out] + flags)
            XCTAssertEqual(r.status, 64, "\(flags): an argument error; \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: \(flags[0])"), r.stderr)
        }
        let r = try run(["preprocess", image, "--output-tensor", out, "--interpolation", "lanczos"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    // MARK: classify

    func testClassifyPrintsTopKWithTimesAndSaysWhenLabelsDoNotFit() throws {
        let r = try run(["classify", Self.tinyModel, Self.fixture("images/chelsea.jpg"), Self.fixture("images/chelsea.png"), "--top", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The note goes to stdout: stderr is kept for errors (one line per failure).
        XCTAssertTrue(r.stdout.hasPrefix("note: ") && r.stdout.contains("10 classes") && r.stdout.contains("1000"), r.stdout)
        XCTAssertEqual(r.stderr, "")
        let lines = r.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("note: ") }
        XCTAssertEqual(lines.filter { $0.contains("class ") }.count, 6, r.stdout)
        XCTAssertEqual(lines.filter { $0.contains("pre-process") && $0.contains("inference") && $0.contains("post-process") }.count, 2)
        // Highest first.
        let probabilities = lines.filter { $0.contains("class ") }.compactMap { Double($0.split(separator: " ").first ?? "") }
        XCTAssertEqual(probabilities.count, 6)
        if probabilities.count == 6 {
            XCTAssertGreaterThanOrEqual(probabilities[0], probabilities[1])
            XCTAssertGreaterThanOrEqual(probabilities[1], probabilities[2])
        }
    }

    func testClassifyUsesALabelsFile() throws {
        let folder = try scratch()
        let labels = folder.appendingPathComponent("labels.txt")
        try (0..<10).map { "digit-\($0)" }.joined(separator: "\n").write(to: labels, atomically: true, encoding: .utf8)
        let r = try run(["classify", Self.tinyModel, Self.fixture("images/rocket.jpg"), "--labels", labels.path, "--top", "10"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.components(separatedBy: "digit-").count - 1, 10, r.stdout)
        XCTAssertFalse(r.stderr.contains("note"), r.stderr)
    }

    func testClassifyReportsBadImagesAndClassifiesTheOthers() throws {
        let folder = try scratch()
        let bad = try badImages(in: folder) + [folder.appendingPathComponent("missing.jpg").path]
        let good = [Self.fixture("images/chelsea.jpg"), Self.fixture("images/rocket.jpg")]
        let r = try run(["classify", Self.tinyModel, good[0]] + bad + [good[1], "--top", "2"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.errorLines.count, bad.count, r.stderr)
        for path in bad {
            XCTAssertEqual(r.errorLines.filter { $0.hasPrefix("error: \(path):") }.count, 1, "\(path) in \(r.stderr)")
        }
        for path in good { XCTAssertTrue(r.stdout.contains(path + "\n"), r.stdout) }
        XCTAssertEqual(r.stdout.components(separatedBy: "inference").count - 1, 2)
    }

    func testClassifyJSON() throws {
        let folder = try scratch()
        let bad = try badImages(in: folder)[1]
        let r = try run(["classify", Self.tinyModel, Self.fixture("images/chelsea.jpg"), bad, "--json", "--top", "4"])
        XCTAssertEqual(r.status, 1)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let results = object?["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual((results.first?["top"] as? [[String: Any]])?.count, 4)
        XCTAssertNotNil((results.first?["times_ms"] as? [String: Any])?["inference"])
        XCTAssertNotNil(results.last?["error"] as? String)
        XCTAssertNotNil(object?["labels_note"] as? String, "10-class model against ImageNet labels")
    }

    func testClassifyFromNV12Frames() throws {
        let folder = try scratch()
        let frame = folder.appendingPathComponent("f.nv12").path
        var r = try run(["preprocess", Self.fixture("images/chelsea.jpg"), "--size", "64", "--output-nv12", frame])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["classify", Self.tinyModel, frame, "--nv12", "64x64", "--top", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("inference"))
        // A frame of another size is converted to RGB and preprocessed like a photo.
        r = try run(["classify", Self.tinyModel, frame, "--nv12", "32x128", "--nv12-range", "video", "--top", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for (size, word) in [("62x64", "holds 6144 bytes, expected 5952"), ("64x66", "expected 6336")] {
            r = try run(["classify", Self.tinyModel, frame, "--nv12", size])
            XCTAssertEqual(r.status, 1, size)
            XCTAssertEqual(r.errorLines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(word), "\(size): \(r.stderr)")
        }
        // A size that no frame can have is an argument error (exit 64 with the usage).
        for (size, word) in [("63x64", "even"), ("64", "WIDTHxHEIGHT")] {
            r = try run(["classify", Self.tinyModel, frame, "--nv12", size])
            XCTAssertEqual(r.status, 64, size)
            XCTAssertTrue(r.stderr.hasPrefix("Error: --nv12") && r.stderr.contains(word), "\(size): \(r.stderr)")
        }
    }

    /// The trained digits model (../shared/fixtures): its own images are classified correctly from
    /// the photo and from its NV12 frame.
    func testDigitsModelClassifiesItsImages() throws {
        guard let model = Self.shared("digits/convnext_digits.onnx"), let val = Self.shared("digits/val") else {
            throw XCTSkip("../shared/fixtures/digits is not present")
        }
        let folder = try scratch()
        let labels = folder.appendingPathComponent("digits.txt")
        try (0..<10).map { "\($0)\tdigit\tdigit \($0)" }.joined(separator: "\n").write(to: labels, atomically: true, encoding: .utf8)
        let images = try (0..<10).map { d -> String in
            let f = val + "/\(d)"
            return f + "/" + (try FileManager.default.contentsOfDirectory(atPath: f).sorted().first ?? "")
        }
        let r = try run(["classify", model] + images + ["--labels", labels.path, "--crop-pct", "1", "--top", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = ((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["results"] as? [[String: Any]]) ?? []
        XCTAssertEqual(results.count, 10)
        let predicted = results.compactMap { (($0["top"] as? [[String: Any]])?.first?["label"] as? String) }
        XCTAssertGreaterThanOrEqual(zip(predicted, (0..<10).map { "digit \($0)" }).filter { $0 == $1 }.count, 9, "\(predicted)")
    }
}
