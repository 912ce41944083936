import CConvNeXtKitAPI
import ConvNeXtKit
import ConvNeXtKitCAPI
import Foundation
import XCTest

/// The C API called in-process, as C sees it (through convnextkit.h): its options reach the
/// classifier, and its results are `ImageClassifier`'s, bit for bit, float and int8.
/// scripts/test-c-api runs the same library from real C, with the hostile-argument suite.
final class CAPIInProcessTests: XCTestCase {
    /// Opens `path` through the C API; fails the test with the library's message otherwise.
    private func open(_ path: String, _ configure: (inout convnextkit_options) -> Void = { _ in }) throws -> OpaquePointer {
        var options = convnextkit_options()
        convnextkit_options_init(&options)
        configure(&options)
        var model: OpaquePointer?
        let status = convnextkit_open(path, &options, &model)
        XCTAssertEqual(status, convnextkit_status(CONVNEXTKIT_OK), String(cString: convnextkit_last_error()))
        return try XCTUnwrap(model)
    }

    private func cInfer(_ model: OpaquePointer, _ input: [Float], classes: Int) -> [Float] {
        var logits = [Float](repeating: .nan, count: classes)
        let status = convnextkit_infer(model, input, input.count, &logits, classes, 0)
        XCTAssertEqual(status, convnextkit_status(CONVNEXTKIT_OK), String(cString: convnextkit_last_error()))
        return logits
    }

    /// `convnextkit_get_input` of an open model.
    private func describe(_ model: OpaquePointer) -> convnextkit_input {
        var input = convnextkit_input()
        input.struct_size = UInt32(MemoryLayout<convnextkit_input>.size)
        XCTAssertEqual(convnextkit_get_input(model, &input), convnextkit_status(CONVNEXTKIT_OK), String(cString: convnextkit_last_error()))
        return input
    }

    private func cClassify(_ model: OpaquePointer, file: String, top k: Int) -> [convnextkit_prediction] {
        var top = [convnextkit_prediction](repeating: convnextkit_prediction(), count: k)
        let status = convnextkit_classify_file(model, file, &top, k, nil, 0, 0)
        XCTAssertEqual(status, convnextkit_status(CONVNEXTKIT_OK), String(cString: convnextkit_last_error()))
        return top
    }

    func testAttoThroughCEqualsImageClassifier() throws {
        let path = try CLI.shared("models/convnext_atto.onnx"), photo = try CLI.shared("images/coffee.jpg")
        let model = try open(path)
        defer { convnextkit_close(model) }
        let classifier = try ImageClassifier(path: path)
        let input = describe(model)
        XCTAssertEqual([1, Int(input.channels), Int(input.height), Int(input.width)], classifier.input.shape)
        XCTAssertEqual(Int(input.classes), classifier.input.classes)
        XCTAssertEqual(input.parameters, Int64(try XCTUnwrap(classifier.input.parameters)))
        XCTAssertEqual(String(cString: try XCTUnwrap(input.variant)), "atto")
        XCTAssertEqual(String(cString: try XCTUnwrap(convnextkit_label(model, 281))), classifier.labels?.names[281])

        let golden = try Tensor.readRaw(path: try CLI.shared("golden/convnext_atto/input.f32"), shape: classifier.config.inputShape)
        XCTAssertEqual(cInfer(model, golden.data, classes: 1000), try classifier.infer(golden).data)
        let expected = try classifier.classify(imagePath: photo, top: 5).top
        let top = cClassify(model, file: photo, top: 5)
        XCTAssertEqual(top.map { Prediction(index: Int($0.index), label: classifier.label(Int($0.index)), probability: $0.probability) },
                       expected)
    }

    func testOptionsReachTheClassifier() throws {
        let path = try CLI.shared("digits/convnext_digits.onnx")
        let folder = try CLI.shared("digits/val/7")
        let image = folder + "/" + (try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first))
        let labels = CLI.repoRoot.appendingPathComponent("Sources/convnext/Resources/demo/labels.txt").path
        let model = try labels.withCString { labelsPath in
            try "bilinear".withCString { bilinear in
                try open(path) {
                    $0.input_size = 64
                    $0.crop_pct = 1
                    $0.interpolation = bilinear
                    $0.labels_path = labelsPath
                }
            }
        }
        defer { convnextkit_close(model) }
        let classifier = try ImageClassifier(path: path, options: .init(
            inputSize: 64, labelsPath: labels, preprocessingChanges: .init(cropPct: 1, interpolation: .bilinear)))
        let input = describe(model)
        XCTAssertEqual(input.crop_pct, 1)
        XCTAssertEqual(String(cString: try XCTUnwrap(input.interpolation)), "bilinear")
        XCTAssertEqual(input.has_labels, 1)
        XCTAssertEqual(String(cString: try XCTUnwrap(convnextkit_label(model, 7))), "7")
        let top = cClassify(model, file: image, top: 3)
        XCTAssertEqual(top.map { Int($0.index) }, try classifier.classify(imagePath: image, top: 3).top.map(\.index))
        XCTAssertEqual(top.map(\.probability), try classifier.classify(imagePath: image, top: 3).top.map(\.probability))
    }

    func testInt8ThroughCEqualsImageClassifier() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Int8Digits.compile(into: dir)
        let model = try open(path)
        defer { convnextkit_close(model) }
        let classifier = try ImageClassifier(path: path)
        let input = describe(model)
        XCTAssertEqual(String(cString: try XCTUnwrap(input.precision)), "int8")
        let pixels = (0..<classifier.config.inputCount).map { Float(($0 * 37) % 256) }
        XCTAssertEqual(cInfer(model, pixels, classes: 10), try classifier.infer(Tensor(shape: classifier.config.inputShape, data: pixels)).data)
    }

    func testFailuresReturnCodesAndMessages() throws {
        var model: OpaquePointer?
        XCTAssertEqual(convnextkit_open("/nonexistent.onnx", nil, &model), convnextkit_status(CONVNEXTKIT_ERROR_IO))
        XCTAssertNil(model)
        XCTAssertEqual(String(cString: convnextkit_last_error()), "/nonexistent.onnx: no such file")
        var logits = [Float](repeating: 0, count: 10)
        XCTAssertEqual(convnextkit_infer(nil, [1], 1, &logits, 10, 0), convnextkit_status(CONVNEXTKIT_ERROR_INVALID_ARGUMENT))
        XCTAssertEqual(String(cString: convnextkit_last_error()), "model is NULL")
        XCTAssertEqual(String(cString: convnextkit_status_string(convnextkit_status(CONVNEXTKIT_ERROR_INVALID_INPUT))), "invalid input")
        XCTAssertEqual(String(cString: convnextkit_version()), CONVNEXTKIT_VERSION)
    }
}
