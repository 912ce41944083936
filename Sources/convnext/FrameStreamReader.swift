import ConvNeXtKit
import Foundation

/// Cuts a byte stream (standard input) into frames: fixed-size raw NV12 frames, or JPEG and PNG
/// files written back to back (`ffmpeg -f image2pipe`, `cat *.jpg`), each found by walking its
/// own structure (JPEG markers up to EOI, PNG chunks up to IEND), never by guessing.
struct FrameStreamReader {
    /// How frames are laid out in the stream.
    enum Layout {
        /// Raw NV12 frames of `width * height * 3 / 2` bytes each.
        case nv12(width: Int, height: Int)
        /// Encoded images one after another; `allowed` are the formats accepted.
        case images(allowed: Set<ImageFormat>)
    }

    /// The encoded formats a stream may carry.
    enum ImageFormat: String, CaseIterable {
        case jpeg, png
    }

    /// A frame cut from the stream.
    enum Frame {
        case nv12(NV12Frame)
        case image(Data, ImageFormat)
    }

    /// The largest encoded frame accepted (the image decoder's own file limit).
    static let maxImageBytes = ImageDecoder.maxFileBytes

    private let input: FileHandle
    private let layout: Layout
    private var buffer = [UInt8]()
    private var start = 0
    private var atEOF = false
    /// Frames returned so far (the next frame's index).
    private(set) var frameIndex = 0

    init(input: FileHandle, layout: Layout) {
        self.input = input
        self.layout = layout
    }

    /// The next frame, or nil at the end of the stream (only between frames).
    ///
    /// - Throws: ``ConvNeXtError/invalidInput(path:reason:)`` for a stream that ends inside a
    ///   frame or holds bytes that start no accepted format; the stream cannot be resynchronised after that.
    mutating func next() throws -> Frame? {
        guard try ensure(1) else { return nil }
        defer { frameIndex += 1 }
        switch layout {
        case .nv12(let width, let height):
            let count = NV12Frame.byteCount(width: width, height: height)
            guard try ensure(count) else {
                throw streamError("the stream ended inside frame \(frameIndex) (\(available) of \(count) bytes)")
            }
            let bytes = Array(buffer[start..<start + count])
            consume(count)
            return .nv12(try NV12Frame(width: width, height: height, bytes: bytes, path: "frame \(frameIndex)"))
        case .images(let allowed):
            let format = try sniff(allowed: allowed)
            let length = try format == .jpeg ? jpegLength() : pngLength()
            let data = Data(buffer[start..<start + length])
            consume(length)
            return .image(data, format)
        }
    }

    // MARK: - Formats

    private mutating func sniff(allowed: Set<ImageFormat>) throws -> ImageFormat {
        var format: ImageFormat?
        if try ensure(2), byte(0) == 0xFF, byte(1) == 0xD8 {
            format = .jpeg
        } else if try ensure(8), (0..<8).map({ byte($0) }) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            format = .png
        }
        guard let format, allowed.contains(format) else {
            let head = (0..<min(available, 4)).map { String(format: "%02x", byte($0)) }.joined(separator: " ")
            let expected = allowed.map(\.rawValue).sorted().joined(separator: " or ")
            throw streamError("frame \(frameIndex) is not \(expected) (it starts with bytes \(head))")
        }
        return format
    }

    /// The byte length of the JPEG at the head of the buffer: markers and segment lengths up to
    /// EOI, skipping entropy-coded data (stuffed 0xFF00 and restart markers) after each SOS.
    private mutating func jpegLength() throws -> Int {
        var offset = 2
        while true {
            // A marker: one or more 0xFF fill bytes, then the code.
            try need(offset + 2, "a JPEG marker")
            guard byte(offset) == 0xFF else {
                throw streamError("frame \(frameIndex): broken JPEG (no marker at byte \(offset))")
            }
            while byte(offset + 1) == 0xFF { offset += 1; try need(offset + 2, "a JPEG marker") }
            let code = byte(offset + 1)
            offset += 2
            if code == 0xD9 { return offset }  // EOI
            if (0xD0...0xD7).contains(code) || code == 0x01 { continue }  // no length field
            try need(offset + 2, "a JPEG segment length")
            let length = Int(byte(offset)) << 8 | Int(byte(offset + 1))
            guard length >= 2 else { throw streamError("frame \(frameIndex): broken JPEG (segment length \(length))") }
            offset += length
            if code == 0xDA { offset = try scanEntropyCodedData(from: offset) }
        }
    }

    /// The offset of the first marker after the entropy-coded data that starts at `offset`.
    private mutating func scanEntropyCodedData(from offset: Int) throws -> Int {
        var i = offset
        while true {
            try need(i + 2, "the end of the JPEG scan")
            if byte(i) == 0xFF {
                let next = byte(i + 1)
                if next != 0x00 && !(0xD0...0xD7).contains(next) && next != 0xFF { return i }
                i += next == 0xFF ? 1 : 2
            } else {
                i += 1
            }
        }
    }

    /// The byte length of the PNG at the head of the buffer: the signature and every chunk up to IEND.
    private mutating func pngLength() throws -> Int {
        var offset = 8
        while true {
            try need(offset + 8, "a PNG chunk header")
            let length = (0..<4).reduce(0) { $0 << 8 | Int(byte(offset + $1)) }
            let type = String(decoding: (4..<8).map { byte(offset + $0) }, as: UTF8.self)
            guard length <= Int(Int32.max) else { throw streamError("frame \(frameIndex): broken PNG (chunk length \(length))") }
            offset += 12 + length
            try need(offset, "PNG chunk \(type)")
            if type == "IEND" { return offset }
        }
    }

    // MARK: - Buffer

    private var available: Int { buffer.count - start }

    private func byte(_ offset: Int) -> UInt8 { buffer[start + offset] }

    /// Requires `count` bytes of the current frame, or throws naming what was being read.
    private mutating func need(_ count: Int, _ what: String) throws {
        guard count <= Self.maxImageBytes else {
            throw streamError("frame \(frameIndex) is larger than \(Self.maxImageBytes >> 20) MiB")
        }
        guard try ensure(count) else {
            throw streamError("the stream ended inside frame \(frameIndex) (reading \(what))")
        }
    }

    /// Reads until `count` bytes are buffered; false when the stream ends first.
    private mutating func ensure(_ count: Int) throws -> Bool {
        while available < count && !atEOF {
            if start > 0 && start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            let chunk = try input.read(upToCount: max(1 << 16, count - available)) ?? Data()
            if chunk.isEmpty { atEOF = true } else { buffer.append(contentsOf: chunk) }
        }
        return available >= count
    }

    private mutating func consume(_ count: Int) { start += count }

    private func streamError(_ reason: String) -> ConvNeXtError {
        .invalidInput(path: "standard input", reason: reason)
    }
}
