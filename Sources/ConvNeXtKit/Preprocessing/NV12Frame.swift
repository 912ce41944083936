import Foundation

/// A YUV 4:2:0 semi-planar frame: the Y plane (width x height bytes), then one plane of
/// interleaved U, V pairs (width x height / 2 bytes, U first), each chroma pair covering 2x2 pixels.
public struct NV12Frame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width * height * 3 / 2` bytes: Y plane, then interleaved UV.
    public var bytes: [UInt8]

    /// The byte count of a frame of this size.
    public static func byteCount(width: Int, height: Int) -> Int { width * height * 3 / 2 }

    /// Largest width or height accepted.
    public static let maxSide = 16384

    /// Wraps raw NV12 bytes; sizes must be even and the length exact (`path` names the source in errors).
    public init(width: Int, height: Int, bytes: [UInt8], path: String = "NV12 frame") throws {
        try Self.checkSize(width: width, height: height, path: path)
        let expected = Self.byteCount(width: width, height: height)
        guard bytes.count == expected else {
            throw ConvNeXtError.invalidInput(path: path,
                reason: "NV12 frame holds \(bytes.count) bytes, expected \(expected) for \(width)x\(height) (width*height*3/2)")
        }
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// Rejects sizes NV12 cannot represent: zero, odd, or absurdly large.
    static func checkSize(width: Int, height: Int, path: String) throws {
        guard width > 0, height > 0, width <= maxSide, height <= maxSide else {
            throw ConvNeXtError.invalidInput(path: path, reason: "NV12 size \(width)x\(height) is outside 2...\(maxSide) per side")
        }
        guard width % 2 == 0, height % 2 == 0 else {
            throw ConvNeXtError.invalidInput(path: path, reason: "NV12 needs an even width and height, got \(width)x\(height)")
        }
    }

    /// Reads a raw NV12 file of the given size; a file of any other length is an error.
    public static func read(path: String, width: Int, height: Int) throws -> NV12Frame {
        try checkSize(width: width, height: height, path: path)
        let expected = byteCount(width: width, height: height)
        func wrongLength(_ count: Int) -> ConvNeXtError {
            .invalidInput(path: path,
                reason: "NV12 frame holds \(count) bytes, expected \(expected) for \(width)x\(height) (width*height*3/2)")
        }
        // The size on disk is checked first so a wrong file is never read whole.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue, size != expected {
            throw wrongLength(size)
        }
        let data = try FileIO.read(path: path, maxBytes: expected)
        guard data.count == expected else { throw wrongLength(data.count) }
        return try NV12Frame(width: width, height: height, bytes: [UInt8](data), path: path)
    }

    /// Writes the raw frame atomically.
    public func write(path: String) throws {
        try FileIO.writeAtomically(path: path, data: Data(bytes))
    }

    /// Parses a `WIDTHxHEIGHT` size such as `224x224`.
    public static func parseSize(_ text: String) throws -> (width: Int, height: Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw ConvNeXtError.usage("NV12 size '\(text)' is not WIDTHxHEIGHT (e.g. 224x224)")
        }
        try checkSize(width: w, height: h, path: "--nv12 \(text)")
        return (w, h)
    }
}
