import Foundation
import XCTest

/// Broken, mislabelled and hostile inputs through `info`, `infer`, `classify`, `preprocess` and `compile`:
/// every run ends within 60 s with exit 1 and one line on stderr, and writes nothing.
final class HostileInputTests: XCTestCase {
    var inputs: URL!
    var outputs: URL!

    static let tinyModel = CLI.fixture("models/tiny_opset11.onnx")
    static func hostile(_ name: String) -> String { CLI.fixture("hostile/\(name)") }

    override func setUpWithError() throws {
        inputs = try CLI.tempDir()
        outputs = try CLI.tempDir()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: inputs)
        try? FileManager.default.removeItem(at: outputs)
    }

    // MARK: - Running

    struct Outcome {
        var status: Int32
        var signalled: Bool
        var timedOut: Bool
        var stdout: String
        var stderr: String
    }

    /// Runs the CLI in the output folder with a 60 s limit (output goes to files: no pipe can fill up).
    func run(_ arguments: [String], limit: TimeInterval = 60, environment: [String: String] = [:]) throws -> Outcome {
        let capture = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: capture) }
        let outURL = capture.appendingPathComponent("stdout"), errURL = capture.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        process.currentDirectoryURL = outputs
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(limit)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                process.terminate()
                process.waitUntilExit()
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                       timedOut: timedOut,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Asserts the acceptance rule for a bad input: exit 1, one non-empty stderr line, nothing written.
    @discardableResult
    func expectCleanFailure(_ arguments: [String], _ label: String, environment: [String: String] = [:],
                            file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let r = try run(arguments, environment: environment)
        let context = "\(label): convnext \(arguments.joined(separator: " "))\nstderr: \(r.stderr)"
        XCTAssertFalse(r.timedOut, "timed out: \(context)", file: file, line: line)
        XCTAssertFalse(r.signalled, "crashed (signal \(r.status)): \(context)", file: file, line: line)
        XCTAssertEqual(r.status, 1, "exit status: \(context)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasSuffix("\n"), "stderr should end with a newline: \(context)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 1, "stderr should be exactly one line: \(context)", file: file, line: line)
        XCTAssertTrue(lines.allSatisfy { $0.trimmingCharacters(in: .whitespaces).count > 8 }, "empty message: \(context)", file: file, line: line)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? ["<unreadable>"]
        XCTAssertEqual(left, [], "output folder should stay empty (temp files included): \(context)", file: file, line: line)
        return r
    }

    /// Writes `data` into the inputs folder.
    func input(_ name: String, _ data: Data) throws -> String {
        let path = inputs.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func fixtureData(_ relative: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: CLI.fixture(relative))) }

    /// Every command that reads a model, given `model` and otherwise good inputs.
    func expectModelRejected(_ model: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tensor = try input("in.f32", Data(count: 3 * 64 * 64 * 4))
        try expectCleanFailure(["info", model], "info \(label)", file: file, line: line)
        try expectCleanFailure(["infer", model, "--input-tensor", tensor, "--output-tensor", "logits.f32"], "infer \(label)", file: file, line: line)
        try expectCleanFailure(["classify", model, CLI.fixture("images/decode/rgb444.jpg")], "classify \(label)", file: file, line: line)
        try expectCleanFailure(["preprocess", CLI.fixture("images/decode/rgb444.jpg"), "--model", model, "--output-tensor", "t.f32"],
                               "preprocess \(label)", file: file, line: line)
    }

    // MARK: - Model files

    func testTruncatedModels() throws {
        let onnx = try fixtureData("models/tiny_opset11.onnx")
        for fraction in [0.0, 0.001, 0.5, 0.999] {
            let cut = Int(Double(onnx.count) * fraction)
            try expectModelRejected(try input("cut\(cut).onnx", onnx.prefix(cut)), "ONNX cut at \(cut)")
        }
        for name in ["tiny_opset11.safetensors", "tiny_opset11.pth"] {
            let data = try fixtureData("checkpoints/\(name)")
            try expectModelRejected(try input("cut-\(name)", data.prefix(data.count / 2)), "half of \(name)")
            try expectModelRejected(try input("head-\(name)", data.prefix(40)), "40 bytes of \(name)")
        }
        let cnxk = try packedTinyModel()
        for cut in [8, 100, cnxk.count / 2, cnxk.count - 1] {
            try expectModelRejected(try input("cut\(cut).cnxk", cnxk.prefix(cut)), "cnxk cut at \(cut)")
        }
    }

    func testBitFlippedModels() throws {
        // The deployable file carries a checksum: any flipped bit is caught.
        let cnxk = try packedTinyModel()
        for offset in [0, 17, 70, cnxk.count / 3, cnxk.count - 40, cnxk.count - 1] {
            var flipped = cnxk
            flipped[offset] ^= 0x10
            try expectModelRejected(try input("flip\(offset).cnxk", flipped), "cnxk bit flip at \(offset)")
        }
        // ONNX and checkpoints have none: a flip in a weight is a different valid model, so only structure
        // bytes are flipped here (protobuf tags and lengths at the start, the safetensors header length).
        let onnx = try fixtureData("models/tiny_opset11.onnx")
        for offset in [0, 1, 2] {
            var flipped = onnx
            flipped[offset] ^= 0x80
            try expectModelRejected(try input("flip\(offset).onnx", flipped), "ONNX bit flip at \(offset)")
        }
        var st = try fixtureData("checkpoints/tiny_opset11.safetensors")
        st[3] ^= 0x01
        try expectModelRejected(try input("flip.safetensors", st), "safetensors header length flip")
        // Anywhere else: success or a clean failure, never a crash or a hang.
        for offset in stride(from: 5, to: onnx.count, by: onnx.count / 23) {
            var flipped = onnx
            flipped[offset] ^= 0xFF
            let path = try input("any\(offset).onnx", flipped)
            let r = try run(["info", path])
            XCTAssertFalse(r.signalled || r.timedOut, "flip at \(offset): \(r.stderr)")
            XCTAssertTrue(r.status == 0 || (r.status == 1 && r.stderr.split(separator: "\n").count == 1), "flip at \(offset): \(r.status) \(r.stderr)")
        }
    }

    func testMislabelledModels() throws {
        let onnx = try fixtureData("models/tiny_opset11.onnx")
        let jpeg = try fixtureData("images/decode/rgb444.jpg")
        try expectModelRejected(try input("image.onnx", jpeg), "JPEG named .onnx")
        try expectModelRejected(try input("onnx.cnxk", onnx), "ONNX named .cnxk")
        try expectModelRejected(try input("image.safetensors", jpeg), "JPEG named .safetensors")
        try expectModelRejected(try input("yaml.pth", try fixtureData("configs/convnext_atto_zoo.yaml")), "YAML named .pth")
        try expectModelRejected(try input("empty.onnx", Data()), "empty file")
        try expectModelRejected(inputs.path, "a folder")
        try expectModelRejected(inputs.appendingPathComponent("missing.onnx").path, "a missing file")
    }

    func testValidONNXThatIsNotAConvNeXtAndLyingDims() throws {
        for name in ["relu_not_convnext.onnx", "dims_longer_than_data.onnx", "negative_dim.onnx", "overflowing_dims.onnx",
                     "dangling_input.onnx"] {
            try expectModelRejected(Self.hostile(name), name)
        }
    }

    // MARK: - Tensors

    func testWrongLengthTensors() throws {
        for (name, count) in [("empty", 0), ("seven", 7), ("one-more-float", 3 * 64 * 64 * 4 + 4), ("half", 3 * 64 * 64 * 2)] {
            let tensor = try input("\(name).f32", Data(count: count))
            try expectCleanFailure(["infer", Self.tinyModel, "--input-tensor", tensor, "--output-tensor", "logits.f32"], name)
        }
        try expectCleanFailure(["infer", Self.tinyModel, "--input-tensor", inputs.appendingPathComponent("nope.f32").path,
                                "--output-tensor", "logits.f32"], "missing tensor")
        // The output path is a folder that does not exist: nothing written anywhere.
        let tensor = try input("in.f32", Data(count: 3 * 64 * 64 * 4))
        try expectCleanFailure(["infer", Self.tinyModel, "--input-tensor", tensor, "--output-tensor", "no/such/dir/logits.f32"], "bad output dir")
    }

    /// NaN inputs are not rejected: they propagate to NaN logits (documented in README, Limits).
    func testNaNInputGivesNaNLogits() throws {
        var floats = [Float](repeating: 0.25, count: 3 * 64 * 64)
        floats[100] = .nan
        let tensor = try input("nan.f32", floats.withUnsafeBufferPointer { Data(buffer: $0) })
        let r = try run(["infer", Self.tinyModel, "--input-tensor", tensor, "--output-tensor", "logits.f32"])
        XCTAssertFalse(r.signalled || r.timedOut, r.stderr)
        XCTAssertEqual(r.status, 0, r.stderr)
        let logits = try RawFloats.read(outputs.appendingPathComponent("logits.f32").path)
        XCTAssertEqual(logits.count, 10)
        XCTAssertTrue(logits.allSatisfy(\.isNaN), "\(logits)")
    }

    // MARK: - Images and frames

    func testCorruptAndUnsupportedImages() throws {
        var images = ["tiny.gif", "tiny.bmp", "truncated.jpg", "header_only.jpg", "truncated.png", "lying_size.png", "cmyk.jpg"]
            .map { (Self.hostile($0), $0) }
        images.append((try input("text.jpg", Data("not an image\n".utf8)), "text named .jpg"))
        images.append((try input("empty.png", Data()), "empty .png"))
        images.append((try input("onnx.png", try fixtureData("models/tiny_opset11.onnx").prefix(5000)), "ONNX named .png"))
        var png = try fixtureData("images/decode/rgba8.png")
        png[png.count / 2] ^= 0x5A
        images.append((try input("flipped.png", png), "bit-flipped PNG (CRC)"))
        for (path, label) in images {
            try expectCleanFailure(["preprocess", path, "--output-tensor", "t.f32", "--size", "64"], "preprocess \(label)")
            try expectCleanFailure(["preprocess", path, "--output-nv12", "f.nv12", "--size", "64"], "preprocess nv12 \(label)")
            try expectCleanFailure(["classify", Self.tinyModel, path], "classify \(label)")
        }
    }

    func testOddSizedAndShortNV12Frames() throws {
        let frame = try input("frame.nv12", Data(count: 64 * 64 * 3 / 2))
        // Sizes no frame can have are argument errors: exit 64, the flag named, the usage.
        for size in ["63x64", "64x63", "0x0", "64", "axb", "-64x64", "64x64x2", "99999999x2"] {
            let r = try run(["classify", Self.tinyModel, frame, "--nv12=\(size)"])
            XCTAssertFalse(r.timedOut || r.signalled, "--nv12 \(size): \(r.stderr)")
            XCTAssertEqual(r.status, 64, "--nv12 \(size): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: --nv12"), "--nv12 \(size): \(r.stderr)")
        }
        let short = try input("short.nv12", Data(count: 64 * 64))
        try expectCleanFailure(["classify", Self.tinyModel, short, "--nv12", "64x64"], "short frame")
        let long = try input("long.nv12", Data(count: 64 * 64 * 3 / 2 + 1))
        try expectCleanFailure(["classify", Self.tinyModel, long, "--nv12", "64x64"], "long frame")
        let empty = try input("empty.nv12", Data())
        try expectCleanFailure(["classify", Self.tinyModel, empty, "--nv12", "64x64"], "empty frame")
    }

    // MARK: - Compile

    /// Writes a config whose paths are relative to the inputs folder, with working_dir in the outputs folder.
    func config(_ body: String, name: String = "c.yaml") throws -> String {
        try input(name, Data(body.utf8))
    }

    func goodConfig(calDir: String = "cal", model: String = "model.onnx", extra: String = "") -> String {
        """
        model_parameters:
          onnx_model: \(model)
          working_dir: \(outputs.path)/out
          output_model_file_prefix: q
        input_parameters: {input_type_rt: featuremap}
        calibration_parameters: {cal_data_dir: \(calDir), calibration_type: max}
        \(extra)
        """
    }

    func testMalformedYAMLAndBadCalibrationData() throws {
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        let cal = inputs.appendingPathComponent("cal")
        try FileManager.default.createDirectory(at: cal, withIntermediateDirectories: true)
        _ = try input("cal/0.f32", Data(count: 3 * 64 * 64 * 4))

        let malformed: [(String, String)] = [
            ("unbalanced braces", "model_parameters: {onnx_model: model.onnx\n"),
            ("tab indentation", "model_parameters:\n\tonnx_model: model.onnx\n"),
            ("a list", "- 1\n- 2\n"),
            ("a scalar", "hello\n"),
            ("empty", ""),
            ("binary", String(decoding: try fixtureData("images/decode/gray8.png"), as: UTF8.self)),
            ("wrong types", "model_parameters: [1, 2]\ncalibration_parameters: 7\n"),
            ("duplicate keys", goodConfig() + "\nmodel_parameters: {onnx_model: x}\n"),
            ("anchors and aliases", "a: &a [*a]\n"),
            ("bad calibration type", goodConfig().replacingOccurrences(of: "calibration_type: max", with: "calibration_type: 3")),
            ("no model", "calibration_parameters: {cal_data_dir: cal}\n"),
        ]
        for (label, yaml) in malformed {
            let path = try config(yaml, name: "\(label.replacingOccurrences(of: " ", with: "_")).yaml")
            try expectCleanFailure(["compile", path], "YAML \(label)")
        }
        try expectCleanFailure(["compile", inputs.appendingPathComponent("missing.yaml").path], "missing YAML")

        // Model and calibration problems.
        try expectCleanFailure(["compile", try config(goodConfig(model: "missing.onnx"))], "missing model")
        try expectCleanFailure(["compile", try config(goodConfig(model: "cal/0.f32"))], "calibration tensor as model")
        try expectCleanFailure(["compile", try config(goodConfig(calDir: "nocal"))], "missing calibration folder")
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("emptycal"), withIntermediateDirectories: true)
        try expectCleanFailure(["compile", try config(goodConfig(calDir: "emptycal"))], "empty calibration folder")
        try expectCleanFailure(["compile", try config(goodConfig(calDir: "model.onnx"))], "calibration folder is a file")
        _ = try input("cal/1.f32", Data(count: 13))
        try expectCleanFailure(["compile", try config(goodConfig())], "short calibration file")
        try FileManager.default.removeItem(at: cal.appendingPathComponent("1.f32"))
        _ = try input("cal/2.f32", try fixtureData("images/decode/rgb444.jpg"))
        try expectCleanFailure(["compile", try config(goodConfig())], "image in a float32 calibration folder")
        // A right-sized calibration tensor holding NaN fails late (after the model loaded) and writes nothing.
        try FileManager.default.removeItem(at: cal.appendingPathComponent("2.f32"))
        var nan = Data(count: 3 * 64 * 64 * 4)
        nan.withUnsafeMutableBytes { $0.storeBytes(of: Float.nan.bitPattern.littleEndian, toByteOffset: 400, as: UInt32.self) }
        _ = try input("cal/3.f32", nan)
        try expectCleanFailure(["compile", try config(goodConfig())], "NaN in a calibration tensor")
    }

    // MARK: - Helpers

    /// The tiny ONNX model packed into a deployable file (written to the inputs folder, returned as bytes).
    func packedTinyModel() throws -> Data {
        let path = inputs.appendingPathComponent("tiny.cnxk").path
        let r = try CLI.run(["pack", Self.tinyModel, "--output", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}
