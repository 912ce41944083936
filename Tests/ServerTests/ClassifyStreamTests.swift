import ConvNeXtKit
import Foundation
import XCTest

/// `convnext classify MODEL -`: frames from standard input, one JSON line each, equal to
/// classifying every frame as its own file.
final class ClassifyStreamTests: XCTestCase {
    /// One line of the stream's output.
    struct StreamLine: Decodable {
        var frame: Int
        var top: [RankedClass]?
        var error: String?
    }

    static func lines(_ output: Data) throws -> [StreamLine] {
        try output.split(separator: UInt8(ascii: "\n")).map { try Data($0).decoded(StreamLine.self) }
    }

    /// 1,000 NV12 frames (the bundled digit images at five brightness offsets) through stdin give
    /// the labels and probabilities of classifying each frame file separately.
    func testThousandNV12FramesMatchSeparateClassification() throws {
        let dir = try ConvNeXtTool.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = try ConvNeXtTool.digitImages(perClass: 20)
        XCTAssertEqual(images.count, 200)
        var stream = Data()
        var paths: [String] = []
        for offset in [0, -40, 40, -80, 80] {
            for image in images {
                var frame = try NV12Frame(rgb: ImageDecoder.decode(path: image))
                for i in 0..<(64 * 64) { frame.bytes[i] = UInt8(clamping: Int(frame.bytes[i]) + offset) }
                let path = dir.appendingPathComponent(String(format: "%04d.nv12", paths.count)).path
                try frame.write(path: path)
                paths.append(path)
                stream.append(contentsOf: frame.bytes)
            }
        }
        XCTAssertEqual(paths.count, 1000)

        let streamed = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--nv12", "64x64", "--top", "3", "-"] + ConvNeXtTool.digitsFlags,
                                            input: stream)
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        let lines = try Self.lines(streamed.stdout)
        XCTAssertEqual(lines.map(\.frame), Array(0..<1000))

        let separate = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--nv12", "64x64", "--top", "3", "--json"]
                                            + ConvNeXtTool.digitsFlags + paths)
        XCTAssertEqual(separate.status, 0, separate.stderr)
        let files = try separate.stdout.decoded(ClassifyCLIReport.self).results
        XCTAssertEqual(files.count, 1000)
        for (line, file) in zip(lines, files) {
            XCTAssertEqual(line.top, file.top, "frame \(line.frame) vs \(file.image)")
        }
        let labels = Set(lines.compactMap { $0.top?.first?.label })
        XCTAssertGreaterThanOrEqual(labels.count, 8, "the frames are real digits, not one repeated answer: \(labels.sorted())")
    }

    /// JPEG and PNG files back to back (`--stdin-format image`) classify like the files themselves.
    func testConcatenatedJPEGAndPNGFilesMatchTheFiles() throws {
        let files = [ConvNeXtTool.fixture("images/chelsea.jpg"), ConvNeXtTool.fixture("images/rocket.jpg"),
                     ConvNeXtTool.fixture("images/chelsea.png")] + (try ConvNeXtTool.digitImages(perClass: 1).prefix(2))
        let stream = try files.reduce(into: Data()) { $0.append(try Data(contentsOf: URL(fileURLWithPath: $1))) }
        let streamed = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--stdin-format", "image", "-"] + ConvNeXtTool.digitsFlags,
                                            input: stream)
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        let separate = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--json"] + ConvNeXtTool.digitsFlags + files)
        XCTAssertEqual(separate.status, 0, separate.stderr)
        let expected = try separate.stdout.decoded(ClassifyCLIReport.self).results.map(\.top)
        XCTAssertEqual(try Self.lines(streamed.stdout).map(\.top), expected)

        let pngOnly = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--stdin-format", "png", "-"] + ConvNeXtTool.digitsFlags,
                                           input: stream)
        XCTAssertEqual(pngOnly.status, 1)
        XCTAssertTrue(pngOnly.stderr.contains("frame 0 is not png"), pngOnly.stderr)
    }

    /// A stream that ends inside a frame: the whole frames are answered, then one error line and exit 1.
    func testTruncatedStreamsEndWithOneErrorLine() throws {
        let frame = Data(repeating: 100, count: 64 * 64 * 3 / 2)
        let nv12 = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--nv12", "64x64", "-"] + ConvNeXtTool.digitsFlags,
                                        input: frame + frame + frame.prefix(1000))
        XCTAssertEqual(nv12.status, 1)
        XCTAssertEqual(try Self.lines(nv12.stdout).count, 2)
        XCTAssertTrue(nv12.stderr.contains("ended inside frame 2 (1000 of 6144 bytes)"), nv12.stderr)
        XCTAssertEqual(nv12.stderr.split(separator: "\n").count, 1, nv12.stderr)

        let jpeg = try Data(contentsOf: URL(fileURLWithPath: ConvNeXtTool.fixture("images/rocket.jpg")))
        let images = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--stdin-format", "image", "-"] + ConvNeXtTool.digitsFlags,
                                          input: jpeg + jpeg.prefix(jpeg.count / 2))
        XCTAssertEqual(images.status, 1)
        XCTAssertEqual(try Self.lines(images.stdout).count, 1)
        XCTAssertTrue(images.stderr.contains("ended inside frame 1"), images.stderr)

        let garbage = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--stdin-format", "image", "-"], input: Data("hello".utf8))
        XCTAssertEqual(garbage.status, 1)
        XCTAssertTrue(garbage.stderr.contains("frame 0 is not jpeg or png"), garbage.stderr)
    }

    /// A frame that is delimited but undecodable gets an error line and the stream goes on.
    func testUndecodableFrameIsReportedAndTheStreamGoesOn() throws {
        let png = try Data(contentsOf: URL(fileURLWithPath: try ConvNeXtTool.digitImages(perClass: 1)[2]))
        // A PNG whose chunk structure is intact but whose image data is not (its CRC no longer matches).
        var broken = png
        let data = try XCTUnwrap(Self.firstIDATData(in: png))
        for i in data.prefix(16) { broken[i] ^= 0x5A }
        let r = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "--stdin-format", "png", "-"] + ConvNeXtTool.digitsFlags,
                                     input: png + broken + png)
        XCTAssertEqual(r.status, 1, "one frame failed")
        let lines = try Self.lines(r.stdout)
        XCTAssertEqual(lines.map(\.frame), [0, 1, 2])
        XCTAssertNotNil(lines[1].error)
        XCTAssertEqual(lines[0].top, lines[2].top)
    }

    /// The byte range of the first IDAT chunk's data.
    static func firstIDATData(in png: Data) -> Range<Int>? {
        let bytes = [UInt8](png)
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self) == "IDAT" { return offset + 8..<offset + 8 + length }
            offset += 12 + length
        }
        return nil
    }

    func testStdinNeedsItsFormatAndStandsAlone() throws {
        let noFormat = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "-"])
        XCTAssertNotEqual(noFormat.status, 0)
        XCTAssertTrue(noFormat.stderr.contains("--stdin-format"), noFormat.stderr)
        let mixed = try ConvNeXtTool.run(["classify", ConvNeXtTool.digitsModel, "-", ConvNeXtTool.fixture("images/chelsea.jpg"), "--stdin-format", "image"])
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.stderr.contains("only input"), mixed.stderr)
    }
}
