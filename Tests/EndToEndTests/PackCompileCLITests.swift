import ConvNeXtKit
import Foundation
import XCTest

/// `convnext pack` and `convnext compile` as a user runs them: exit codes, stderr, files written.
final class PackCompileCLITests: XCTestCase {
    private static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private var scratch = ""

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnxk-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        scratch = url.path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    /// The built `convnext` in the products folder of this test bundle (the test target depends on it).
    private func binary() throws -> URL {
        let bundle = Bundle(for: Self.self).bundleURL
        let candidates = [bundle.appendingPathComponent("convnext"), bundle.deletingLastPathComponent().appendingPathComponent("convnext")]
        guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw ConvNeXtError.io(path: candidates[0].path, reason: "the convnext binary was not built beside the tests")
        }
        return url
    }

    private struct Run { var status: Int32; var stdout: String; var stderr: String }

    private func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: scratch)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    private func fixture(_ relative: String) -> String { Self.repoRoot.appendingPathComponent("Fixtures/" + relative).path }

    func testPackThenInfoAndInferMatchTheONNXModel() throws {
        let onnx = fixture("models/tiny_opset11.onnx")
        let packed = try run(["pack", onnx, "--output", "tiny.cnxk"])
        XCTAssertEqual(packed.status, 0, packed.stderr)
        XCTAssertTrue(packed.stdout.hasPrefix("wrote tiny.cnxk"), packed.stdout)

        let info = try run(["info", "tiny.cnxk", "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let onnxInfo = try run(["info", onnx, "--json"])
        XCTAssertEqual(info.stdout.replacingOccurrences(of: "\"cnxk\"", with: "\"onnx\"").replacingOccurrences(of: "tiny.cnxk", with: onnx),
                       onnxInfo.stdout)

        let input = fixture("golden/tiny_opset11/input.f32")
        XCTAssertEqual(try run(["infer", "tiny.cnxk", "--input-tensor", input, "--output-tensor", "a.f32"]).status, 0)
        XCTAssertEqual(try run(["infer", onnx, "--input-tensor", input, "--output-tensor", "b.f32"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/a.f32")), try Data(contentsOf: URL(fileURLWithPath: scratch + "/b.f32")))
    }

    func testDamagedPackedModelIsRefused() throws {
        XCTAssertEqual(try run(["pack", fixture("models/tiny_opset17.onnx"), "-o", "m.cnxk"]).status, 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: scratch + "/m.cnxk"))
        bytes[bytes.count / 2] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: scratch + "/flipped.cnxk"))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: scratch + "/cut.cnxk"))
        let flipped = try run(["info", "flipped.cnxk"])
        XCTAssertEqual(flipped.status, 1)
        XCTAssertEqual(flipped.stderr, "error: flipped.cnxk: not a valid model: checksum mismatch: the file is corrupt (SHA-256 over the file does not match the one stored in its footer)\n")
        let cut = try run(["info", "cut.cnxk"])
        XCTAssertEqual(cut.status, 1)
        XCTAssertEqual(cut.stderr, "error: cut.cnxk: not a valid model: truncated: the header records \(bytes.count) bytes, the file has \(bytes.count - 100)\n")
    }

    func testPackWithConfigStoresItsPreprocessing() throws {
        let yaml = """
            model_parameters: {onnx_model: unused.onnx}
            input_parameters:
              input_type_rt: nv12
              input_type_train: rgb
              input_space_and_range: bt601_video
              norm_type: data_mean_and_scale
              mean_value: 123.675 116.28 103.53
              scale_value: 0.01712475 0.017507 0.01742919
            """
        try yaml.write(toFile: scratch + "/in.yaml", atomically: true, encoding: .utf8)
        let r = try run(["pack", fixture("models/tiny_opset11.onnx"), "--output", "nv12.cnxk", "--config", "in.yaml"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("input nv12"), r.stdout)
        let file = try DeployableModel.read(path: scratch + "/nv12.cnxk")
        XCTAssertEqual(file.metadata.preprocessing.colourRange, .bt601Video)
        XCTAssertEqual(file.metadata.preprocessing.mean, [123.675, 116.28, 103.53])
    }

    func testCompileValidatesAndWritesNothingOnError() throws {
        try FileManager.default.copyItem(atPath: fixture("models/tiny_opset11.onnx"), toPath: scratch + "/convnext_femto.onnx")
        try FileManager.default.createDirectory(atPath: scratch + "/cal", withIntermediateDirectories: true)
        for i in 0..<2 { try Data(count: 3 * 64 * 64 * 4).write(to: URL(fileURLWithPath: scratch + "/cal/\(i).f32")) }
        let yaml = """
            model_parameters:
              onnx_model: convnext_femto.onnx
              working_dir: out
              output_model_file_prefix: q
              node_info: {"/stages/stages.3/downsample/downsample.1/Conv": {ON: BPU, InputType: int16}, "nowhere": {ON: CPU}}
              mystery: 1
            input_parameters: {input_type_rt: featuremap}
            calibration_parameters: {cal_data_dir: cal, calibration_type: max}
            """
        try yaml.write(toFile: scratch + "/c.yaml", atomically: true, encoding: .utf8)
        let r = try run(["compile", "c.yaml"])
        XCTAssertEqual(r.status, 1)
        // A failed compile prints only its error on stderr; progress and warnings go to stdout.
        XCTAssertTrue(r.stdout.contains("warning: c.yaml: line 6: model_parameters.mystery: unknown key, ignored"), r.stdout)
        XCTAssertTrue(r.stdout.contains("warning: c.yaml: line 5: model_parameters.node_info: 1 node name ignored"), r.stdout)
        XCTAssertTrue(r.stdout.contains("says femto but the model is a custom ConvNeXt"), r.stdout)
        XCTAssertTrue(r.stdout.contains("calibration data: 2/2"), r.stdout)
        XCTAssertEqual(r.stderr, "error: the int8 quantizer is not part of this build; the config and calibration data are valid (nothing was written)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out"))

        // Errors in the config: one line naming key and line, exit 1.
        try yaml.replacingOccurrences(of: "calibration_type: max", with: "calibration_type: maximum").write(toFile: scratch + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try run(["compile", "bad.yaml"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasSuffix("error: bad.yaml: line 8: calibration_parameters.calibration_type: 'maximum' is not one of default, max, kl, mix, skip, load\n"), bad.stderr)

        try Data(count: 7).write(to: URL(fileURLWithPath: scratch + "/cal/2.f32"))
        let short = try run(["compile", "c.yaml", "--working-dir", "out2"])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.hasSuffix("error: \(scratch)/cal/2.f32: calibration file holds 7 bytes, expected 49152 (float32 NCHW 1x3x64x64)\n"), short.stderr)
        let missing = try run(["compile", "c.yaml", "--cal-data-dir", "nope"])
        XCTAssertTrue(missing.stderr.hasSuffix("error: c.yaml: --cal-data-dir: calibration folder \(scratch)/nope does not exist\n"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out2"))
    }
}
