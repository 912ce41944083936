import Foundation
import XCTest

/// `--precision bf16` from the command line: the one-line refusal where the CPU has neither
/// AVX512-BF16 nor AMX-BF16, the portable kernels under `--isa portable`, `pack --precision`,
/// and `eval --compare-precision` (f32 vs bf16 of one model).
final class BF16PrecisionCLITests: XCTestCase {
    static let demo = CLI.repoRoot.appendingPathComponent("Sources/convnext/Resources/demo").path

    /// Whether `convnext cpu` lists a bf16 ISA among the features.
    private func hasBF16Hardware() throws -> Bool {
        let r = try CLI.run(["cpu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let features = r.stdout.split(separator: "\n").first { $0.hasPrefix("features:") } ?? ""
        return features.split(separator: " ").contains { $0 == "avx512bf16" || $0 == "amx" }
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

    func testBF16IsRefusedWithoutHardwareAndRunsPortableOnRequest() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = CLI.fixture("models/tiny_opset11.onnx")
        let input = CLI.fixture("golden/tiny_opset11/input.f32")
        let golden = try RawFloats.read(CLI.fixture("golden/tiny_opset11/output.f32"))
        let out = dir.appendingPathComponent("bf16.f32").path

        if try hasBF16Hardware() {
            print("this CPU has bf16 hardware: --precision bf16 runs natively, the refusal is not reachable here")
            let r = try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", out, "--precision", "bf16"])
            XCTAssertEqual(r.status, 0, r.stderr)
        } else {
            let r = try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", out, "--precision", "bf16"])
            CLI.assertOneLineFailure(r, mentions: "bf16 needs AVX512-BF16 or AMX-BF16; this CPU (")
            XCTAssertTrue(r.stderr.contains("has neither (use --isa portable"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output file after a refusal")
        }

        let r = try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", out, "--isa", "portable",
                             "--precision", "bf16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let bf16 = try RawFloats.read(out)
        let f32Path = dir.appendingPathComponent("f32.f32").path
        XCTAssertEqual(try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", f32Path]).status, 0)
        let f32 = try RawFloats.read(f32Path)
        XCTAssertEqual(bf16.count, golden.count)
        print(String(format: "tiny_opset11 bf16 (portable) cosine vs PyTorch %.6f", cosine(bf16, golden)))
        XCTAssertGreaterThanOrEqual(cosine(bf16, golden), 0.999)
        XCTAssertNotEqual(bf16, f32, "bf16 logits differ from f32")

        // A .cnxk packed with --precision bf16 runs in bf16 without the flag (same logits bit for bit).
        let packed = dir.appendingPathComponent("tiny_bf16.cnxk").path
        let p = try CLI.run(["pack", model, "--output", packed, "--precision", "bf16"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("precision bf16"), p.stdout)
        let fromFile = dir.appendingPathComponent("cnxk.f32").path
        let c = try CLI.run(["infer", packed, "--input-tensor", input, "--output-tensor", fromFile, "--isa", "portable"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try RawFloats.read(fromFile), bf16)
        // --precision f32 overrides what the file records.
        let asF32 = try CLI.run(["infer", packed, "--input-tensor", input, "--output-tensor", fromFile, "--precision", "f32"])
        XCTAssertEqual(asF32.status, 0, asF32.stderr)
        XCTAssertEqual(try RawFloats.read(fromFile), f32)

        let bad = try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", out, "--precision", "fp16"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("fp16"), bad.stderr)
        let reference = try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", out, "--isa", "portable",
                                     "--precision", "bf16", "--engine", "reference"])
        CLI.assertOneLineFailure(reference, mentions: "reference engine")
    }

    func testEvalComparesF32WithBF16OfTheSameModel() throws {
        let model = "\(Self.demo)/convnext_digits.onnx"
        let r = try CLI.run(["eval", model, "--compare", model, "--compare-precision", "bf16", "--isa", "portable",
                             "--data", "\(Self.demo)/val", "--limit", "40", "--size", "64", "--crop-pct", "1", "--json",
                             "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let models = try XCTUnwrap(json["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["engine"] as? String }, ["fast-f32", "fast-bf16"])
        let meanCosine = try XCTUnwrap(json["mean_cosine"] as? Double)
        print("digits eval f32 vs bf16 (portable), 40 images: mean cosine \(meanCosine), agreement \(json["agreement"] ?? "?")")
        XCTAssertGreaterThan(meanCosine, 0.999)
        XCTAssertLessThan(meanCosine, 1.0, "bf16 is not f32")
    }
}
