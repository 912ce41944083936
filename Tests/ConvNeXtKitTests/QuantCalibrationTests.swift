import Foundation
import XCTest
import ConvNeXtKit

/// Calibration observers and the quantiser's options.
final class QuantCalibrationTests: XCTestCase {
    func gaussian(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in rng.normal() }
    }

    func testObserverRangeHistogramAndThresholds() {
        var o = TensorObserver()
        let a = gaussian(200_000, seed: 1)
        o.observe(a.map { $0 * 0.5 })  // first batch sets a small range...
        o.observe(a)                    // ...the second forces the histogram to grow
        XCTAssertEqual(o.count, 400_000)
        XCTAssertEqual(o.minimum, a.min()!)
        XCTAssertEqual(o.maximum, a.max()!)
        XCTAssertGreaterThanOrEqual(o.histogramRange, max(abs(o.minimum), o.maximum))
        XCTAssertEqual(o.histogram.reduce(0, +), 400_000)
        let absMax = max(abs(o.minimum), o.maximum)
        XCTAssertEqual(o.threshold(.max, percentile: 0.99995, levels: 128), absMax)
        // 99.9% of |x| for a mix of N(0, 1) and N(0, 0.25): between 3.0 and 3.4.
        let p = o.threshold(.percentile, percentile: 0.999, levels: 128)
        XCTAssertGreaterThan(p, 3.0)
        XCTAssertLessThan(p, 3.4)
        // KL clips the sparse tail of a Gaussian but keeps the bulk.
        let kl = o.threshold(.kl, percentile: 0.99995, levels: 128)
        XCTAssertGreaterThan(kl, 2.0)
        XCTAssertLessThan(kl, absMax)
    }

    func testOneSidedTensorsUseTheirMinimum() {
        var o = TensorObserver()
        o.observe(gaussian(50_000, seed: 2).map { max($0 * 3, -0.17) })
        let q = o.quantization(.kl, percentile: 0.99995, precision: .int8)
        XCTAssertEqual(q.lower, o.minimum)
        XCTAssertGreaterThan(q.upper, 3)
        XCTAssertEqual(q.quantize(q.lower), 0)
        let q16 = o.quantization(.kl, percentile: 0.99995, precision: .int16)
        XCTAssertEqual(q16.upper, o.maximum)
        XCTAssertEqual(q16.method, "max")
    }

    func testCalibrationInputsAreValidated() {
        let model = QuantEngineTests.model
        XCTAssertThrowsError(try Quantizer.quantize(model: model, calibration: [])) {
            XCTAssertTrue("\($0)".contains("no calibration tensors"))
        }
        XCTAssertThrowsError(try Quantizer.quantize(model: model, calibration: [Tensor(zeros: [1, 3, 8, 8])])) {
            XCTAssertTrue("\($0)".contains("calibration tensor 0"))
        }
    }

    func testSkipAndMixCalibration() throws {
        let model = QuantEngineTests.model
        let images = QuantEngineTests.images(3, seed: 11)
        var options = QuantizationOptions()
        options.calibrationType = .skip
        let (skipped, _) = try Quantizer.quantize(model: model, calibration: [], options: options)
        XCTAssertEqual(skipped.calibration.method, "skip")
        XCTAssertTrue(skipped.activationPoints.allSatisfy { $0.1.precision == .int8 && $0.1.method == "skip" })
        XCTAssertEqual(try Int8Engine(model: skipped).infer(images[0]).count, 13)

        options.calibrationType = .mix
        options.reportSamples = 1
        let (mixed, report) = try Quantizer.quantize(model: model, calibration: images, options: options)
        XCTAssertEqual(mixed.calibration.method, "mix")
        // Greedy mixing never ends below the best single method.
        XCTAssertGreaterThanOrEqual(report.methodScores["mix"]!, report.methodScores.filter { $0.key != "mix" }.values.max()! - 1e-12)
        XCTAssertEqual(report.methodScores["mix"]!, mixed.calibration.outputCosine, accuracy: 1e-6)
    }

    func testAutomaticPrecisionRaisesTensorsWhenTheTargetDemandsIt() throws {
        let model = QuantEngineTests.model
        var options = QuantizationOptions()
        options.calibrationType = .max
        options.targetCosine = 1.0  // unreachable: raise as many as help, up to the limit
        options.maxAutomaticRaises = 3
        options.reportSamples = 1
        let (q, report) = try Quantizer.quantize(model: model, calibration: QuantEngineTests.images(3, seed: 12), options: options)
        XCTAssertFalse(report.raisedPoints.isEmpty)
        XCTAssertLessThanOrEqual(report.raisedPoints.count, 3)
        let raised = q.activationPoints.filter { $0.1.precision != .int8 }.map { $0.0.description }
        XCTAssertEqual(Set(raised), Set(report.raisedPoints))
        var plain = options
        plain.automaticPrecision = false
        let (_, baseline) = try Quantizer.quantize(model: model, calibration: QuantEngineTests.images(3, seed: 12), options: plain)
        XCTAssertGreaterThan(report.outputCosine, baseline.outputCosine)
    }

    func testFoldedInputNormalizationTakesPixels() throws {
        let model = QuantEngineTests.model
        let mean: [Float] = [123.675, 116.28, 103.53], scale: [Float] = [0.01712475, 0.017507, 0.01742919]
        let folded = try model.foldingInputNormalization(mean: mean, scale: scale)
        var rng = SeededGenerator(seed: 13)
        let cfg = model.config
        let pixels = (0..<cfg.inputCount).map { _ in Float(rng.next() % 256) }
        var normalized = pixels
        for c in 0..<3 { for i in 0..<(cfg.inputCount / 3) { normalized[c * cfg.inputCount / 3 + i] = (pixels[c * cfg.inputCount / 3 + i] - mean[c]) * scale[c] } }
        let a = ReferenceForward(model: folded).run(Tensor(shape: cfg.inputShape, data: pixels)).data
        let b = ReferenceForward(model: model).run(Tensor(shape: cfg.inputShape, data: normalized)).data
        let m = b.map(abs).max()!
        for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-4 * m) }
        XCTAssertThrowsError(try model.foldingInputNormalization(mean: [1], scale: [1]))
    }

    func testMergedObserversEqualOneObserver() {
        let a = gaussian(30_000, seed: 20), b = gaussian(30_000, seed: 21).map { $0 * 4 }
        var whole = TensorObserver()
        whole.observe(a)
        whole.observe(b)
        var first = TensorObserver()
        first.observe(a)
        var second = first.emptied()
        second.observe(b)
        first.merge(second)
        XCTAssertEqual(first.histogram, whole.histogram)
        XCTAssertEqual(first.binWidth, whole.binWidth)
        XCTAssertEqual(first.count, whole.count)
        XCTAssertEqual(first.minimum, whole.minimum)
        XCTAssertEqual(first.maximum, whole.maximum)
    }

    func testThreadCountDoesNotChangeCalibration() throws {
        let images = QuantEngineTests.images(5, seed: 22)
        var options = QuantizationOptions()
        options.reportSamples = 1
        options.threads = 1
        let (one, _) = try Quantizer.quantize(model: QuantEngineTests.model, calibration: images, options: options)
        options.threads = 2
        let (two, _) = try Quantizer.quantize(model: QuantEngineTests.model, calibration: images, options: options)
        XCTAssertEqual(one.activationPoints.map(\.1), two.activationPoints.map(\.1))
        XCTAssertEqual(one.calibration, two.calibration)
    }

    /// Issue 14, items 2 and 3: 1e-37 trapped (1 / bin width overflowed to infinity), 1e-44 hung (the bin
    /// width underflowed to 0 and the growth loop never ended). Every degenerate tensor now gets a range.
    func testDegenerateValuesNeitherTrapNorHang() {
        let cases: [(String, [[Float]])] = [
            ("1e-37", [[Float](repeating: 1e-37, count: 100)]),
            ("1e-44 (denormal)", [[Float](repeating: Float(bitPattern: 7), count: 100)]),
            ("least nonzero", [[Float](repeating: .leastNonzeroMagnitude, count: 10), [-.leastNonzeroMagnitude]]),
            ("zeros", [[Float](repeating: 0, count: 100)]),
            ("constant", [[Float](repeating: -5, count: 100)]),
            ("tiny then huge", [[1e-35, -1e-36], [Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude]]),
            ("huge then tiny", [[Float.greatestFiniteMagnitude], [Float(bitPattern: 7), 0]]),
            ("non-finite only", [[Float.nan, .infinity, -.infinity]]),
        ]
        for (label, batches) in cases {
            var observer = TensorObserver()
            for batch in batches { observer.observe(batch) }
            var merged = TensorObserver()
            merged.merge(observer)
            var other = TensorObserver()
            other.observe([1e-20, 3])
            merged.merge(other)
            for method in CalibrationMethod.allCases {
                for precision in [Precision.int8, .int16] {
                    let q = observer.quantization(method, percentile: 0.99995, precision: precision)
                    XCTAssertTrue(q.scale.isFinite && q.scale > 0, "\(label) \(method): scale \(q.scale)")
                    XCTAssertTrue(q.zeroPoint >= 0 && q.zeroPoint <= q.maxLevel, "\(label) \(method): zero point \(q.zeroPoint)")
                    XCTAssertTrue(q.fakeQuantize(1e-37).isFinite, label)
                    _ = observer.estimatedCosine(q)
                    _ = merged.quantization(method, percentile: 0.99995, precision: precision)
                }
            }
        }
    }

    /// The documented outcomes for degenerate ranges.
    func testDegenerateRangesHaveDefinedQuantization() {
        let zero = ActivationQuantization.range(lower: 0, upper: 0, precision: .int8, method: "max")
        XCTAssertEqual(zero.scale, 1)
        XCTAssertEqual(zero.zeroPoint, 0)
        let tiny = ActivationQuantization.range(lower: -1e-37, upper: 1e-37, precision: .int8, method: "max")
        XCTAssertEqual(tiny.scale, 1)
        XCTAssertEqual(tiny.fakeQuantize(1e-37), 0)
        let constant = ActivationQuantization.range(lower: 5, upper: 5, precision: .int8, method: "max")
        XCTAssertEqual(constant.lower, 0)
        XCTAssertEqual(constant.upper, 5)
        XCTAssertEqual(constant.fakeQuantize(5), 5, accuracy: 1e-5)
        let huge = ActivationQuantization.range(lower: -.greatestFiniteMagnitude, upper: .greatestFiniteMagnitude, precision: .int8, method: "max")
        XCTAssertTrue(huge.scale.isFinite, "\(huge.scale)")
    }
}
