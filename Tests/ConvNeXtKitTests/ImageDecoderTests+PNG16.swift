import ConvNeXtKit
import Foundation
import XCTest

/// 16-bit PNGs decode as Pillow 13 decodes them (goldens from `scripts/make-png16-goldens.py`).
extension ImageDecoderTests {
    /// 16-bit grey saturates at 255 (Pillow's I;16 -> RGB); grey + alpha, RGB and RGBA keep the high byte.
    func testSixteenBitPNGsDecodeLikePillow() throws {
        for name in ["gray16", "gray16_trns", "gray_alpha16", "rgb16", "rgba16"] {
            let image = try ImageDecoder.decode(path: ImageTestFixtures.repo("images/decode/png16/\(name).png"))
            XCTAssertEqual(image.width, 16, name)
            XCTAssertEqual(image.height, 3, name)
            let expected = try ImageTestFixtures.bytes(ImageTestFixtures.repo("images/decode/png16/\(name).png.rgb"))
            XCTAssertEqual(image.pixels, expected, "\(name).png decodes differently from Pillow 13")
        }
    }

    /// The boundary itself, independent of the goldens: 255 stays, 256 and 65535 become 255, 200 stays.
    func testSixteenBitGreyClampsInsteadOfTakingTheHighByte() throws {
        let image = try ImageDecoder.decode(path: ImageTestFixtures.repo("images/decode/png16/gray16.png"))
        // Row 0 holds 0, 1, 127, 200, 255, 256, 257, 300, ... (see the script).
        let firstRow = stride(from: 0, to: 16 * 3, by: 3).map { image.pixels[$0] }
        XCTAssertEqual(Array(firstRow.prefix(6)), [0, 1, 127, 200, 255, 255], "the high byte would give 0 0 0 0 0 1")
        XCTAssertEqual(firstRow.last, 255)
    }
}
