/// An 8-bit RGB image, pixels interleaved (R, G, B) row by row, top row first.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width * height * 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "pixel count does not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.0
            pixels[3 * i + 1] = fill.1
            pixels[3 * i + 2] = fill.2
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The (R, G, B) value at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// The rectangle `[left, left + width) x [top, top + height)`, which must lie inside the image.
    public func cropped(left: Int, top: Int, width w: Int, height h: Int) -> RGBImage {
        precondition(left >= 0 && top >= 0 && left + w <= width && top + h <= height, "crop outside the image")
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let src = ((top + y) * width + left) * 3
            out.withUnsafeMutableBufferPointer { dst in
                pixels.withUnsafeBufferPointer { s in
                    for i in 0..<(w * 3) { dst[y * w * 3 + i] = s[src + i] }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// This image placed at (`left`, `top`) on a `width` x `height` canvas of colour `fill`.
    /// Parts falling outside the canvas are cut off.
    public func placed(onCanvasWidth cw: Int, height ch: Int, left: Int, top: Int,
                       fill: (UInt8, UInt8, UInt8)) -> RGBImage {
        var canvas = RGBImage(width: cw, height: ch, fill: fill)
        for y in 0..<height {
            let cy = top + y
            guard cy >= 0 && cy < ch else { continue }
            for x in 0..<width {
                let cx = left + x
                guard cx >= 0 && cx < cw else { continue }
                let s = (y * width + x) * 3, d = (cy * cw + cx) * 3
                canvas.pixels[d] = pixels[s]
                canvas.pixels[d + 1] = pixels[s + 1]
                canvas.pixels[d + 2] = pixels[s + 2]
            }
        }
        return canvas
    }
}
