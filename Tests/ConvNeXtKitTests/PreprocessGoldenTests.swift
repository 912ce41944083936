import ConvNeXtKit
import Foundation
import XCTest

/// timm's eval transform (Resize 256 bicubic, CenterCrop 224, ToTensor, Normalize) against the
/// goldens PyTorch/timm wrote. Acceptance: >= 99% of values within 1/255 in pixel units, none
/// beyond 3/255. (The implementation reproduces Pillow bit for bit, so all are in fact exact.)
final class PreprocessGoldenTests: XCTestCase {
    func check(image: String, golden: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let options = PreprocessOptions()
        let tensor = try Preprocessor.tensor(path: image, options: options)
        XCTAssertEqual(tensor.shape, [1, 3, 224, 224], file: file, line: line)
        let expected = floatsFromLittleEndian(try Data(contentsOf: URL(fileURLWithPath: golden)))
        XCTAssertEqual(expected.count, tensor.count, file: file, line: line)
        guard expected.count == tensor.count else { return }
        let c = ImageTestFixtures.compare(tensor, golden: expected, std: options.std)
        print(String(format: "preprocess %@: %.4f%% within 1/255, max %.4f/255, %.4f%% bit-identical",
                     URL(fileURLWithPath: image).lastPathComponent, 100 * c.withinOne, c.maxError, 100 * c.exact))
        XCTAssertGreaterThanOrEqual(c.withinOne, 0.99, "\(image)", file: file, line: line)
        XCTAssertLessThanOrEqual(c.maxError, 3, "\(image)", file: file, line: line)
    }

    func testRepoPhotosMatchTimmGoldens() throws {
        for name in ["chelsea.jpg", "chelsea.png", "rocket.jpg"] {
            try check(image: ImageTestFixtures.repo("images/\(name)"), golden: ImageTestFixtures.repo("golden/preprocess/\(name).f32"))
        }
    }

    func testSharedPhotosMatchTimmGoldens() throws {
        guard let folder = ImageTestFixtures.shared("images"), let goldens = ImageTestFixtures.shared("golden/preprocess") else {
            throw XCTSkip("../shared/fixtures is not present")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }.sorted()
        XCTAssertFalse(names.isEmpty)
        XCTAssertTrue(names.contains { $0.hasSuffix(".jpg") } && names.contains { $0.hasSuffix(".png") }, "expected JPEG and PNG photos")
        for name in names {
            try check(image: folder + "/" + name, golden: goldens + "/" + name + ".f32")
        }
    }

    func testModelDefaultsAreTimmDefaults() throws {
        let model = try ModelLoader.load(path: ImageTestFixtures.repo("models/tiny_opset11.onnx"))
        let options = PreprocessOptions(model: model)
        XCTAssertEqual(options.size, model.config.inputHeight)
        XCTAssertEqual(options.cropPct, 0.875)
        XCTAssertEqual(options.interpolation, .bicubic)
        XCTAssertEqual(options.resizeMode, .crop)
        XCTAssertEqual(PreprocessOptions().scaleSize, 256)
        XCTAssertEqual(PreprocessOptions(size: 64).scaleSize, 73)   // floor(64 / 0.875) = floor(73.14)
        XCTAssertEqual(PreprocessOptions(size: 224, cropPct: 0.95).scaleSize, 235)  // floor(235.79)
    }

    func testInvalidOptionsAreRejected() {
        for bad in [PreprocessOptions(size: 0), PreprocessOptions(cropPct: 0), PreprocessOptions(cropPct: 1.5),
                    PreprocessOptions(cropPct: .nan), PreprocessOptions(mean: [0.5, 0.5]), PreprocessOptions(std: [0.2, 0, 0.2])] {
            XCTAssertThrowsError(try bad.validate()) { error in
                XCTAssertTrue(error is ConvNeXtError)
            }
        }
        XCTAssertNoThrow(try PreprocessOptions().validate())
    }

    func testNormalisationIsTorchvisionArithmetic() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 10, 20, 30])
        let t = Preprocessor.normalizedTensor(image, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        XCTAssertEqual(t.shape, [1, 3, 1, 2])
        // NCHW: channel 0 holds R of both pixels.
        XCTAssertEqual(t.data[0], (Float(0) / 255 - 0.485) / 0.229)
        XCTAssertEqual(t.data[1], (Float(10) / 255 - 0.485) / 0.229)
        XCTAssertEqual(t.data[2], (Float(128) / 255 - 0.456) / 0.224)
        XCTAssertEqual(t.data[5], (Float(30) / 255 - 0.406) / 0.225)
    }
}
