import ConvNeXtKit
import Foundation
import XCTest

/// The fast engine against PyTorch goldens and the reference forward pass.
final class FastEngineTests: XCTestCase {
    private func logits(_ engine: some InferenceEngine, _ input: Tensor, threads: Int) -> [Float] {
        engine.infer(input, threads: threads).data
    }

    func testTinyModelsMatchPyTorchWithOneAndTwoThreads() throws {
        for name in Fixtures.tinyModels {
            let model = try ModelLoader.load(path: Fixtures.path("models/\(name).onnx"))
            let engine = try FastEngine(model: model)
            let input = try Fixtures.golden(Fixtures.path("golden/\(name)/input.f32"), shape: model.config.inputShape)
            let golden = try Fixtures.golden(Fixtures.path("golden/\(name)/output.f32"), shape: [1, model.config.numClasses])
            let reference = ReferenceForward(model: model).run(input).data
            for threads in [1, 2, 3] {
                let got = logits(engine, input, threads: threads)
                Compare.assertLogits(got, golden.data, tolerance: 1e-4, "\(name) threads=\(threads) vs PyTorch")
                Compare.assertLogits(got, reference, tolerance: 1e-4, "\(name) threads=\(threads) vs reference")
            }
        }
    }

    func testAttoMatchesPyTorchWithOneAndTwoThreads() throws {
        let model = try ModelLoader.load(path: try Fixtures.shared("models/convnext_atto.onnx"))
        let dir = try Fixtures.shared("golden/convnext_atto")
        let input = try Fixtures.golden("\(dir)/input.f32", shape: [1, 3, 224, 224])
        let golden = try Fixtures.golden("\(dir)/output.f32", shape: [1, 1000])
        let engine = try FastEngine(model: model)
        for threads in [1, 2] {
            Compare.assertLogits(logits(engine, input, threads: threads), golden.data, tolerance: 1e-3,
                                 "convnext_atto threads=\(threads)")
        }
    }

    func testRandomVariantsMatchReference() throws {
        for variant in ["atto", "femto", "tiny"] {
            let spec = try XCTUnwrap(ConvNeXtSpec.named(variant))
            let model = ConvNeXtModel.random(config: spec.config(numClasses: 37, inputSize: 64), seed: 7)
            var rng = SeededGenerator(seed: 3)
            let input = Tensor(shape: model.config.inputShape, data: (0..<model.config.inputCount).map { _ in rng.normal() })
            let reference = ReferenceForward(model: model).run(input).data
            let engine = try FastEngine(model: model)
            for threads in [1, 2] {
                Compare.assertLogits(logits(engine, input, threads: threads), reference, tolerance: 1e-4,
                                     "random \(variant) 64x64 threads=\(threads)")
            }
        }
    }

    func testOddSizesAndChannelCountsMatchReference() throws {
        // 96x80 input gives 3x2 pixels at stage 3; 24/48/72/88 channels exercise pad lanes.
        let config = ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [24, 48, 72, 88], blockForm: .convMLP,
                                    numClasses: 5, inputHeight: 96, inputWidth: 80)
        let model = ConvNeXtModel.random(config: config, seed: 11)
        var rng = SeededGenerator(seed: 5)
        let input = Tensor(shape: config.inputShape, data: (0..<config.inputCount).map { _ in rng.normal() })
        let reference = ReferenceForward(model: model).run(input).data
        let engine = try FastEngine(model: model)
        for threads in [1, 2, 4] {
            Compare.assertLogits(logits(engine, input, threads: threads), reference, tolerance: 1e-4,
                                 "odd sizes threads=\(threads)")
        }
    }

    func testConcurrentInferencesEqualSequentialResults() throws {
        let spec = try XCTUnwrap(ConvNeXtSpec.named("atto"))
        let model = ConvNeXtModel.random(config: spec.config(numClasses: 100, inputSize: 64), seed: 1)
        let engine = try FastEngine(model: model)
        var rng = SeededGenerator(seed: 9)
        let inputs = (0..<8).map { _ in
            Tensor(shape: model.config.inputShape, data: (0..<model.config.inputCount).map { _ in rng.normal() })
        }
        let threadsFor: @Sendable (Int) -> Int = { i in i % 3 == 2 ? 2 : 1 }
        let sequential = inputs.indices.map { logits(engine, inputs[$0], threads: threadsFor($0)) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [Int: [Float]] = [:]
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: inputs.count * 3) { job in
            let i = job % inputs.count
            let out = engine.infer(inputs[i], threads: threadsFor(i)).data
            results.lock.lock()
            if let previous = results.values[i], previous != out { results.values[i] = [] } else { results.values[i] = out }
            results.lock.unlock()
        }
        for i in inputs.indices {
            XCTAssertEqual(results.values[i], sequential[i], "input \(i): concurrent result differs from sequential")
        }
    }

    func testProfileCoversEveryComputeKind() throws {
        let model = try ModelLoader.load(path: Fixtures.path("models/tiny_opset11.onnx"))
        let engine = try FastEngine(model: model)
        let input = [Float](repeating: 0.25, count: model.config.inputCount)
        var out = [Float](repeating: 0, count: model.config.numClasses)
        let profile = input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { engine.inferProfiled(i, logits: $0, threads: 1) }
        }
        for kind in LayerKind.allCases where kind != .sync {
            XCTAssertGreaterThan(profile[kind], 0, "\(kind) has no time")
        }
        let plain = engine.infer(Tensor(shape: model.config.inputShape, data: input)).data
        XCTAssertEqual(out, plain, "profiling changes results")
    }

    /// `bench --kernels`' layer table: fc1 and fc2 of every stage, for the float and the int8
    /// program, each with an enabled kernel of the table and a positive rate (the rate itself is a
    /// benchmark figure, not asserted); with no peak measured, the line says so.
    func testPointwiseReportListsEveryStageFcWithItsKernel() throws {
        let model = try ModelLoader.load(path: Fixtures.path("models/tiny_opset11.onnx"))
        let engines: [any LayerProfiling] = [try FastEngine(model: model), try Int8Engine(model: QuantEngineTests.quantizedModel())]
        for engine in engines {
            let lines = engine.pointwiseReport(peaks: [:]).split(separator: "\n").map(String.init)
            let layers = lines.filter { $0.hasPrefix("s") && $0.contains(" fc") }
            XCTAssertEqual(layers.count, 2 * engine.config.depths.count, "\(engine.name): \(lines)")
            for (i, line) in layers.enumerated() {
                XCTAssertTrue(line.hasPrefix("s\(i / 2) fc\(i % 2 + 1)"), line)
                XCTAssertTrue(KernelTable.all.contains { $0.enabled && line.contains($0.name) }, "\(engine.name): no kernel in \(line)")
                let rate = line.split(separator: " ").compactMap { Double($0) }.last ?? 0
                XCTAssertGreaterThan(rate, 0, line)
                XCTAssertTrue(line.contains("no peak loop"), line)
            }
        }
    }

    func testUnsupportedShapesThrowTypedErrors() throws {
        let spec = try XCTUnwrap(ConvNeXtSpec.named("atto"))
        var model = ConvNeXtModel.random(config: spec.config(numClasses: 10, inputSize: 64), seed: 2)
        model.stem.conv.padding = 1
        XCTAssertThrowsError(try FastEngine(model: model)) { error in
            guard case ConvNeXtError.unsupportedModel = error else { return XCTFail("wrong error \(error)") }
        }
    }
}
