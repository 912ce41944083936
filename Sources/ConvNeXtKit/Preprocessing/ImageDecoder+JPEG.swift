import CTurboJPEG
import Foundation

extension ImageDecoder {
    /// Decodes a JPEG with libjpeg-turbo using the same settings as Pillow: accurate integer
    /// DCT (islow) and fancy upsampling, so the pixels are those Pillow gets.
    static func decodeJPEG(_ bytes: UnsafeRawBufferPointer, path: String, applyExifOrientation: Bool) throws -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw ConvNeXtError.invalidInput(path: path, reason: "the image file is empty")
        }
        guard let handle = tjInitDecompress() else {
            throw ConvNeXtError.io(path: path, reason: "cannot start the JPEG decoder")
        }
        defer { tjDestroy(handle) }
        func message() -> String { String(cString: tjGetErrorStr2(handle)) }

        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, base, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw ConvNeXtError.invalidInput(path: path, reason: "corrupt JPEG header: \(message())")
        }
        try checkDimensions(width: Int(width), height: Int(height), path: path, format: "JPEG")
        if colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue) {
            throw ConvNeXtError.invalidInput(path: path, reason: "CMYK JPEG images are not supported")
        }
        let gray = colorspace == Int32(TJCS_GRAY.rawValue)
        let channels = gray ? 1 : 3
        let format = gray ? TJPF_GRAY : TJPF_RGB
        let w = Int(width), h = Int(height)
        var decoded = [UInt8](repeating: 0, count: w * h * channels)
        // LIMITSCANS refuses progressive files with absurd scan counts (a CPU exhaustion attack).
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS
        let status = decoded.withUnsafeMutableBufferPointer { out in
            tjDecompress2(handle, base, UInt(bytes.count), out.baseAddress, width, 0, height, Int32(format.rawValue), flags)
        }
        if status != 0 {
            let text = message()
            let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
            // Pillow refuses truncated files; extraneous bytes between markers are harmless.
            if !isWarning || !text.contains("extraneous bytes") {
                let kind = text.localizedCaseInsensitiveContains("premature end") ? "truncated JPEG" : "corrupt JPEG"
                throw ConvNeXtError.invalidInput(path: path, reason: "\(kind): \(text)")
            }
        }
        var image: RGBImage
        if gray {
            var rgb = [UInt8](repeating: 0, count: w * h * 3)
            for i in 0..<(w * h) {
                rgb[3 * i] = decoded[i]
                rgb[3 * i + 1] = decoded[i]
                rgb[3 * i + 2] = decoded[i]
            }
            image = RGBImage(width: w, height: h, pixels: rgb)
        } else {
            image = RGBImage(width: w, height: h, pixels: decoded)
        }
        if applyExifOrientation {
            image = image.applyingExifOrientation(ExifOrientationReader.orientation(jpeg: bytes))
        }
        return image
    }
}
