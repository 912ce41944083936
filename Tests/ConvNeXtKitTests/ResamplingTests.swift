import ConvNeXtKit
import Foundation
import XCTest

/// Pillow-exact resizing, crop geometry and letterbox.
final class ResamplingTests: XCTestCase {
    func source() throws -> RGBImage {
        RGBImage(width: 13, height: 9, pixels: try ImageTestFixtures.bytes(ImageTestFixtures.repo("resample/source_13x9.rgb")))
    }

    /// Every size in Fixtures/resample (down, up, mixed, one axis unchanged, 1x1) equals Pillow's bytes.
    func testResizeMatchesPillowBytes() throws {
        let src = try source()
        let sizes = [(5, 7), (29, 3), (40, 30), (13, 4), (6, 9), (1, 1)]
        for filter in Interpolation.allCases {
            for (w, h) in sizes {
                let expected = try ImageTestFixtures.bytes(ImageTestFixtures.repo("resample/\(filter.rawValue)_\(w)x\(h).rgb"))
                let ours = src.resized(width: w, height: h, filter: filter)
                XCTAssertEqual(ours.width, w)
                XCTAssertEqual(ours.height, h)
                let differing = zip(ours.pixels, expected).filter { $0 != $1 }.count
                XCTAssertEqual(expected.count, w * h * 3)
                XCTAssertEqual(differing, 0, "\(filter) \(w)x\(h): \(differing) bytes differ from Pillow")
            }
        }
    }

    /// A tall source: 7x40 -> 5x11, 9x13, 3x39 and 6x35 run the vertical pass first in Pillow, 7x20 has one pass.
    func testTallResizeMatchesPillowBytesInBothPassOrders() throws {
        let src = RGBImage(width: 7, height: 40, pixels: try ImageTestFixtures.bytes(ImageTestFixtures.repo("resample/source_7x40.rgb")))
        XCTAssertTrue(RGBImage.verticalPassFirst(from: 7, 40, to: 5, 11))
        XCTAssertFalse(RGBImage.verticalPassFirst(from: 13, 9, to: 5, 7))
        XCTAssertFalse(RGBImage.verticalPassFirst(from: 451, 300, to: 384, 256))
        XCTAssertTrue(RGBImage.verticalPassFirst(from: 300, 700, to: 256, 597))
        for filter in Interpolation.allCases {
            for (w, h) in [(5, 11), (9, 13), (3, 39), (7, 20), (6, 35)] {
                let expected = try ImageTestFixtures.bytes(ImageTestFixtures.repo("resample/tall_\(filter.rawValue)_\(w)x\(h).rgb"))
                let ours = src.resized(width: w, height: h, filter: filter)
                XCTAssertEqual(ours.pixels, expected, "\(filter) 7x40 -> \(w)x\(h) differs from Pillow")
                let region = src.resizedRegion(width: w, height: h, columns: 1..<w, rows: 2..<(h - 1), filter: filter)
                XCTAssertEqual(region, ours.cropped(left: 1, top: 2, width: w - 1, height: h - 3), "\(filter) region of \(w)x\(h)")
            }
        }
    }

    func testRegionIsTheSameAsResizeThenCrop() throws {
        let src = try source()
        for filter in Interpolation.allCases {
            for (w, h, cols, rows) in [(40, 30, 3..<31, 7..<29), (5, 7, 1..<4, 0..<7), (13, 4, 2..<9, 1..<3), (6, 9, 0..<6, 4..<5)] {
                let whole = src.resized(width: w, height: h, filter: filter)
                    .cropped(left: cols.lowerBound, top: rows.lowerBound, width: cols.count, height: rows.count)
                let region = src.resizedRegion(width: w, height: h, columns: cols, rows: rows, filter: filter)
                XCTAssertEqual(region, whole, "\(filter) \(w)x\(h) region \(cols) x \(rows)")
            }
        }
    }

    func testFlatImageStaysFlat() {
        let flat = RGBImage(width: 37, height: 23, fill: (200, 17, 90))
        for filter in Interpolation.allCases {
            for (w, h) in [(5, 3), (100, 61), (37, 7), (2, 23)] {
                let r = flat.resized(width: w, height: h, filter: filter)
                XCTAssertEqual(r, RGBImage(width: w, height: h, fill: (200, 17, 90)), "\(filter) \(w)x\(h)")
            }
        }
    }

    func testShorterSideGoesToScaleSizeWithTruncatedLongSide() {
        XCTAssertTrue(Preprocessor.shorterSideSize(width: 451, height: 300, side: 256) == (384, 256))  // int(384.85)
        XCTAssertTrue(Preprocessor.shorterSideSize(width: 300, height: 451, side: 256) == (256, 384))
        XCTAssertTrue(Preprocessor.shorterSideSize(width: 640, height: 427, side: 256) == (383, 256))  // int(383.70)
        XCTAssertTrue(Preprocessor.shorterSideSize(width: 512, height: 512, side: 256) == (256, 256))
    }

    /// torchvision's CenterCrop uses Python's round(): (341 - 224) / 2 = 58.5 rounds to 58, (343 - 224) / 2 = 59.5 to 60.
    func testCenterCropRoundsHalfToEven() {
        for (width, expectedLeft) in [(341, 58), (343, 60), (226, 1), (224, 0)] {
            var pixels = [UInt8](repeating: 0, count: width * 230 * 3)
            for y in 0..<230 { for x in 0..<width { pixels[(y * width + x) * 3] = UInt8(x % 256); pixels[(y * width + x) * 3 + 1] = UInt8(y) } }
            let crop = Preprocessor.centerCropped(RGBImage(width: width, height: 230, pixels: pixels), size: 224)
            XCTAssertEqual(crop.width, 224)
            XCTAssertEqual(Int(crop[0, 0].0), expectedLeft % 256, "width \(width)")
            XCTAssertEqual(Int(crop[0, 0].1), 3, "(230 - 224) / 2 = 3")
        }
    }

    func testLetterboxFitsInsideAndPadsWithGrey127() {
        let image = RGBImage(width: 400, height: 200, fill: (10, 200, 30))
        let boxed = Preprocessor.letterboxed(image, size: 224, filter: .bilinear)
        XCTAssertEqual(boxed.width, 224)
        XCTAssertEqual(boxed.height, 224)
        // 400x200 -> 224x112, placed at rows 56..<168.
        XCTAssertTrue(boxed[0, 55] == (127, 127, 127))
        XCTAssertTrue(boxed[223, 168] == (127, 127, 127))
        XCTAssertTrue(boxed[0, 56] == (10, 200, 30))
        XCTAssertTrue(boxed[223, 167] == (10, 200, 30))
        let options = PreprocessOptions(resizeMode: .letterbox)
        XCTAssertEqual(Preprocessor.modelImage(image, options: options).width, 224)
    }

    /// A 1 x 16384 strip would become 256 x 4,194,304 (3 GB) before the crop; only the crop is computed.
    func testExtremeAspectRatioOnlyComputesTheCrop() {
        let strip = RGBImage(width: 1, height: 16384, fill: (1, 2, 3))
        let out = Preprocessor.modelImage(strip, options: PreprocessOptions())
        XCTAssertEqual(out, RGBImage(width: 224, height: 224, fill: (1, 2, 3)))
    }
}
