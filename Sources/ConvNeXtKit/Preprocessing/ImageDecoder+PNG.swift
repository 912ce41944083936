import CSPNG
import Foundation

extension ImageDecoder {
    /// Decodes any PNG (grey, palette, RGB, with or without alpha, 1 to 16 bits) to RGB8 with
    /// libspng, as Pillow's `convert("RGB")`: alpha and transparency are dropped, gamma is not
    /// applied, 16-bit samples keep their high byte except 16-bit grey, which is clamped to 255.
    static func decodePNG(_ bytes: UnsafeRawBufferPointer, path: String) throws -> RGBImage {
        guard let base = bytes.baseAddress else {
            throw ConvNeXtError.invalidInput(path: path, reason: "the image file is empty")
        }
        guard let ctx = spng_ctx_new(0) else {
            throw ConvNeXtError.io(path: path, reason: "cannot start the PNG decoder")
        }
        defer { spng_ctx_free(ctx) }
        func fail(_ code: Int32, _ what: String) -> ConvNeXtError {
            let text = String(cString: spng_strerror(code))
            let truncated = code == SPNG_IO_EOF.rawValue || code == SPNG_EOF.rawValue
            return ConvNeXtError.invalidInput(path: path,
                reason: truncated ? "truncated PNG (\(what): \(text))" : "corrupt PNG (\(what): \(text))")
        }
        spng_set_image_limits(ctx, UInt32(maxSide), UInt32(maxSide))
        // Bounds the memory metadata chunks (text, ICC profiles) may take.
        spng_set_chunk_limits(ctx, 64 << 20, 64 << 20)
        spng_set_png_buffer(ctx, base, bytes.count)

        var header = spng_ihdr()
        let headerStatus = spng_get_ihdr(ctx, &header)
        if headerStatus != 0 {
            // Dimensions beyond the limits set above come back as a header error: say which.
            if headerStatus == SPNG_EWIDTH.rawValue || headerStatus == SPNG_EHEIGHT.rawValue
                || headerStatus == SPNG_EUSER_WIDTH.rawValue || headerStatus == SPNG_EUSER_HEIGHT.rawValue {
                throw ConvNeXtError.invalidInput(path: path,
                    reason: "PNG image size is invalid or larger than \(maxSide) per side (\(String(cString: spng_strerror(headerStatus))))")
            }
            throw fail(headerStatus, "header")
        }
        try checkDimensions(width: Int(header.width), height: Int(header.height), path: path, format: "PNG")

        if header.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue), header.bit_depth == 16 {
            return try decodeGrey16(ctx, width: Int(header.width), height: Int(header.height), fail: fail, path: path)
        }
        let format = Int32(SPNG_FMT_RGB8.rawValue)
        var size = 0
        let sizeStatus = spng_decoded_image_size(ctx, format, &size)
        guard sizeStatus == 0 else { throw fail(sizeStatus, "size") }
        let w = Int(header.width), h = Int(header.height)
        guard size == w * h * 3 else {
            throw ConvNeXtError.invalidInput(path: path, reason: "corrupt PNG (decoded size \(size) does not match \(w)x\(h) RGB)")
        }
        var pixels = [UInt8](repeating: 0, count: size)
        let status = pixels.withUnsafeMutableBytes { out in
            spng_decode_image(ctx, out.baseAddress, size, format, 0)
        }
        guard status == 0 else { throw fail(status, "image data") }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// 16-bit grey as Pillow 13 has it: mode `I;16`, whose conversion to RGB saturates each value at
    /// 255 (it does not scale by 257 nor keep the high byte), so 256...65535 all become white.
    private static func decodeGrey16(_ ctx: OpaquePointer, width w: Int, height h: Int,
                                     fail: (Int32, String) -> ConvNeXtError, path: String) throws -> RGBImage {
        // RAW keeps the file's big-endian samples and applies no tRNS, like Pillow's convert("RGB").
        let format = Int32(SPNG_FMT_RAW.rawValue)
        var size = 0
        let sizeStatus = spng_decoded_image_size(ctx, format, &size)
        guard sizeStatus == 0 else { throw fail(sizeStatus, "size") }
        guard size == w * h * 2 else {
            throw ConvNeXtError.invalidInput(path: path, reason: "corrupt PNG (decoded size \(size) does not match \(w)x\(h) 16-bit grey)")
        }
        var samples = [UInt8](repeating: 0, count: size)
        let status = samples.withUnsafeMutableBytes { out in
            spng_decode_image(ctx, out.baseAddress, size, format, 0)
        }
        guard status == 0 else { throw fail(status, "image data") }
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let value = UInt8(min(Int(samples[2 * i]) << 8 | Int(samples[2 * i + 1]), 255))
            pixels[3 * i] = value
            pixels[3 * i + 1] = value
            pixels[3 * i + 2] = value
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}
