import Foundation
import XCTest

/// `convnext compile` end to end: the acceptance runs through the CLI.
final class QuantizeCLITests: XCTestCase {
    static let demo = CLI.repoRoot.appendingPathComponent("Sources/convnext/Resources/demo").path

    private func digitsYAML(inputType: String, workingDir: String) -> String {
        """
        model_parameters:
          onnx_model: '\(Self.demo)/convnext_digits.onnx'
          working_dir: '\(workingDir)'
          output_model_file_prefix: 'digits_\(inputType)'
        input_parameters:
          input_type_rt: '\(inputType)'
          input_type_train: 'rgb'
          input_layout_train: 'NCHW'
          input_shape: '1x3x64x64'
          norm_type: 'data_mean_and_scale'
          mean_value: '123.675 116.28 103.53'
          scale_value: '0.01712475 0.017507 0.01742919'
        calibration_parameters:
          cal_data_dir: '\(Self.demo)/calibration'
          calibration_type: 'default'
        """
    }

    /// Digits: int8 top-1 on the 540 validation images within 0.5 points of float (97.41%),
    /// calibrated on the 100 bundled calibration images; RGB and NV12 input.
    func testDigitsInt8MatchesFloatWithinHalfAPoint() throws {
        let val = try CLI.shared("digits/val")
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for inputType in ["rgb", "nv12"] {
            let yaml = dir.appendingPathComponent("\(inputType).yaml")
            try digitsYAML(inputType: inputType, workingDir: dir.appendingPathComponent("out").path).write(to: yaml, atomically: true, encoding: .utf8)
            let c = try CLI.run(["compile", yaml.path, "--crop-pct", "1"])
            XCTAssertEqual(c.status, 0, c.stderr)
            let q = dir.appendingPathComponent("out/digits_\(inputType).cnxk").path
            let r = try CLI.run(["eval", "\(Self.demo)/convnext_digits.onnx", "--compare", q, "--data", val,
                                 "--size", "64", "--crop-pct", "1", "--json", "--no-progress"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let models = try XCTUnwrap(json["models"] as? [[String: Any]])
            let float = try XCTUnwrap(models[0]["top1"] as? Double), int8 = try XCTUnwrap(models[1]["top1"] as? Double)
            XCTAssertEqual(models[0]["correct_top1"] as? Int, 526)
            // NV12 input loses colour resolution (one chroma sample per 2x2): a real input change, allowed 1 point.
            XCTAssertLessThanOrEqual(abs(float - int8), inputType == "rgb" ? 0.005 : 0.01, "\(inputType): float \(float) int8 \(int8)")
            XCTAssertGreaterThan(json["mean_cosine"] as? Double ?? 0, 0.99)
        }
    }

    /// The zoo's own atto YAML (NV12, 8 int16 node_info entries, the femto slip) compiles, and
    /// classify runs the result on a JPEG.
    func testZooFormAttoYAMLCompilesAndClassifies() throws {
        let atto = try CLI.shared("models/convnext_atto.onnx")
        let jpeg = try CLI.shared("images/chelsea.jpg")
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cal = dir.appendingPathComponent("cal")
        try FileManager.default.createDirectory(at: cal, withIntermediateDirectories: true)
        var rng = UInt64(12345)
        for i in 0..<4 {
            var bytes = Data(count: 3 * 224 * 224 * 4)
            bytes.withUnsafeMutableBytes { raw in
                for k in 0..<(3 * 224 * 224) {
                    rng = rng &* 6364136223846793005 &+ 1442695040888963407
                    raw.storeBytes(of: Float(rng >> 56).bitPattern.littleEndian, toByteOffset: k * 4, as: UInt32.self)
                }
            }
            try bytes.write(to: cal.appendingPathComponent("\(i).f32"))
        }
        let out = dir.appendingPathComponent("out")
        let c = try CLI.run(["compile", CLI.fixture("configs/convnext_atto_zoo.yaml"), "--model", atto,
                             "--cal-data-dir", cal.path, "--working-dir", out.path, "--calibration-type", "max"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let model = out.appendingPathComponent("ConvNeXt_atto_224x224_nv12.cnxk").path
        let report = try String(contentsOfFile: out.appendingPathComponent("ConvNeXt_atto_224x224_nv12_quant_report.txt").path, encoding: .utf8)
        XCTAssertTrue(report.contains("int16"), "node_info int16 overrides appear in the report")
        let r = try CLI.run(["classify", model, jpeg, "--top", "3", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"probability\""), r.stdout)
    }
}
