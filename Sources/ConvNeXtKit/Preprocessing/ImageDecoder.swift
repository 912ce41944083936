import Foundation

/// Decodes JPEG (libjpeg-turbo) and PNG (libspng) files into 8-bit RGB, as Pillow's
/// `Image.open(path).convert("RGB")` does: grey is replicated, alpha is dropped, 16-bit
/// samples keep their high byte.
///
/// Image sizes are checked from the header before any pixel memory is allocated, so a hostile
/// file cannot make the decoder allocate more than `maxPixels * 3` bytes.
public enum ImageDecoder {
    /// Largest width or height accepted.
    public static let maxSide = 16384
    /// Largest pixel count accepted (width * height).
    public static let maxPixels = 100_000_000
    /// Largest file accepted, in bytes.
    public static let maxFileBytes = 512 << 20

    /// The container formats this decoder reads.
    public enum Format: String, Sendable {
        case jpeg, png
    }

    /// Reads and decodes the image file at `path`. With `applyExifOrientation`, a JPEG's EXIF
    /// orientation is applied (off by default: timm's transform ignores it).
    public static func decode(path: String, applyExifOrientation: Bool = false) throws -> RGBImage {
        let data = try FileIO.read(path: path, maxBytes: maxFileBytes)
        return try decode(data: data, path: path, applyExifOrientation: applyExifOrientation)
    }

    /// Decodes image bytes; `path` only names the source in errors.
    public static func decode(data: Data, path: String, applyExifOrientation: Bool = false) throws -> RGBImage {
        guard !data.isEmpty else { throw ConvNeXtError.invalidInput(path: path, reason: "the image file is empty") }
        let format = try sniff(data, path: path)
        return try data.withUnsafeBytes { raw -> RGBImage in
            switch format {
            case .jpeg: return try decodeJPEG(raw, path: path, applyExifOrientation: applyExifOrientation)
            case .png: return try decodePNG(raw, path: path)
            }
        }
    }

    /// The format named by the file's magic bytes.
    static func sniff(_ data: Data, path: String) throws -> Format {
        let head = [UInt8](data.prefix(12))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        let other: String
        if head.starts(with: Array("GIF8".utf8)) {
            other = "a GIF image"
        } else if head.starts(with: Array("BM".utf8)) {
            other = "a BMP image"
        } else if head.count >= 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) {
            other = "a WebP image"
        } else if head.starts(with: [0x49, 0x49, 0x2A, 0x00]) || head.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            other = "a TIFF image"
        } else {
            other = "not an image"
        }
        // Raw frames carry no header: name the flag that reads them.
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        let hint = ["nv12", "yuv"].contains(ext) ? "; for a raw NV12 frame pass --nv12 WIDTHxHEIGHT" : ""
        throw ConvNeXtError.invalidInput(path: path, reason: "unsupported image format (\(other)); expected JPEG or PNG\(hint)")
    }

    /// Rejects dimensions that are empty or too large, before anything is allocated.
    static func checkDimensions(width: Int, height: Int, path: String, format: String) throws {
        guard width > 0, height > 0 else {
            throw ConvNeXtError.invalidInput(path: path, reason: "\(format) header gives an empty image (\(width)x\(height))")
        }
        guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw ConvNeXtError.invalidInput(path: path,
                reason: "\(format) image is \(width)x\(height), larger than the \(maxSide) per side and \(maxPixels / 1_000_000) Mpixel allowed")
        }
    }
}
