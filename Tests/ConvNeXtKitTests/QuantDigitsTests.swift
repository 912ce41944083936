import Foundation
import XCTest
import ConvNeXtKit

/// The digits ConvNeXt (trained on real data): calibrate on 100 calibration images, compare int8
/// and float top-1 on the 540 validation images. Reads the PNGs from ../shared when present.
final class QuantDigitsTests: XCTestCase {
    static let digits = QuantAttoTests.shared.appendingPathComponent("digits")

    /// NCHW tensors normalised as timm does (x/255, ImageNet mean/std), with their class labels.
    func load(_ split: String, perClass: Int?) throws -> [(Tensor, Int)] {
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        var out: [(Tensor, Int)] = []
        for label in 0..<10 {
            let dir = Self.digits.appendingPathComponent("\(split)/\(label)")
            var files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".png") }.sorted()
            if let n = perClass { files = Array(files.prefix(n)) }
            for f in files {
                let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(f)))
                let img = try TestPNGDecoder.decodeRGB(bytes)
                XCTAssertEqual(img.width, 64)
                XCTAssertEqual(img.height, 64)
                var data = [Float](repeating: 0, count: 3 * 64 * 64)
                for p in 0..<(64 * 64) {
                    for c in 0..<3 { data[c * 4096 + p] = (Float(img.rgb[p * 3 + c]) / 255 - mean[c]) / std[c] }
                }
                out.append((Tensor(shape: [1, 3, 64, 64], data: data), label))
            }
        }
        return out
    }

    func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? -1 }

    func testDigitsInt8TopOneWithinHalfAPointOfFloat() throws {
        let modelPath = Self.digits.appendingPathComponent("convnext_digits.onnx").path
        guard FileManager.default.fileExists(atPath: modelPath) else { throw XCTSkip("shared digits fixture not present") }
        let model = try ModelLoader.load(path: modelPath)
        let calibration = try load("calibration", perClass: 10).map(\.0)
        let validation = try load("val", perClass: nil)
        XCTAssertEqual(calibration.count, 100)
        XCTAssertEqual(validation.count, 540)

        var options = QuantizationOptions()
        options.threads = 2
        let (q, report) = try Quantizer.quantize(model: model, calibration: calibration, options: options)
        print(report.text)
        let reference = ReferenceForward(model: model)
        let engine = try Int8Engine(model: q)
        var floatCorrect = 0, int8Correct = 0, agree = 0
        for (image, label) in validation {
            let f = argmax(reference.run(image).data), i = argmax(engine.infer(image).data)
            if f == label { floatCorrect += 1 }
            if i == label { int8Correct += 1 }
            if f == i { agree += 1 }
        }
        let floatTop1 = Double(floatCorrect) / 540, int8Top1 = Double(int8Correct) / 540
        print(String(format: "digits top-1: float %.2f%% (%d/540), int8 %.2f%% (%d/540), agreement %d/540, method %@",
                     floatTop1 * 100, floatCorrect, int8Top1 * 100, int8Correct, agree, q.calibration.method))
        XCTAssertEqual(floatCorrect, 526, "float top-1 should match PyTorch's 97.41%")
        XCTAssertLessThanOrEqual(abs(int8Top1 - floatTop1), 0.005)

        // The same quantized model on every ISA this CPU has: the int8 GEMMs are bit-identical
        // across ISAs, the float depthwise differs in rounding only, so the counts must agree.
        try ISAConformance.forEachISA { isa in
            let engine = try Int8Engine(model: q)
            let correct = validation.filter { argmax(engine.infer($0.0).data) == $0.1 }.count
            print("digits int8 on \(isa.rawValue) (\(engine.kernelNames.joined(separator: ", "))): \(correct)/540")
            XCTAssertEqual(correct, int8Correct, "int8 top-1 on \(isa.rawValue)")
        }
    }
}
