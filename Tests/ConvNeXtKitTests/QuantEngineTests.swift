import Foundation
import XCTest
import ConvNeXtKit

/// Int8Engine on small random models: float mode vs the reference, int8 vs the plain int8 oracle,
/// VNNI vs portable, concurrency, serialisation, overrides.
final class QuantEngineTests: XCTestCase {
    /// Channels that are not multiples of 16 exercise the padding; 5x5 input to stage 3 the remainders.
    static let config = ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [8, 24, 40, 56], blockForm: .convMLP,
                                       numClasses: 13, inputHeight: 80, inputWidth: 80)
    static let model = ConvNeXtModel.random(config: config, seed: 7)

    static func images(_ n: Int, seed: UInt64) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Tensor(shape: config.inputShape, data: (0..<config.inputCount).map { _ in rng.normal() }) }
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testFloatModeMatchesReferenceLayerByLayer() throws {
        let engine = try Int8Engine(model: QuantizedModel(floatModel: Self.model))
        let image = Self.images(1, seed: 1)[0]
        var reference: [LayerID: Tensor] = [:]
        let expected = ReferenceForward(model: Self.model).run(image) { reference[$0] = $1 }
        var seen = 0
        let got = engine.run(image, threads: 2) { id, t in
            guard let r = reference[id] else { return XCTFail("engine emitted \(id) the reference does not have") }
            XCTAssertEqual(r.shape, t.shape, "\(id)")
            let scale = r.data.map(abs).max() ?? 1
            XCTAssertLessThanOrEqual(self.maxAbsDiff(r.data, t.data), 1e-4 * max(scale, 1), "\(id)")
            seen += 1
        }
        XCTAssertGreaterThan(seen, 20)
        let scale = expected.data.map(abs).max()!
        XCTAssertLessThanOrEqual(maxAbsDiff(got.data, expected.data), 1e-4 * scale)
        // Same thread count, same chunks: bit-identical (other counts cut rows into other GEMM tiles).
        XCTAssertEqual(engine.infer(image, threads: 2).data, got.data)
        XCTAssertLessThanOrEqual(maxAbsDiff(engine.infer(image, threads: 1).data, got.data), 1e-5 * scale)
    }

    /// A quantised model with int8 everywhere except a few int16 and float points.
    static func quantizedModel() throws -> QuantizedModel {
        var options = QuantizationOptions()
        options.calibrationType = .max
        options.automaticPrecision = false
        options.reportSamples = 1
        options.precisionOverrides = [.fc1(stage: 1, block: 0): .int16, .gelu(stage: 2, block: 1): .int16,
                                      .downsampleConv(stage: 2): .int16, .fc2(stage: 0, block: 0): .float]
        return try Quantizer.quantize(model: model, calibration: images(4, seed: 2), options: options).0
    }

    func testInt8EngineMatchesPlainInt8Reference() throws {
        let q = try Self.quantizedModel()
        let engine = try Int8Engine(model: q)
        let oracle = Int8ReferenceForward(model: q)
        let float = ReferenceForward(model: Self.model)
        // Equal within rounding: a value sitting on a rounding boundary may land one level apart
        // (the oracle's LayerNorm and GELU are Double); one such step in the classifier's input moves
        // a logit by at most scale x max|weight|. Allow three, and require far less than int8 vs float.
        let head = q.head
        let maxWeight = head.effectiveWeights.map(abs).max()!
        let step = head.input.scale * maxWeight
        var exact = 0
        for image in Self.images(6, seed: 3) {
            let a = engine.infer(image).data, b = oracle.run(image).data, f = float.run(image).data
            let quantError = maxAbsDiff(a, f)
            XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 3 * step + 1e-5 * b.map(abs).max()!)
            XCTAssertLessThan(maxAbsDiff(a, b), quantError / 4)
            XCTAssertGreaterThan(cosineSimilarity(a, b), 0.9999)
            if maxAbsDiff(a, b) <= 1e-5 * b.map(abs).max()! { exact += 1 }
        }
        // Most images meet no boundary at all.
        XCTAssertGreaterThanOrEqual(exact, 3)
    }

    func testPortableAndVNNIEnginesAreIdentical() throws {
        let q = try Self.quantizedModel()
        let fast = try Int8Engine(model: q), portable = try Int8Engine(model: q, kernels: .portable)
        XCTAssertTrue(portable.kernelNames.allSatisfy { !$0.contains("vnni") })
        for image in Self.images(2, seed: 4) {
            XCTAssertEqual(fast.infer(image, threads: 2).data, portable.infer(image, threads: 1).data)
        }
    }

    func testProfiledInferenceGivesTheSameLogitsAndTimesEveryLayerKind() throws {
        let engine = try Int8Engine(model: try Self.quantizedModel())
        for (threads, image) in zip([1, 2], Self.images(2, seed: 6)) {
            var logits = [Float](repeating: 0, count: engine.config.numClasses)
            let profile = image.data.withUnsafeBufferPointer { inp in
                logits.withUnsafeMutableBufferPointer { engine.inferProfiled(inp, logits: $0, threads: threads) }
            }
            XCTAssertEqual(logits, engine.infer(image, threads: threads).data, "threads=\(threads)")
            for kind in [LayerKind.stem, .dwconv, .norm, .pointwise1, .pointwise2, .downsample, .head] {
                XCTAssertGreaterThan(profile[kind], 0, "\(kind) threads=\(threads)")
            }
            XCTAssertLessThan(profile.total, 10, "seconds for one tiny inference")
        }
        // Profiling one inference leaves the next unprofiled one alone.
        XCTAssertEqual(engine.infer(Self.images(1, seed: 6)[0]).data, engine.infer(Self.images(1, seed: 6)[0]).data)
    }

    func testConcurrentInferencesMatchSequential() throws {
        let engine = try Int8Engine(model: try Self.quantizedModel())
        let inputs = Self.images(6, seed: 5)
        let expected = inputs.map { engine.infer($0).data }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [Int: [Float]] = [:]
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 48) { i in
            let out = engine.infer(inputs[i % inputs.count], threads: 1 + i % 3).data
            results.lock.lock()
            results.values[i] = out
            results.lock.unlock()
        }
        for i in 0..<48 { XCTAssertEqual(results.values[i], expected[i % inputs.count], "inference \(i)") }
        // One inference split over several threads, repeatedly.
        for i in 0..<20 { XCTAssertEqual(engine.infer(inputs[i % inputs.count], threads: 2 + i % 3).data, expected[i % inputs.count]) }
    }

    func testSerializationRoundTripGivesIdenticalResults() throws {
        let q = try Self.quantizedModel()
        let s = q.serialize()
        let json = try s.metadata.jsonString()
        let restored = try QuantizedModel(deserializing: SerializedQuantizedModel(metadata: try QuantizedModelMetadata.fromJSON(json), arrays: s.arrays))
        let image = Self.images(1, seed: 6)[0]
        XCTAssertEqual(try Int8Engine(model: q).infer(image).data, try Int8Engine(model: restored).infer(image).data)
        XCTAssertTrue(s.arrays.contains { $0.name == "stages.0.blocks.0.fc1.weight" && $0.data.kind == "i8" })
        XCTAssertTrue(s.arrays.contains { $0.name == "stages.0.blocks.0.fc2.weight" && $0.data.kind == "f32" })
        // A missing or resized array is refused with the array's name.
        var broken = s
        broken.arrays.removeAll { $0.name == "head.fc.bias" }
        XCTAssertThrowsError(try QuantizedModel(deserializing: broken)) { XCTAssertTrue("\($0)".contains("head.fc.bias")) }
        broken = s
        if let i = broken.arrays.firstIndex(where: { $0.name == "stages.1.blocks.0.fc1.weight" }) { broken.arrays[i].data = .i8([1, 2, 3]) }
        XCTAssertThrowsError(try QuantizedModel(deserializing: broken)) { XCTAssertTrue("\($0)".contains("stages.1.blocks.0.fc1.weight")) }
    }

    func testInconsistentModelsAreRefused() throws {
        var q = try Self.quantizedModel()
        q.stages[1].blocks[0].fc1.weights.removeLast()
        XCTAssertThrowsError(try Int8Engine(model: q)) { XCTAssertTrue("\($0)".contains("stages.1.blocks.0.fc1")) }
        var padded = Self.model
        padded.stem.conv.padding = 1
        XCTAssertThrowsError(try Quantizer.quantize(model: padded, calibration: Self.images(1, seed: 1))) {
            XCTAssertTrue("\($0)".contains("stem"))
        }
    }

    func testOverridesSetThePrecisionOfTheirTensor() throws {
        let q = try Self.quantizedModel()
        let points = Dictionary(q.activationPoints, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(points[.blockNorm(stage: 1, block: 0)]?.precision, .int16)
        XCTAssertEqual(points[.gelu(stage: 2, block: 1)]?.precision, .int16)
        XCTAssertEqual(points[.downsampleNorm(stage: 2)]?.precision, .int16)
        XCTAssertEqual(points[.gelu(stage: 0, block: 0)]?.precision, .float)
        XCTAssertEqual(points[.blockNorm(stage: 0, block: 0)]?.precision, .int8)
        XCTAssertEqual(q.calibration.method, "max")
    }

    func testReportListsLayersWithNodesAndCosines() throws {
        var options = QuantizationOptions()
        options.reportSamples = 2
        options.threads = 2
        let (q, report) = try Quantizer.quantize(model: Self.model, calibration: Self.images(6, seed: 8), options: options)
        XCTAssertTrue(["max", "percentile", "kl"].contains(report.method))
        XCTAssertEqual(Set(report.methodScores.keys), ["max", "percentile", "kl"])
        XCTAssertEqual(report.methodScores[report.method], report.methodScores.values.max())
        XCTAssertGreaterThan(report.outputCosine, 0.99)
        XCTAssertEqual(q.calibration.outputCosine, report.outputCosine)
        let fc1 = try XCTUnwrap(report.rows.first { $0.layer == "stages.0.blocks.0.fc1" })
        XCTAssertEqual(fc1.computesOn, "int")
        XCTAssertGreaterThan(fc1.cosine, 0.9)
        XCTAssertNotNil(fc1.threshold)
        XCTAssertTrue(report.text.contains("Cosine Similarity"))
        XCTAssertTrue(report.text.hasPrefix("ON: int = integer kernels (hb_mapper: BPU), float = float32 kernels (hb_mapper: CPU)"),
                      "the header says what ON means: \(report.text.prefix(200))")
        XCTAssertTrue(report.text.contains("stages.3.blocks.0.gelu"))
        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        XCTAssertNotNil(json?["rows"])
    }
}
