import ConvNeXtKit
import Foundation
import XCTest

/// Decoding agrees with Pillow's `Image.open(f).convert("RGB")`, and bad files are typed errors naming the file.
final class ImageDecoderTests: XCTestCase {
    func testDecodesEveryKindLikePillow() throws {
        let cases: [(String, Int, Int)] = [
            ("gray8.png", 4, 3), ("rgba8.png", 4, 3), ("palette.png", 4, 3), ("gray_alpha.png", 4, 3),
            ("rgb16.png", 4, 3), ("gray16.png", 4, 3), ("rgb420.jpg", 32, 24), ("rgb444.jpg", 32, 24),
            ("gray.jpg", 32, 24), ("progressive.jpg", 32, 24), ("exif6.jpg", 32, 16),
        ]
        for (name, w, h) in cases {
            let image = try ImageDecoder.decode(path: ImageTestFixtures.repo("images/decode/\(name)"))
            XCTAssertEqual(image.width, w, name)
            XCTAssertEqual(image.height, h, name)
            let expected = try ImageTestFixtures.bytes(ImageTestFixtures.repo("images/decode/expected/\(name).rgb"))
            XCTAssertEqual(image.pixels, expected, "\(name) decodes differently from Pillow")
        }
    }

    func testExifOrientationIsAppliedOnlyWhenAsked() throws {
        let path = ImageTestFixtures.repo("images/decode/exif6.jpg")
        let oriented = try ImageDecoder.decode(path: path, applyExifOrientation: true)
        XCTAssertEqual(oriented.width, 16)
        XCTAssertEqual(oriented.height, 32)
        XCTAssertEqual(oriented.pixels, try ImageTestFixtures.bytes(ImageTestFixtures.repo("images/decode/expected/exif6.jpg.oriented.rgb")))
        // Rotated clockwise: the stored top-left (red) quadrant is now top-right.
        let topRight = oriented[15, 0]
        XCTAssertGreaterThan(topRight.0, 200)
        XCTAssertLessThan(topRight.1, 60)
        // Photos without EXIF are unchanged.
        let photo = ImageTestFixtures.repo("images/chelsea.jpg")
        XCTAssertEqual(try ImageDecoder.decode(path: photo, applyExifOrientation: true), try ImageDecoder.decode(path: photo))
    }

    func testOrientationTransformsAreTheEightEXIFCases() {
        // 3x2 image, pixel value = 10 * y + x in the red channel.
        var pixels = [UInt8](repeating: 0, count: 18)
        for y in 0..<2 { for x in 0..<3 { pixels[(y * 3 + x) * 3] = UInt8(10 * y + x) } }
        let image = RGBImage(width: 3, height: 2, pixels: pixels)
        func reds(_ i: RGBImage) -> [UInt8] { stride(from: 0, to: i.pixels.count, by: 3).map { i.pixels[$0] } }
        XCTAssertEqual(reds(image.applyingExifOrientation(1)), [0, 1, 2, 10, 11, 12])
        XCTAssertEqual(reds(image.applyingExifOrientation(2)), [2, 1, 0, 12, 11, 10])
        XCTAssertEqual(reds(image.applyingExifOrientation(3)), [12, 11, 10, 2, 1, 0])
        XCTAssertEqual(reds(image.applyingExifOrientation(4)), [10, 11, 12, 0, 1, 2])
        XCTAssertEqual(reds(image.applyingExifOrientation(5)), [0, 10, 1, 11, 2, 12])
        XCTAssertEqual(reds(image.applyingExifOrientation(6)), [10, 0, 11, 1, 12, 2])
        XCTAssertEqual(reds(image.applyingExifOrientation(7)), [12, 2, 11, 1, 10, 0])
        XCTAssertEqual(reds(image.applyingExifOrientation(8)), [2, 12, 1, 11, 0, 10])
        XCTAssertEqual(image.applyingExifOrientation(6).width, 2)
        XCTAssertEqual(image.applyingExifOrientation(9), image)
    }

    func expectError(_ data: Data, named path: String, containing words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageDecoder.decode(data: data, path: path), file: file, line: line) { error in
            guard let e = error as? ConvNeXtError else { return XCTFail("untyped error \(error)", file: file, line: line) }
            let text = e.description
            XCTAssertTrue(text.hasPrefix(path + ":"), "'\(text)' does not name the file", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "'\(text)' is not one line", file: file, line: line)
            for w in words { XCTAssertTrue(text.lowercased().contains(w), "'\(text)' lacks '\(w)'", file: file, line: line) }
        }
    }

    func testBadFilesAreOneLineErrorsNamingTheFile() throws {
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: ImageTestFixtures.repo("images/chelsea.jpg")))
        let png = try Data(contentsOf: URL(fileURLWithPath: ImageTestFixtures.repo("images/chelsea.png")))
        expectError(Data(), named: "empty.jpg", containing: ["empty"])
        expectError(jpeg.prefix(jpeg.count / 2), named: "half.jpg", containing: ["truncated"])
        expectError(jpeg.prefix(jpeg.count - 2), named: "no_eoi.jpg", containing: ["truncated"])
        expectError(jpeg.prefix(300), named: "header_only.jpg", containing: ["jpeg"])
        expectError(png.prefix(png.count / 2), named: "half.png", containing: ["truncated"])
        expectError(png.prefix(40), named: "header_only.png", containing: ["png"])
        expectError(Data([0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0x41, count: 64)), named: "garbage.jpg", containing: ["jpeg"])
        expectError(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 7, count: 64)), named: "garbage.png", containing: ["png"])
        expectError(Data("GIF89a....".utf8), named: "anim.gif", containing: ["unsupported", "gif"])
        expectError(Data("hello, world".utf8), named: "notes.txt", containing: ["unsupported"])
        // A flipped byte in the compressed PNG data breaks its CRC.
        var flipped = png
        flipped[png.count / 2] ^= 0x55
        expectError(flipped, named: "flipped.png", containing: ["png"])
    }

    func testHostileDimensionsAreRejectedBeforeAllocating() {
        for (name, words) in [("huge_side.png", ["16384"]), ("huge_area.png", ["12000x12000", "larger"]), ("huge.jpg", ["60000x60000", "larger"])] {
            let path = ImageTestFixtures.repo("images/decode/\(name)")
            XCTAssertThrowsError(try ImageDecoder.decode(path: path)) { error in
                let text = (error as? ConvNeXtError)?.description ?? "untyped: \(error)"
                XCTAssertTrue(text.hasPrefix(path), text)
                for w in words { XCTAssertTrue(text.contains(w), "'\(text)' lacks '\(w)'") }
            }
        }
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try ImageDecoder.decode(path: "/nonexistent/x.jpg")) { error in
            XCTAssertTrue((error as? ConvNeXtError)?.description.contains("/nonexistent/x.jpg") == true)
        }
    }
}
