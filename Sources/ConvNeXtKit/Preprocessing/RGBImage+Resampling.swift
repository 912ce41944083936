/// The resampling filters of the resize step, with Pillow's definitions.
public enum Interpolation: String, Sendable, CaseIterable, Codable {
    /// Keys cubic convolution, a = -0.5, support 2 (Pillow `BICUBIC`).
    case bicubic
    /// Triangle filter, support 1 (Pillow `BILINEAR`).
    case bilinear

    /// Filter support in input pixels at scale 1.
    var support: Double {
        switch self {
        case .bicubic: return 2
        case .bilinear: return 1
        }
    }

    /// The filter kernel at distance `x`.
    func weight(_ x: Double) -> Double {
        let x = abs(x)
        switch self {
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        }
    }
}

/// Fixed-point filter taps for one axis of a resize, computed exactly as Pillow's
/// `precompute_coeffs` + `normalize_coeffs_8bpc` (Resample.c) so the 8-bit result is identical.
struct ResampleTaps {
    /// Fraction bits of the fixed-point weights (Pillow's PRECISION_BITS = 32 - 8 - 2).
    static let precisionBits: Int32 = 22

    /// Maximum taps per output sample; `weights` holds `outSize * tapCount` values.
    let tapCount: Int
    /// For each computed output sample, the first input index it reads.
    let first: [Int]
    /// For each output sample, how many input samples it reads (<= tapCount).
    let count: [Int]
    /// Weights scaled by 2^22 and rounded half away from zero, after normalising each row to sum 1.
    let weights: [Int32]

    /// Taps for the output samples `outputs` of an `inSize` -> `outSize` resize (all by default;
    /// a sub-range gives the same taps as the full computation, for resizing only a crop).
    init(inSize: Int, outSize: Int, filter: Interpolation, outputs: Range<Int>? = nil) {
        let outputs = outputs ?? 0..<outSize
        // Downscaling widens the filter by the scale factor: that is the antialiasing.
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let tapCount = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outputs.count)
        var count = [Int](repeating: 0, count: outputs.count)
        var weights = [Int32](repeating: 0, count: outputs.count * tapCount)
        var row = [Double](repeating: 0, count: tapCount)
        let inverseFilterScale = 1 / filterScale
        let one = Double(1 << Self.precisionBits)
        for (j, xx) in outputs.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            // C casts truncate toward zero; the clamps make that equal to Pillow's behaviour.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize)
            let n = xmax - xmin
            var total = 0.0
            for x in 0..<n {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * inverseFilterScale)
                row[x] = w
                total += w
            }
            for x in 0..<n {
                let w = total != 0 ? row[x] / total : row[x]
                weights[j * tapCount + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            first[j] = xmin
            count[j] = n
        }
        self.tapCount = tapCount
        self.first = first
        self.count = count
        self.weights = weights
    }

    /// Pillow's `clip8`: drop the fraction bits (arithmetic shift), saturate to 0...255.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        let v = sum >> precisionBits
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }
}

extension RGBImage {
    /// This image resized to `width` x `height` exactly as Pillow's `Image.resize` does for RGB
    /// images with the BICUBIC or BILINEAR filter: two separable passes, each a fixed-point
    /// convolution rounded and clipped to 8 bits, in Pillow's order (see `verticalPassFirst`).
    public func resized(width outW: Int, height outH: Int, filter: Interpolation) -> RGBImage {
        resizedRegion(width: outW, height: outH, columns: 0..<outW, rows: 0..<outH, filter: filter)
    }

    /// Pillow's pass order (Resample.c, Pillow 13): the vertical pass runs first when the height
    /// shrinks by more than twice as many pixels as the width, e.g. 300x700 -> 256x597; otherwise
    /// horizontal first. The order changes the 8-bit rounding between the passes, so it matters
    /// for bit-exactness. (Older Pillow always ran the horizontal pass first.)
    public static func verticalPassFirst(from w: Int, _ h: Int, to outW: Int, _ outH: Int) -> Bool {
        h - outH > 0 && h - outH > (w - outW) * 2
    }

    /// The region `columns` x `rows` of this image resized to `width` x `height`: the same pixels
    /// as `resized(...)` followed by a crop, without computing (or allocating) the rest.
    public func resizedRegion(width outW: Int, height outH: Int, columns: Range<Int>, rows: Range<Int>,
                              filter: Interpolation) -> RGBImage {
        precondition(outW > 0 && outH > 0 && width > 0 && height > 0, "resize to or from an empty image")
        precondition(columns.lowerBound >= 0 && columns.upperBound <= outW && rows.lowerBound >= 0 && rows.upperBound <= outH,
                     "region outside the resized image")
        // Pillow skips an axis whose size does not change.
        let needHorizontal = outW != width
        let needVertical = outH != height
        if !needHorizontal && !needVertical {
            return cropped(left: columns.lowerBound, top: rows.lowerBound, width: columns.count, height: rows.count)
        }
        let horizontal = needHorizontal ? ResampleTaps(inSize: width, outSize: outW, filter: filter, outputs: columns) : nil
        let vertical = needVertical ? ResampleTaps(inSize: height, outSize: outH, filter: filter, outputs: rows) : nil
        switch (horizontal, vertical) {
        case (let h?, nil):
            return resampledHorizontally(taps: h, rows: rows, columnOffset: 0)
        case (nil, let v?):
            return cropped(left: columns.lowerBound, top: 0, width: columns.count, height: height)
                .resampledVertically(taps: v, rowOffset: 0)
        case (let h?, let v?):
            if Self.verticalPassFirst(from: width, height, to: outW, outH) {
                // Only the source columns the horizontal pass reads go through the vertical pass.
                let first = h.first[0], end = h.first[columns.count - 1] + h.count[columns.count - 1]
                return cropped(left: first, top: 0, width: end - first, height: height)
                    .resampledVertically(taps: v, rowOffset: 0)
                    .resampledHorizontally(taps: h, rows: 0..<rows.count, columnOffset: first)
            }
            // Only the source rows the vertical pass reads go through the horizontal pass.
            let first = v.first[0], end = v.first[rows.count - 1] + v.count[rows.count - 1]
            return resampledHorizontally(taps: h, rows: first..<end, columnOffset: 0)
                .resampledVertically(taps: v, rowOffset: first)
        case (nil, nil):
            return self
        }
    }

    /// Horizontal pass: output column j reads this image's columns from `taps.first[j] - columnOffset`,
    /// for the given rows; the result has `taps.first.count` columns and `rows.count` rows.
    func resampledHorizontally(taps: ResampleTaps, rows: Range<Int>, columnOffset: Int) -> RGBImage {
        let cw = taps.first.count
        var out = [UInt8](repeating: 0, count: cw * rows.count * 3)
        let half: Int32 = 1 << (ResampleTaps.precisionBits - 1)
        let ks = taps.tapCount
        pixels.withUnsafeBufferPointer { src in
            taps.weights.withUnsafeBufferPointer { k in
                out.withUnsafeMutableBufferPointer { dst in
                    for (r, y) in rows.enumerated() {
                        let srcRow = y * width * 3
                        let dstRow = r * cw * 3
                        for xx in 0..<cw {
                            let xmin = taps.first[xx] - columnOffset, n = taps.count[xx]
                            var s0 = half, s1 = half, s2 = half
                            for x in 0..<n {
                                let w = k[xx * ks + x]
                                let p = srcRow + (xmin + x) * 3
                                s0 = s0 &+ Int32(src[p]) &* w
                                s1 = s1 &+ Int32(src[p + 1]) &* w
                                s2 = s2 &+ Int32(src[p + 2]) &* w
                            }
                            dst[dstRow + xx * 3] = ResampleTaps.clip8(s0)
                            dst[dstRow + xx * 3 + 1] = ResampleTaps.clip8(s1)
                            dst[dstRow + xx * 3 + 2] = ResampleTaps.clip8(s2)
                        }
                    }
                }
            }
        }
        return RGBImage(width: cw, height: rows.count, pixels: out)
    }

    /// Vertical pass: output row `yy` reads this image's rows from `taps.first[yy] - rowOffset`.
    func resampledVertically(taps: ResampleTaps, rowOffset: Int) -> RGBImage {
        let outH = taps.first.count
        let rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: rowBytes * outH)
        let half: Int32 = 1 << (ResampleTaps.precisionBits - 1)
        let ks = taps.tapCount
        var sums = [Int32](repeating: 0, count: rowBytes)
        pixels.withUnsafeBufferPointer { src in
            taps.weights.withUnsafeBufferPointer { k in
                out.withUnsafeMutableBufferPointer { dst in
                    sums.withUnsafeMutableBufferPointer { acc in
                        for yy in 0..<outH {
                            let ymin = taps.first[yy] - rowOffset, n = taps.count[yy]
                            for i in 0..<rowBytes { acc[i] = half }
                            for y in 0..<n {
                                let w = k[yy * ks + y]
                                let srcRow = (ymin + y) * rowBytes
                                for i in 0..<rowBytes { acc[i] = acc[i] &+ Int32(src[srcRow + i]) &* w }
                            }
                            let dstRow = yy * rowBytes
                            for i in 0..<rowBytes { dst[dstRow + i] = ResampleTaps.clip8(acc[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: outH, pixels: out)
    }
}
