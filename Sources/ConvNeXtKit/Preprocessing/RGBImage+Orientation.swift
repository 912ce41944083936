extension RGBImage {
    /// The image as it should be displayed given an EXIF orientation value (tag 0x0112, 1...8),
    /// as Pillow's `ImageOps.exif_transpose` does. Unknown values leave the image as is.
    public func applyingExifOrientation(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        // For each output pixel (x, y), the source pixel it comes from.
        let source: (Int, Int) -> (Int, Int)
        switch orientation {
        case 2: source = { x, y in (w - 1 - x, y) }              // mirror left-right
        case 3: source = { x, y in (w - 1 - x, h - 1 - y) }      // rotate 180
        case 4: source = { x, y in (x, h - 1 - y) }              // mirror top-bottom
        case 5: source = { x, y in (y, x) }                      // transpose
        case 6: source = { x, y in (y, h - 1 - x) }              // rotate 90 clockwise
        case 7: source = { x, y in (w - 1 - y, h - 1 - x) }      // transverse
        default: source = { x, y in (w - 1 - y, x) }             // 8: rotate 90 counter-clockwise
        }
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<oh {
            for x in 0..<ow {
                let (sx, sy) = source(x, y)
                let s = (sy * w + sx) * 3, d = (y * ow + x) * 3
                out[d] = pixels[s]
                out[d + 1] = pixels[s + 1]
                out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}

/// Reads the orientation tag from a JPEG's EXIF segment, defensively: any malformed structure
/// means "no orientation" (1), never a crash.
enum ExifOrientationReader {
    /// The orientation (1...8) stored in the first APP1 `Exif` segment of `jpeg`, or 1.
    static func orientation(jpeg: UnsafeRawBufferPointer) -> Int {
        let n = jpeg.count
        guard n >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return 1 }
        var p = 2
        // Walk the marker segments before the image data.
        while p + 4 <= n {
            guard jpeg[p] == 0xFF else { return 1 }
            let marker = jpeg[p + 1]
            if marker == 0xFF { p += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 { return 1 }  // start of scan / end: no EXIF
            let length = Int(jpeg[p + 2]) << 8 | Int(jpeg[p + 3])
            guard length >= 2, p + 2 + length <= n else { return 1 }
            if marker == 0xE1, length >= 8 {
                let start = p + 4
                if jpeg[start] == 0x45, jpeg[start + 1] == 0x78, jpeg[start + 2] == 0x69, jpeg[start + 3] == 0x66,
                   jpeg[start + 4] == 0, jpeg[start + 5] == 0 {
                    let tiff = UnsafeRawBufferPointer(rebasing: jpeg[(start + 6)..<(p + 2 + length)])
                    return orientation(tiff: tiff)
                }
            }
            p += 2 + length
        }
        return 1
    }

    /// The orientation tag of IFD0 in a TIFF structure, or 1.
    static func orientation(tiff t: UnsafeRawBufferPointer) -> Int {
        guard t.count >= 8 else { return 1 }
        let little: Bool
        if t[0] == 0x49 && t[1] == 0x49 { little = true } else if t[0] == 0x4D && t[1] == 0x4D { little = false } else { return 1 }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return 1 }
        for i in 0..<count {
            let entry = ifd + 2 + 12 * i
            guard let tag = u16(entry) else { return 1 }
            if tag == 0x0112 {
                guard let type = u16(entry + 2), type == 3, let value = u16(entry + 8) else { return 1 }
                return (1...8).contains(value) ? value : 1
            }
        }
        return 1
    }
}
