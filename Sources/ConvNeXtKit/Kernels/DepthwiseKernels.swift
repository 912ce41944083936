/// A strip of output pixels of a 7x7 depthwise convolution for one block of 16 channels,
/// NHWC with a zero border of 3 pixels around the input (so no bounds checks).
///
/// `input` is the top-left tap of the first output pixel's window (padded row y, padded
/// column x, channel block); pixel `p`'s window starts `p * pixelStride` floats later.
/// `weights` holds the 49 taps of this channel block, tap-major (`[ky*7+kx][16]`).
public struct DepthwiseStrip {
    public var input: UnsafePointer<Float>
    public var rowStride: Int
    public var pixelStride: Int
    public var weights: UnsafePointer<Float>
    public var bias: UnsafePointer<Float>
    public var output: UnsafeMutablePointer<Float>
    public var outputStride: Int
    public var pixels: Int

    public init(input: UnsafePointer<Float>, rowStride: Int, pixelStride: Int, weights: UnsafePointer<Float>,
                bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int, pixels: Int) {
        self.input = input
        self.rowStride = rowStride
        self.pixelStride = pixelStride
        self.weights = weights
        self.bias = bias
        self.output = output
        self.outputStride = outputStride
        self.pixels = pixels
    }
}

/// Seven taps of one kernel row for one output pixel: acc + sum(i_k * w_k), one FMA chain.
@inline(__always)
private func taps7(_ acc: SIMD16<Float>, _ i0: SIMD16<Float>, _ i1: SIMD16<Float>, _ i2: SIMD16<Float>,
                   _ i3: SIMD16<Float>, _ i4: SIMD16<Float>, _ i5: SIMD16<Float>, _ i6: SIMD16<Float>,
                   _ w: UnsafePointer<Float>) -> SIMD16<Float> {
    var a = acc.addingProduct(i0, load16(w))
    a = a.addingProduct(i1, load16(w + 16))
    a = a.addingProduct(i2, load16(w + 32))
    a = a.addingProduct(i3, load16(w + 48))
    a = a.addingProduct(i4, load16(w + 64))
    a = a.addingProduct(i5, load16(w + 80))
    return a.addingProduct(i6, load16(w + 96))
}

/// 8 output pixels x 16 channels: each kernel row loads 14 input vectors once and reuses
/// them across the 8 pixels (56 FMAs per 14 input loads). Stores the first `pixels` (<= 8)
/// outputs; for a short strip it reads (and discards) up to 7 pixels past the row's end,
/// so maps keep that much slack after their last row.
public func dwconv7x7_f32_8x16(_ s: DepthwiseStrip) {
    let ps = s.pixelStride
    let z = load16(s.bias)
    var o0 = z, o1 = z, o2 = z, o3 = z, o4 = z, o5 = z, o6 = z, o7 = z
    for ky in 0..<7 {
        let r = s.input + ky * s.rowStride
        let w = s.weights + ky * 7 * 16
        let i0 = load16(r), i1 = load16(r + ps), i2 = load16(r + 2 * ps), i3 = load16(r + 3 * ps)
        let i4 = load16(r + 4 * ps), i5 = load16(r + 5 * ps), i6 = load16(r + 6 * ps)
        let i7 = load16(r + 7 * ps), i8 = load16(r + 8 * ps), i9 = load16(r + 9 * ps)
        let i10 = load16(r + 10 * ps), i11 = load16(r + 11 * ps), i12 = load16(r + 12 * ps)
        let i13 = load16(r + 13 * ps)
        o0 = taps7(o0, i0, i1, i2, i3, i4, i5, i6, w)
        o1 = taps7(o1, i1, i2, i3, i4, i5, i6, i7, w)
        o2 = taps7(o2, i2, i3, i4, i5, i6, i7, i8, w)
        o3 = taps7(o3, i3, i4, i5, i6, i7, i8, i9, w)
        o4 = taps7(o4, i4, i5, i6, i7, i8, i9, i10, w)
        o5 = taps7(o5, i5, i6, i7, i8, i9, i10, i11, w)
        o6 = taps7(o6, i6, i7, i8, i9, i10, i11, i12, w)
        o7 = taps7(o7, i7, i8, i9, i10, i11, i12, i13, w)
    }
    let os = s.outputStride, out = s.output, n = s.pixels
    store16(o0, out)
    if n > 1 { store16(o1, out + os) }
    if n > 2 { store16(o2, out + 2 * os) }
    if n > 3 { store16(o3, out + 3 * os) }
    if n > 4 { store16(o4, out + 4 * os) }
    if n > 5 { store16(o5, out + 5 * os) }
    if n > 6 { store16(o6, out + 6 * os) }
    if n > 7 { store16(o7, out + 7 * os) }
}

/// The plain 7x7 depthwise strip (ncnn style), accumulating in Double: `pixels` output
/// pixels of one 16-channel block (at most the kernel's strip length).
public func dwconv7x7_f32_reference(_ s: DepthwiseStrip) {
    for p in 0..<s.pixels {
        for ch in 0..<16 {
            var acc = Double(s.bias[ch])
            for ky in 0..<7 {
                for kx in 0..<7 {
                    let x = s.input[ky * s.rowStride + (p + kx) * s.pixelStride + ch]
                    acc += Double(x) * Double(s.weights[(ky * 7 + kx) * 16 + ch])
                }
            }
            s.output[p * s.outputStride + ch] = Float(acc)
        }
    }
}
