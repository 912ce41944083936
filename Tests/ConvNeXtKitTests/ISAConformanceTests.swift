import ConvNeXtKit
import Foundation
import XCTest

/// Runs a body once per ISA this CPU has, with the kernel cap set to it, and restores the default.
enum ISAConformance {
    static func forEachISA(_ body: (ISA) throws -> Void) throws {
        let best = CPUFeatures.cap
        defer { try? CPUFeatures.setCap(best) }
        let isas = CPUFeatures.available
        let missing = ISA.allCases.filter { !isas.contains($0) }
        print("ISA conformance on \(CPUFeatures.brand): testing \(isas.map(\.rawValue).joined(separator: ", "));"
              + " not testable here (CPU lacks them): \(missing.map(\.rawValue).joined(separator: ", "))")
        for isa in isas {
            try CPUFeatures.setCap(isa)
            try body(isa)
        }
    }
}

/// The engines on every ISA the machine has, against the PyTorch goldens (same tolerances as the
/// default-ISA tests) and against each other.
final class ISAConformanceTests: XCTestCase {
    func testCapRefusesISAsTheCPULacksAndChangesTheChoice() throws {
        let best = CPUFeatures.cap
        defer { try? CPUFeatures.setCap(best) }
        for isa in ISA.allCases where !CPUFeatures.has(isa) {
            XCTAssertThrowsError(try CPUFeatures.setCap(isa)) { XCTAssertTrue("\($0)".contains(isa.rawValue)) }
        }
        XCTAssertThrowsError(try CPUFeatures.setCap(named: "sse9"))
        try CPUFeatures.setCap(.portable)
        for op in KernelOp.allCases { XCTAssertEqual(KernelTable.best(op).isa, .portable, "\(op) under a portable cap") }
    }

    func testFloatEngineMatchesPyTorchOnEveryISA() throws {
        let atto = try? Fixtures.shared("models/convnext_atto.onnx")
        if atto == nil { print("SKIP convnext_atto on every ISA: ../shared/fixtures not present") }
        try ISAConformance.forEachISA { isa in
            for name in Fixtures.tinyModels {
                let model = try ModelLoader.load(path: Fixtures.path("models/\(name).onnx"))
                let engine = try FastEngine(model: model)
                let input = try Fixtures.golden(Fixtures.path("golden/\(name)/input.f32"), shape: model.config.inputShape)
                let golden = try Fixtures.golden(Fixtures.path("golden/\(name)/output.f32"), shape: [1, model.config.numClasses])
                for threads in [1, 2] {
                    Compare.assertLogits(engine.infer(input, threads: threads).data, golden.data, tolerance: 1e-4,
                                         "\(name) on \(isa.rawValue), threads=\(threads)")
                }
            }
            if let atto {
                let model = try ModelLoader.load(path: atto)
                let dir = try Fixtures.shared("golden/convnext_atto")
                let input = try Fixtures.golden("\(dir)/input.f32", shape: [1, 3, 224, 224])
                let golden = try Fixtures.golden("\(dir)/output.f32", shape: [1, 1000])
                let engine = try FastEngine(model: model)
                print("convnext_atto on \(isa.rawValue): \(engine.kernelNames.joined(separator: ", "))")
                Compare.assertLogits(engine.infer(input, threads: 2).data, golden.data, tolerance: 1e-3,
                                     "convnext_atto on \(isa.rawValue)")
            }
        }
    }

    func testInt8EngineAgreesAcrossISAs() throws {
        let q = try QuantEngineTests.quantizedModel()
        let images = QuantEngineTests.images(3, seed: 11)
        var baseline: [[Float]]?
        try ISAConformance.forEachISA { isa in
            let engine = try Int8Engine(model: q)
            let outputs = images.map { engine.infer($0, threads: 2).data }
            if let baseline {
                for (got, want) in zip(outputs, baseline) {
                    // Same integer GEMMs; the float depthwise may round differently, which can move
                    // a value across a quantisation step: compare as logits.
                    Compare.assertLogits(got, want, tolerance: 2e-2, "int8 on \(isa.rawValue) vs portable")
                }
            } else {
                baseline = outputs
            }
        }
    }
}
