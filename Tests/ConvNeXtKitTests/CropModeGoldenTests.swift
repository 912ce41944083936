import ConvNeXtKit
import Foundation
import XCTest

/// `--crop-mode squash|border` against goldens of timm's eval transform (crop_mode squash:
/// Resize((S, S)) + CenterCrop; border: ResizeKeepRatio(S, longest=1) + CenterCropOrPad with the
/// mean colour), made by scripts/make-crop-mode-goldens.py with Pillow at size 64, crop_pct 0.875.
final class CropModeGoldenTests: XCTestCase {
    func check(_ name: String, mode: CropMode, file: StaticString = #filePath, line: UInt = #line) throws {
        let options = PreprocessOptions(size: 64, cropMode: mode)
        try options.validate()
        let tensor = try Preprocessor.tensor(path: ImageTestFixtures.repo("images/\(name)"), options: options)
        XCTAssertEqual(tensor.shape, [1, 3, 64, 64], file: file, line: line)
        let golden = floatsFromLittleEndian(try Data(contentsOf: URL(fileURLWithPath:
            ImageTestFixtures.repo("golden/crop-mode/\(name).\(mode.rawValue).64.f32"))))
        XCTAssertEqual(golden.count, tensor.count, file: file, line: line)
        guard golden.count == tensor.count else { return }
        let c = ImageTestFixtures.compare(tensor, golden: golden, std: options.std)
        print(String(format: "crop-mode %@ %@: %.4f%% within 1/255, max %.4f/255, %.4f%% bit-identical",
                     mode.rawValue, name, 100 * c.withinOne, c.maxError, 100 * c.exact))
        XCTAssertGreaterThanOrEqual(c.withinOne, 0.99, "\(name) \(mode)", file: file, line: line)
        XCTAssertLessThanOrEqual(c.maxError, 3, "\(name) \(mode)", file: file, line: line)
    }

    func testSquashMatchesTimmGoldens() throws {
        for name in ["chelsea.jpg", "rocket.jpg"] { try check(name, mode: .squash) }
    }

    func testBorderMatchesTimmGoldens() throws {
        for name in ["chelsea.jpg", "rocket.jpg"] { try check(name, mode: .border) }
    }

    /// The three modes give three different inputs for a non-square photo (the goldens above would
    /// not tell a squash from a centre crop if they were equal).
    func testModesDifferOnANonSquarePhoto() throws {
        let path = ImageTestFixtures.repo("images/chelsea.jpg")
        let tensors = try CropMode.allCases.map { try Preprocessor.tensor(path: path, options: PreprocessOptions(size: 64, cropMode: $0)).data }
        XCTAssertNotEqual(tensors[0], tensors[1])
        XCTAssertNotEqual(tensors[0], tensors[2])
        XCTAssertNotEqual(tensors[1], tensors[2])
    }

    /// timm's ResizeKeepRatio sizes and CenterCropOrPad fill, computed by hand.
    func testBorderGeometryAndFill() {
        // 451x300 with S = 73: ratio = 451 / 73, so 73 x round(48.56) = 49.
        XCTAssertEqual(Preprocessor.longerSideSize(width: 451, height: 300, side: 73).width, 73)
        XCTAssertEqual(Preprocessor.longerSideSize(width: 451, height: 300, side: 73).height, 49)
        // 5x3 into side 2: ratio 2.5, so 2 x round(1.2) = 1.
        XCTAssertEqual(Preprocessor.longerSideSize(width: 5, height: 3, side: 2).height, 1)
        let fill = PreprocessOptions().borderFill
        XCTAssertEqual([fill.0, fill.1, fill.2], [124, 116, 104])   // round(123.675), round(116.28), round(103.53)
        // A 2x1 red image bordered into 4x4 (S = 4): resized to 4x2, padded 1 row above and below.
        let red = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 255, 0, 0])
        let out = Preprocessor.bordered(red, longerSide: 4, size: 4, filter: .bilinear, fill: (9, 8, 7))
        XCTAssertEqual(out.width, 4)
        XCTAssertEqual(out.height, 4)
        XCTAssertEqual(Array(out.pixels[0..<3]), [9, 8, 7])
        XCTAssertEqual(Array(out.pixels[(4 * 1) * 3..<(4 * 1) * 3 + 3]), [255, 0, 0])
        XCTAssertEqual(Array(out.pixels[(4 * 3) * 3..<(4 * 3) * 3 + 3]), [9, 8, 7])
    }

    func testLetterboxRefusesAnotherCropMode() {
        XCTAssertThrowsError(try PreprocessOptions(resizeMode: .letterbox, cropMode: .squash).validate())
        XCTAssertNoThrow(try PreprocessOptions(resizeMode: .letterbox).validate())
    }
}
