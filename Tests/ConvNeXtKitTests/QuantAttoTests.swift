import Foundation
import XCTest
import ConvNeXtKit

/// convnext_atto calibrated on 32 seeded random-normal tensors (calibration_type default):
/// output cosine similarity vs the PyTorch golden on the fixture input.
final class QuantAttoTests: XCTestCase {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    func testAttoInt8OutputCosineVsPyTorchGolden() throws {
        let modelPath = Self.shared.appendingPathComponent("models/convnext_atto.onnx").path
        let golden = Self.shared.appendingPathComponent("golden/convnext_atto")
        guard FileManager.default.fileExists(atPath: modelPath) else { throw XCTSkip("shared atto fixture not present") }
        let model = try ModelLoader.load(path: modelPath)
        let input = try Tensor.readRaw(path: golden.appendingPathComponent("input.f32").path, shape: model.config.inputShape)
        let expected = try Tensor.readRaw(path: golden.appendingPathComponent("output.f32").path, shape: [1, model.config.numClasses])
        var rng = SeededGenerator(seed: 2024)
        let calibration = (0..<32).map { _ in
            Tensor(shape: model.config.inputShape, data: (0..<model.config.inputCount).map { _ in rng.normal() })
        }
        var options = QuantizationOptions()
        options.threads = 2
        options.reportSamples = 2
        let start = Date()
        let (q, report) = try Quantizer.quantize(model: model, calibration: calibration, options: options)
        print(report.text)
        print("atto quantisation took \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        let engine = try Int8Engine(model: q)
        let out = engine.infer(input, threads: 1)
        let cosine = cosineSimilarity(out.data, expected.data)
        print("atto int8 output cosine vs PyTorch golden: \(String(format: "%.6f", cosine)); kernels \(engine.kernelNames)")
        XCTAssertGreaterThanOrEqual(cosine, 0.999)
        XCTAssertEqual(out.data.indices.max { out.data[$0] < out.data[$1] }, expected.data.indices.max { expected.data[$0] < expected.data[$1] })
        XCTAssertTrue(["max", "percentile", "kl"].contains(q.calibration.method))
    }
}

/// The repository's tiny fixtures (both block forms): int8 vs the PyTorch golden.
final class QuantTinyFixtureTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    func testTinyModelsOfBothBlockFormsQuantize() throws {
        for name in ["tiny_opset11", "tiny_linear_opset11"] {
            let model = try ModelLoader.load(path: Self.fixtures.appendingPathComponent("models/\(name).onnx").path)
            let input = try Tensor.readRaw(path: Self.fixtures.appendingPathComponent("golden/\(name)/input.f32").path, shape: model.config.inputShape)
            let golden = try Tensor.readRaw(path: Self.fixtures.appendingPathComponent("golden/\(name)/output.f32").path,
                                            shape: [1, model.config.numClasses])
            var rng = SeededGenerator(seed: 5)
            let calibration = (0..<16).map { _ in Tensor(shape: model.config.inputShape, data: (0..<model.config.inputCount).map { _ in rng.normal() }) }
            var options = QuantizationOptions()
            options.reportSamples = 1
            let (q, report) = try Quantizer.quantize(model: model, calibration: calibration, options: options)
            let out = try Int8Engine(model: q).infer(input)
            let cosine = cosineSimilarity(out.data, golden.data)
            print("\(name): int8 cosine vs golden \(String(format: "%.6f", cosine)), method \(report.method), raised \(report.raisedPoints)")
            XCTAssertGreaterThan(cosine, 0.999, name)
            XCTAssertFalse(report.rows.isEmpty)
        }
    }
}
