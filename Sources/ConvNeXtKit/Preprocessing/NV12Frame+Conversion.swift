/// The YUV quantisation range of an NV12 frame (both BT.601).
public enum YUVRange: String, Sendable, CaseIterable, Codable {
    /// JPEG/JFIF full range: Y, U, V use 0...255 (hb_mapper `regular`).
    case full
    /// Video range: Y in 16...235, U and V in 16...240 (hb_mapper `bt601_video`, OpenCV's BGR->I420).
    case video

    /// RGB -> YUV: rows Y, U, V; columns R, G, B; plus the offsets.
    var forward: (matrix: [[Double]], offset: [Double]) {
        switch self {
        case .full:
            return ([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], [0, 128, 128])
        case .video:
            return ([[0.257, 0.504, 0.098], [-0.148, -0.291, 0.439], [0.439, -0.368, -0.071]], [16, 128, 128])
        }
    }

    /// YUV -> RGB: the exact inverse of `forward`, so a round trip loses only rounding and chroma detail.
    var inverse: YUVToRGB {
        let (m, offset) = forward
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        func cof(_ r: Int, _ c: Int) -> Double {
            let rows = [0, 1, 2].filter { $0 != r }, cols = [0, 1, 2].filter { $0 != c }
            let minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]]
            return (r + c) % 2 == 0 ? minor : -minor
        }
        // inverse[i][j] = cofactor(j, i) / det
        var inv = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<3 { for j in 0..<3 { inv[i][j] = cof(j, i) / det } }
        return YUVToRGB(matrix: inv.map { $0.map { Float($0) } }, offset: offset.map { Float($0) })
    }
}

/// Float YUV -> RGB: rgb = matrix * (yuv - offset).
struct YUVToRGB: Sendable {
    let matrix: [[Float]]
    let offset: [Float]

    @inline(__always)
    func rgb(_ y: Float, _ u: Float, _ v: Float) -> (Float, Float, Float) {
        let a = y - offset[0], b = u - offset[1], c = v - offset[2]
        let m = matrix
        return (m[0][0] * a + m[0][1] * b + m[0][2] * c,
                m[1][0] * a + m[1][1] * b + m[1][2] * c,
                m[2][0] * a + m[2][1] * b + m[2][2] * c)
    }
}

/// How chroma (one U, V pair per 2x2 pixels) is spread back over the pixels.
public enum ChromaUpsampling: String, Sendable, CaseIterable, Codable {
    /// Each pair covers its 2x2 block as is (what a simple hardware converter does).
    case nearest
    /// Bilinear between chroma sample centres (weights 3/4, 1/4 per axis; edges clamped).
    case bilinear
}

@inline(__always)
private func saturate8(_ x: Double) -> UInt8 {
    let r = x.rounded()
    return r <= 0 ? 0 : (r >= 255 ? 255 : UInt8(r))
}

extension NV12Frame {
    /// Converts an RGB image (even width and height) to NV12: Y per pixel, U and V computed per
    /// pixel and averaged over each 2x2 block, then rounded to 8 bits.
    public init(rgb image: RGBImage, range: YUVRange = .full, path: String = "image") throws {
        try Self.checkSize(width: image.width, height: image.height, path: path)
        let w = image.width, h = image.height
        let (m, off) = range.forward
        var out = [UInt8](repeating: 0, count: Self.byteCount(width: w, height: h))
        image.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(w * h) {
                    let r = Double(px[3 * i]), g = Double(px[3 * i + 1]), b = Double(px[3 * i + 2])
                    dst[i] = saturate8(off[0] + m[0][0] * r + m[0][1] * g + m[0][2] * b)
                }
                let chroma = w * h
                for cy in 0..<(h / 2) {
                    for cx in 0..<(w / 2) {
                        var r = 0.0, g = 0.0, b = 0.0
                        for dy in 0..<2 {
                            for dx in 0..<2 {
                                let p = ((2 * cy + dy) * w + 2 * cx + dx) * 3
                                r += Double(px[p]); g += Double(px[p + 1]); b += Double(px[p + 2])
                            }
                        }
                        r *= 0.25; g *= 0.25; b *= 0.25
                        let o = chroma + cy * w + 2 * cx
                        dst[o] = saturate8(off[1] + m[1][0] * r + m[1][1] * g + m[1][2] * b)
                        dst[o + 1] = saturate8(off[2] + m[2][0] * r + m[2][1] * g + m[2][2] * b)
                    }
                }
            }
        }
        self.width = w
        self.height = h
        self.bytes = out
    }

    /// Calls `body(x, y, r, g, b)` for every pixel with its float RGB (not rounded or clipped).
    @inline(__always)
    func forEachPixelRGB(range: YUVRange, upsampling: ChromaUpsampling,
                         _ body: (Int, Int, Float, Float, Float) -> Void) {
        let toRGB = range.inverse
        let w = width, h = height, cw = w / 2, ch = h / 2
        bytes.withUnsafeBufferPointer { src in
            let uv = w * h
            @inline(__always) func chroma(_ cx: Int, _ cy: Int) -> (Float, Float) {
                let o = uv + cy * w + 2 * cx
                return (Float(src[o]), Float(src[o + 1]))
            }
            for y in 0..<h {
                for x in 0..<w {
                    let u: Float, v: Float
                    switch upsampling {
                    case .nearest:
                        (u, v) = chroma(x / 2, y / 2)
                    case .bilinear:
                        // Chroma sample i sits at pixel 2i + 0.5: the nearer one weighs 3/4.
                        let cx = x / 2, cy = y / 2
                        let nx = x % 2 == 0 ? max(cx - 1, 0) : min(cx + 1, cw - 1)
                        let ny = y % 2 == 0 ? max(cy - 1, 0) : min(cy + 1, ch - 1)
                        let a = chroma(cx, cy), b = chroma(nx, cy), c = chroma(cx, ny), d = chroma(nx, ny)
                        u = 0.5625 * a.0 + 0.1875 * (b.0 + c.0) + 0.0625 * d.0
                        v = 0.5625 * a.1 + 0.1875 * (b.1 + c.1) + 0.0625 * d.1
                    }
                    let (r, g, b) = toRGB.rgb(Float(src[y * w + x]), u, v)
                    body(x, y, r, g, b)
                }
            }
        }
    }

    /// Converts back to 8-bit RGB (rounded, saturated), upsampling chroma as asked.
    public func rgbImage(range: YUVRange = .full, upsampling: ChromaUpsampling = .bilinear) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let w = width
        out.withUnsafeMutableBufferPointer { dst in
            forEachPixelRGB(range: range, upsampling: upsampling) { x, y, r, g, b in
                let p = (y * w + x) * 3
                dst[p] = saturate8(Double(r))
                dst[p + 1] = saturate8(Double(g))
                dst[p + 2] = saturate8(Double(b))
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
