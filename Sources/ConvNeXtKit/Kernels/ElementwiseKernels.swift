import Foundation

/// Channel layout of one NHWC pixel: `channels` real values padded with zeros to
/// `paddedChannels` (a multiple of 16). Pad lanes must stay zero through every kernel.
public struct ChannelLayout: Sendable, Equatable {
    public let channels: Int
    public let paddedChannels: Int
    /// Offset into `laneMaskTable` of the last vector's mask (0 when it is full).
    let tailMaskOffset: Int

    public init(channels: Int) {
        self.channels = channels
        self.paddedChannels = roundUp16(channels)
        tailMaskOffset = paddedChannels - channels
    }

    /// Number of 16-lane vectors per pixel.
    public var vectors: Int { paddedChannels / 16 }

    /// 1 in the real lanes of vector `v`, 0 in pad lanes. Loaded from memory in every
    /// iteration: special-casing the last vector makes LLVM scalarise it.
    @inline(__always)
    func mask(_ v: Int) -> SIMD16<Float> {
        load16(laneMaskTable + (v == vectors - 1 ? tailMaskOffset : 0))
    }
}

/// 16 ones then 16 zeros: 16 floats read at offset `k` give 16 - k ones, then zeros.
nonisolated(unsafe) private let laneMaskTable: UnsafePointer<Float> = {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: 32)
    for i in 0..<32 { p[i] = i < 16 ? 1 : 0 }
    return UnsafePointer(p)
}()

/// LayerNorm of one pixel over its channels, without affine (the affine is folded into the
/// next layer): `out = (x - mean) / sqrt(var + eps)`; pad lanes are written as zeros.
/// `input` and `output` may be the same address.
public func layernorm_f32_row(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                              _ layout: ChannelLayout, epsilon: Float) {
    let (mean, inv) = meanAndInverseStd(input, layout, epsilon: epsilon)
    let m = SIMD16<Float>(repeating: mean), s = SIMD16<Float>(repeating: inv)
    for v in 0..<layout.vectors {
        store16((load16(input + 16 * v) - m) * s * layout.mask(v), output + 16 * v)
    }
}

/// LayerNorm of one pixel with its affine: `out = (x - mean) / sqrt(var + eps) * gamma + beta`
/// (gamma and beta padded with zeros). Used where the output is the residual stream (stem).
public func layernorm_affine_f32_row(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                     _ layout: ChannelLayout, epsilon: Float,
                                     gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>) {
    let (mean, inv) = meanAndInverseStd(input, layout, epsilon: epsilon)
    let m = SIMD16<Float>(repeating: mean), s = SIMD16<Float>(repeating: inv)
    for v in 0..<layout.vectors {
        let o = 16 * v
        let normalised = (load16(input + o) - m) * s
        store16(load16(beta + o).addingProduct(normalised, load16(gamma + o)), output + o)
    }
}

/// Mean and 1/sqrt(variance + eps) over the real channels in one pass: sums of x - x[0]
/// and of its square (shifting by a sample keeps E[d^2] - E[d]^2 free of cancellation
/// unless one channel sits many standard deviations from the mean). The two horizontal
/// sums are independent, which halves the latency chain of the two-pass form.
@inline(__always)
private func meanAndInverseStd(_ x: UnsafePointer<Float>, _ layout: ChannelLayout, epsilon: Float) -> (Float, Float) {
    let shift = SIMD16<Float>(repeating: x[0])
    var s = SIMD16<Float>(), q = SIMD16<Float>()
    for v in 0..<layout.vectors {
        let d = (load16(x + 16 * v) - shift) * layout.mask(v)
        s += d
        q = q.addingProduct(d, d)
    }
    let scale = 1 / Float(layout.channels)
    let meanShifted = horizontalSum(s) * scale
    let variance = max(horizontalSum(q) * scale - meanShifted * meanShifted, 0)
    return (x[0] + meanShifted, 1 / (variance + epsilon).squareRoot())
}

/// The plain LayerNorm of one pixel (ncnn style), in Double; affine optional.
public func layernorm_f32_reference(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                    _ layout: ChannelLayout, epsilon: Float,
                                    gamma: UnsafePointer<Float>? = nil, beta: UnsafePointer<Float>? = nil) {
    let c = layout.channels
    var mean = 0.0
    for i in 0..<c { mean += Double(input[i]) }
    mean /= Double(c)
    var variance = 0.0
    for i in 0..<c { variance += (Double(input[i]) - mean) * (Double(input[i]) - mean) }
    variance /= Double(c)
    let inv = 1 / (variance + Double(epsilon)).squareRoot()
    for i in 0..<c {
        var v = (Double(input[i]) - mean) * inv
        if let g = gamma, let b = beta { v = v * Double(g[i]) + Double(b[i]) }
        output[i] = Float(v)
    }
    for i in c..<layout.paddedChannels { output[i] = 0 }
}

// MARK: GELU

/// Coefficients of erf(z) ~ z P(z^2) / Q(z^2) on |z| <= 3.9, fitted for this project
/// (weighted least squares on the linearised rational form); max abs error ~3e-7 in
/// float32 arithmetic (1.5e-8 in exact arithmetic). Beyond 3.9, 1 - erf < 4e-8.
private enum ErfRational {
    static let p0: Float = 1.128378987312317
    static let p1: Float = 0.1918746680021286
    static let p2: Float = 0.052958425134420395
    static let p3: Float = 0.003834098344668746
    static let p4: Float = 0.00028740623383782804
    static let p5: Float = 2.051053570539807e-06
    static let q1: Float = 0.503376305103302
    static let q2: Float = 0.11473102122545242
    static let q3: Float = 0.015103648416697979
    static let q4: Float = 0.0011810812866315246
    static let q5: Float = 3.823496081167832e-05
    static let zLimit: Float = 3.9
}

/// GELU, erf form, on `count` floats (a multiple of 16) in place: x/2 (1 + erf(x/sqrt 2)).
public func gelu_f32_x16(_ data: UnsafeMutablePointer<Float>, count: Int) {
    gelu_f32_x16(data, width: count, rows: 1, stride: count)
}

/// GELU in place on `rows` rows of `width` floats (a multiple of 16), `stride` floats apart:
/// one call per GEMM tile, so the constants are set up once per tile.
public func gelu_f32_x16(_ data: UnsafeMutablePointer<Float>, width: Int, rows: Int, stride: Int) {
    let c = SIMD16<Float>(repeating: 0.70710678118654752)
    let lim = SIMD16<Float>(repeating: ErfRational.zLimit)
    let half = SIMD16<Float>(repeating: 0.5)
    let p5 = SIMD16<Float>(repeating: ErfRational.p5), p4 = SIMD16<Float>(repeating: ErfRational.p4)
    let p3 = SIMD16<Float>(repeating: ErfRational.p3), p2 = SIMD16<Float>(repeating: ErfRational.p2)
    let p1 = SIMD16<Float>(repeating: ErfRational.p1), p0 = SIMD16<Float>(repeating: ErfRational.p0)
    let q5 = SIMD16<Float>(repeating: ErfRational.q5), q4 = SIMD16<Float>(repeating: ErfRational.q4)
    let q3 = SIMD16<Float>(repeating: ErfRational.q3), q2 = SIMD16<Float>(repeating: ErfRational.q2)
    let q1 = SIMD16<Float>(repeating: ErfRational.q1), one = SIMD16<Float>(repeating: 1)
    for r in 0..<rows {
    let row = data + r * stride
    var i = 0
    while i < width {
        let x = load16(row + i)
        // `replacing(where:)` compiles to vminps/vmaxps; `clamped` would go lane by lane.
        var z = x * c
        z = z.replacing(with: lim, where: z .> lim)
        z = z.replacing(with: -lim, where: z .< -lim)
        let u = z * z
        var p = p4.addingProduct(p5, u)
        p = p3.addingProduct(p, u)
        p = p2.addingProduct(p, u)
        p = p1.addingProduct(p, u)
        p = p0.addingProduct(p, u)
        var q = q4.addingProduct(q5, u)
        q = q3.addingProduct(q, u)
        q = q2.addingProduct(q, u)
        q = q1.addingProduct(q, u)
        q = one.addingProduct(q, u)
        let erf = z * p / q
        let hx = x * half
        store16(hx.addingProduct(hx, erf), row + i)
        i += 16
    }
    }
}

/// The plain GELU (ncnn style) with the libm erf in Double.
public func gelu_f32_reference(_ data: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = Double(data[i])
        data[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    }
}
