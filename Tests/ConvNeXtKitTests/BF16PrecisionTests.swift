import ConvNeXtKit
import Foundation
import XCTest

/// The bf16 precision of the float engine (issue 15's bars): atto vs the PyTorch golden (output
/// cosine >= 0.9995, same top-5), digits top-1 within 0.2 point of f32, and the refusal where the
/// CPU has no bf16 hardware. Runs on the AVX512-BF16 / AMX kernels where the CPU has them, else
/// through the portable bf16 kernels under an ISA cap of portable (said in the output).
final class BF16PrecisionTests: XCTestCase {
    private static var hasBF16Hardware: Bool { CPUFeatures.has(.avx512bf16) || CPUFeatures.has(.amx) }

    /// Runs `body` under the cap that makes bf16 run here (the best ISA, or portable), restoring the cap.
    private func withBF16Kernels(_ body: () throws -> Void) throws {
        let previous = CPUFeatures.cap
        defer { try? CPUFeatures.setCap(previous) }
        if Self.hasBF16Hardware {
            try CPUFeatures.setCap(CPUFeatures.available.last!)
        } else {
            print("bf16 runs through the portable kernels: this CPU (\(CPUFeatures.brand)) lacks avx512bf16 and amx")
            try CPUFeatures.setCap(.portable)
        }
        try body()
    }

    private func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    private func top(_ v: [Float], _ k: Int) -> [Int] { Array(v.indices.sorted { v[$0] > v[$1] }.prefix(k)) }

    func testBF16IsRefusedWithoutBF16HardwareUnlessTheCapIsPortable() throws {
        let model = try ModelLoader.load(path: Fixtures.path("models/tiny_opset11.onnx"))
        let previous = CPUFeatures.cap
        defer { try? CPUFeatures.setCap(previous) }
        try CPUFeatures.setCap(.avx2)
        XCTAssertThrowsError(try FastEngine(model: model, precision: .bf16)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("bf16 needs"), text)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)")
            if !Self.hasBF16Hardware { XCTAssertTrue(text.contains("--isa portable"), text) }
        }
        try CPUFeatures.setCap(.portable)
        let engine = try FastEngine(model: model, precision: .bf16)
        XCTAssertEqual(engine.name, "fast-bf16")
        XCTAssertTrue(engine.kernelNames.contains("bf16_gemm_4x16__portable"), "\(engine.kernelNames)")
        XCTAssertEqual(try FastEngine(model: model).name, "fast-f32")
    }

    func testTinyModelsInBF16StayCloseToPyTorch() throws {
        try withBF16Kernels {
            for name in Fixtures.tinyModels {
                let model = try ModelLoader.load(path: Fixtures.path("models/\(name).onnx"))
                let input = try Fixtures.golden(Fixtures.path("golden/\(name)/input.f32"), shape: model.config.inputShape)
                let golden = try Fixtures.golden(Fixtures.path("golden/\(name)/output.f32"), shape: [1, model.config.numClasses])
                let f32 = try FastEngine(model: model).infer(input).data
                let engine = try FastEngine(model: model, precision: .bf16)
                for threads in [1, 2] {
                    var out = [Float](repeating: .nan, count: model.config.numClasses)
                    input.data.withUnsafeBufferPointer { i in
                        out.withUnsafeMutableBufferPointer { engine.infer(i, logits: $0, threads: threads) }
                    }
                    let c = cosine(out, golden.data)
                    print(String(format: "%@ bf16 threads=%d: cosine vs PyTorch %.6f (f32: %.7f)", name, threads, c,
                                 cosine(f32, golden.data)))
                    XCTAssertGreaterThanOrEqual(c, 0.999, "\(name) bf16 threads=\(threads)")
                    // bf16 is not f32: the rounding must be visible (a bf16 path that ran f32 fails here).
                    XCTAssertNotEqual(out, f32, "\(name) bf16 differs from f32")
                }
            }
        }
    }

    func testAttoBF16MatchesPyTorchGoldenWithinTheBars() throws {
        let model = try ModelLoader.load(path: try Fixtures.shared("models/convnext_atto.onnx"))
        let dir = try Fixtures.shared("golden/convnext_atto")
        let input = try Fixtures.golden("\(dir)/input.f32", shape: [1, 3, 224, 224])
        let golden = try Fixtures.golden("\(dir)/output.f32", shape: [1, 1000])
        try withBF16Kernels {
            let engine = try FastEngine(model: model, precision: .bf16)
            let out = engine.infer(input).data
            let c = cosine(out, golden.data)
            print(String(format: "convnext_atto bf16 (%@): cosine vs PyTorch %.6f, top-5 %@ (PyTorch %@)",
                         engine.kernelNames.joined(separator: ", "), c, "\(top(out, 5))", "\(top(golden.data, 5))"))
            XCTAssertGreaterThanOrEqual(c, 0.9995)
            XCTAssertEqual(top(out, 5), top(golden.data, 5))
        }
    }

    /// The 540 validation PNGs of ../shared's digits set, normalised as timm does, with their labels.
    private func digitsValidation() throws -> [(Tensor, Int)] {
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        var out: [(Tensor, Int)] = []
        for label in 0..<10 {
            let dir = QuantDigitsTests.digits.appendingPathComponent("val/\(label)")
            for f in try FileManager.default.contentsOfDirectory(atPath: dir.path).filter({ $0.hasSuffix(".png") }).sorted() {
                let img = try TestPNGDecoder.decodeRGB([UInt8](try Data(contentsOf: dir.appendingPathComponent(f))))
                var data = [Float](repeating: 0, count: 3 * img.width * img.height)
                let plane = img.width * img.height
                for p in 0..<plane {
                    for c in 0..<3 { data[c * plane + p] = (Float(img.rgb[p * 3 + c]) / 255 - mean[c]) / std[c] }
                }
                out.append((Tensor(shape: [1, 3, img.height, img.width], data: data), label))
            }
        }
        return out
    }

    private func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? -1 }

    func testDigitsBF16TopOneWithinPointTwoOfF32() throws {
        let modelPath = QuantDigitsTests.digits.appendingPathComponent("convnext_digits.onnx").path
        guard FileManager.default.fileExists(atPath: modelPath) else { throw XCTSkip("shared digits fixture not present") }
        let model = try ModelLoader.load(path: modelPath)
        let validation = try digitsValidation()
        XCTAssertEqual(validation.count, 540)
        let f32 = try FastEngine(model: model)
        let f32Correct = validation.filter { argmax(f32.infer($0.0).data) == $0.1 }.count
        try withBF16Kernels {
            let engine = try FastEngine(model: model, precision: .bf16)
            var correct = 0, agree = 0
            for (image, label) in validation {
                let got = argmax(engine.infer(image).data)
                if got == label { correct += 1 }
                if got == argmax(f32.infer(image).data) { agree += 1 }
            }
            print("digits top-1: f32 \(f32Correct)/540, bf16 \(correct)/540 (\(engine.kernelNames.joined(separator: ", "))), agreement \(agree)/540")
            XCTAssertEqual(f32Correct, 526, "f32 top-1 should match PyTorch's 97.41%")
            XCTAssertLessThanOrEqual(abs(Double(correct - f32Correct)) / 540, 0.002)
        }
    }
}
