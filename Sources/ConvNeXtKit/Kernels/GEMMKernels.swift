/// One register tile of `C = A x B + bias (+ residual)`: up to `mr` rows of A against one
/// prepacked panel of B that is `nr` columns wide.
///
/// - A is row-major with leading dimension `lda`; only `k` columns are read.
/// - B is a panel packed k-major: for each of the `k` rows, `nr` contiguous floats.
/// - Row `r` of C is stored at `c + rowOffset(r)`, where `rowOffset(r)` is `cRowOffsets[r]`
///   when given (NHWC maps with padded borders) and `r * ldc` otherwise. A residual, when
///   given, is read at the same offsets from `residual` and added.
/// - `rows` (1...mr) rows are stored; missing rows repeat the last A row so the kernel
///   needs no branches in its k loop.
public struct GEMMTile {
    public var k: Int
    public var a: UnsafePointer<Float>
    public var lda: Int
    public var rows: Int
    public var b: UnsafePointer<Float>
    public var bias: UnsafePointer<Float>
    public var c: UnsafeMutablePointer<Float>
    public var ldc: Int
    public var cRowOffsets: UnsafePointer<Int>?
    public var residual: UnsafePointer<Float>?

    public init(k: Int, a: UnsafePointer<Float>, lda: Int, rows: Int, b: UnsafePointer<Float>,
                bias: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                cRowOffsets: UnsafePointer<Int>? = nil, residual: UnsafePointer<Float>? = nil) {
        self.k = k
        self.a = a
        self.lda = lda
        self.rows = rows
        self.b = b
        self.bias = bias
        self.c = c
        self.ldc = ldc
        self.cRowOffsets = cRowOffsets
        self.residual = residual
    }

    /// Address of A row `r`, clamped to the last valid row.
    @inline(__always)
    func aRow(_ r: Int) -> UnsafePointer<Float> { a + min(r, rows - 1) * lda }

    /// Float offset of C row `r`.
    @inline(__always)
    func cOffset(_ r: Int) -> Int { cRowOffsets.map { $0[r] } ?? r * ldc }

    /// Stores `nv` vectors of one C row, adding the residual when there is one.
    @inline(__always)
    func storeRow(_ r: Int, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ v2: SIMD16<Float>, nv: Int) {
        let off = cOffset(r)
        let dst = c + off
        if let res = residual {
            let src = res + off
            store16(v0 + load16(src), dst)
            if nv > 1 { store16(v1 + load16(src + 16), dst + 16) }
            if nv > 2 { store16(v2 + load16(src + 32), dst + 32) }
        } else {
            store16(v0, dst)
            if nv > 1 { store16(v1, dst + 16) }
            if nv > 2 { store16(v2, dst + 32) }
        }
    }
}

/// Multiply-accumulates one broadcast A value into a row of three accumulators.
@inline(__always)
private func fma3(_ c0: inout SIMD16<Float>, _ c1: inout SIMD16<Float>, _ c2: inout SIMD16<Float>,
                  _ a: Float, _ b0: SIMD16<Float>, _ b1: SIMD16<Float>, _ b2: SIMD16<Float>) {
    let av = SIMD16<Float>(repeating: a)
    c0 = c0.addingProduct(av, b0)
    c1 = c1.addingProduct(av, b1)
    c2 = c2.addingProduct(av, b2)
}

/// Multiply-accumulates one broadcast A value into a row of two accumulators.
@inline(__always)
private func fma2(_ c0: inout SIMD16<Float>, _ c1: inout SIMD16<Float>,
                  _ a: Float, _ b0: SIMD16<Float>, _ b1: SIMD16<Float>) {
    let av = SIMD16<Float>(repeating: a)
    c0 = c0.addingProduct(av, b0)
    c1 = c1.addingProduct(av, b1)
}

/// 8 rows x 48 columns: 24 zmm accumulators, 3 B loads and 8 broadcasts per k.
public func gemm_f32_8x48(_ t: GEMMTile) {
    let a0 = t.aRow(0), a1 = t.aRow(1), a2 = t.aRow(2), a3 = t.aRow(3)
    let a4 = t.aRow(4), a5 = t.aRow(5), a6 = t.aRow(6), a7 = t.aRow(7)
    let z0 = load16(t.bias), z1 = load16(t.bias + 16), z2 = load16(t.bias + 32)
    var c00 = z0, c01 = z1, c02 = z2, c10 = z0, c11 = z1, c12 = z2
    var c20 = z0, c21 = z1, c22 = z2, c30 = z0, c31 = z1, c32 = z2
    var c40 = z0, c41 = z1, c42 = z2, c50 = z0, c51 = z1, c52 = z2
    var c60 = z0, c61 = z1, c62 = z2, c70 = z0, c71 = z1, c72 = z2
    var pb = t.b
    for kk in 0..<t.k {
        let b0 = load16(pb), b1 = load16(pb + 16), b2 = load16(pb + 32)
        pb += 48
        fma3(&c00, &c01, &c02, a0[kk], b0, b1, b2)
        fma3(&c10, &c11, &c12, a1[kk], b0, b1, b2)
        fma3(&c20, &c21, &c22, a2[kk], b0, b1, b2)
        fma3(&c30, &c31, &c32, a3[kk], b0, b1, b2)
        fma3(&c40, &c41, &c42, a4[kk], b0, b1, b2)
        fma3(&c50, &c51, &c52, a5[kk], b0, b1, b2)
        fma3(&c60, &c61, &c62, a6[kk], b0, b1, b2)
        fma3(&c70, &c71, &c72, a7[kk], b0, b1, b2)
    }
    let rows = t.rows
    t.storeRow(0, c00, c01, c02, nv: 3)
    if rows > 1 { t.storeRow(1, c10, c11, c12, nv: 3) }
    if rows > 2 { t.storeRow(2, c20, c21, c22, nv: 3) }
    if rows > 3 { t.storeRow(3, c30, c31, c32, nv: 3) }
    if rows > 4 { t.storeRow(4, c40, c41, c42, nv: 3) }
    if rows > 5 { t.storeRow(5, c50, c51, c52, nv: 3) }
    if rows > 6 { t.storeRow(6, c60, c61, c62, nv: 3) }
    if rows > 7 { t.storeRow(7, c70, c71, c72, nv: 3) }
}

/// 8 rows x 32 columns: 16 zmm accumulators, 2 B loads and 8 broadcasts per k.
public func gemm_f32_8x32(_ t: GEMMTile) {
    let a0 = t.aRow(0), a1 = t.aRow(1), a2 = t.aRow(2), a3 = t.aRow(3)
    let a4 = t.aRow(4), a5 = t.aRow(5), a6 = t.aRow(6), a7 = t.aRow(7)
    let z0 = load16(t.bias), z1 = load16(t.bias + 16)
    var c00 = z0, c01 = z1, c10 = z0, c11 = z1, c20 = z0, c21 = z1, c30 = z0, c31 = z1
    var c40 = z0, c41 = z1, c50 = z0, c51 = z1, c60 = z0, c61 = z1, c70 = z0, c71 = z1
    var pb = t.b
    for kk in 0..<t.k {
        let b0 = load16(pb), b1 = load16(pb + 16)
        pb += 32
        fma2(&c00, &c01, a0[kk], b0, b1)
        fma2(&c10, &c11, a1[kk], b0, b1)
        fma2(&c20, &c21, a2[kk], b0, b1)
        fma2(&c30, &c31, a3[kk], b0, b1)
        fma2(&c40, &c41, a4[kk], b0, b1)
        fma2(&c50, &c51, a5[kk], b0, b1)
        fma2(&c60, &c61, a6[kk], b0, b1)
        fma2(&c70, &c71, a7[kk], b0, b1)
    }
    let rows = t.rows, z = SIMD16<Float>()
    t.storeRow(0, c00, c01, z, nv: 2)
    if rows > 1 { t.storeRow(1, c10, c11, z, nv: 2) }
    if rows > 2 { t.storeRow(2, c20, c21, z, nv: 2) }
    if rows > 3 { t.storeRow(3, c30, c31, z, nv: 2) }
    if rows > 4 { t.storeRow(4, c40, c41, z, nv: 2) }
    if rows > 5 { t.storeRow(5, c50, c51, z, nv: 2) }
    if rows > 6 { t.storeRow(6, c60, c61, z, nv: 2) }
    if rows > 7 { t.storeRow(7, c70, c71, z, nv: 2) }
}

/// 8 rows x 16 columns: for narrow layers (16 channels and fewer).
public func gemm_f32_8x16(_ t: GEMMTile) {
    let a0 = t.aRow(0), a1 = t.aRow(1), a2 = t.aRow(2), a3 = t.aRow(3)
    let a4 = t.aRow(4), a5 = t.aRow(5), a6 = t.aRow(6), a7 = t.aRow(7)
    let z0 = load16(t.bias)
    var c0 = z0, c1 = z0, c2 = z0, c3 = z0, c4 = z0, c5 = z0, c6 = z0, c7 = z0
    var pb = t.b
    for kk in 0..<t.k {
        let b0 = load16(pb)
        pb += 16
        c0 = c0.addingProduct(SIMD16(repeating: a0[kk]), b0)
        c1 = c1.addingProduct(SIMD16(repeating: a1[kk]), b0)
        c2 = c2.addingProduct(SIMD16(repeating: a2[kk]), b0)
        c3 = c3.addingProduct(SIMD16(repeating: a3[kk]), b0)
        c4 = c4.addingProduct(SIMD16(repeating: a4[kk]), b0)
        c5 = c5.addingProduct(SIMD16(repeating: a5[kk]), b0)
        c6 = c6.addingProduct(SIMD16(repeating: a6[kk]), b0)
        c7 = c7.addingProduct(SIMD16(repeating: a7[kk]), b0)
    }
    let rows = t.rows, z = SIMD16<Float>()
    t.storeRow(0, c0, z, z, nv: 1)
    if rows > 1 { t.storeRow(1, c1, z, z, nv: 1) }
    if rows > 2 { t.storeRow(2, c2, z, z, nv: 1) }
    if rows > 3 { t.storeRow(3, c3, z, z, nv: 1) }
    if rows > 4 { t.storeRow(4, c4, z, z, nv: 1) }
    if rows > 5 { t.storeRow(5, c5, z, z, nv: 1) }
    if rows > 6 { t.storeRow(6, c6, z, z, nv: 1) }
    if rows > 7 { t.storeRow(7, c7, z, z, nv: 1) }
}

/// 1 row x 48 columns (a GEMV strip): for the classifier and single-row tails.
/// Four k steps per iteration keep four independent FMA chains per column vector.
public func gemm_f32_1x48(_ t: GEMMTile) {
    let a0 = t.a
    var p0 = load16(t.bias), p1 = load16(t.bias + 16), p2 = load16(t.bias + 32)
    var q0 = SIMD16<Float>(), q1 = SIMD16<Float>(), q2 = SIMD16<Float>()
    var pb = t.b
    var kk = 0
    while kk + 1 < t.k {
        let x = SIMD16<Float>(repeating: a0[kk]), y = SIMD16<Float>(repeating: a0[kk + 1])
        p0 = p0.addingProduct(x, load16(pb))
        p1 = p1.addingProduct(x, load16(pb + 16))
        p2 = p2.addingProduct(x, load16(pb + 32))
        q0 = q0.addingProduct(y, load16(pb + 48))
        q1 = q1.addingProduct(y, load16(pb + 64))
        q2 = q2.addingProduct(y, load16(pb + 80))
        pb += 96
        kk += 2
    }
    if kk < t.k {
        let x = SIMD16<Float>(repeating: a0[kk])
        p0 = p0.addingProduct(x, load16(pb))
        p1 = p1.addingProduct(x, load16(pb + 16))
        p2 = p2.addingProduct(x, load16(pb + 32))
    }
    t.storeRow(0, p0 + q0, p1 + q1, p2 + q2, nv: 3)
}

/// 1 row x 32 columns.
public func gemm_f32_1x32(_ t: GEMMTile) {
    var p0 = load16(t.bias), p1 = load16(t.bias + 16)
    var pb = t.b
    for kk in 0..<t.k {
        let x = SIMD16<Float>(repeating: t.a[kk])
        p0 = p0.addingProduct(x, load16(pb))
        p1 = p1.addingProduct(x, load16(pb + 16))
        pb += 32
    }
    t.storeRow(0, p0, p1, SIMD16<Float>(), nv: 2)
}

/// 1 row x 16 columns.
public func gemm_f32_1x16(_ t: GEMMTile) {
    var p0 = load16(t.bias)
    var pb = t.b
    for kk in 0..<t.k {
        p0 = p0.addingProduct(SIMD16<Float>(repeating: t.a[kk]), load16(pb))
        pb += 16
    }
    t.storeRow(0, p0, SIMD16<Float>(), SIMD16<Float>(), nv: 1)
}

/// The plain version of every GEMM tile kernel (ncnn style): the same contract, scalar loops,
/// accumulating in Double. Kernel tests compare each optimised kernel with it.
public func gemm_f32_reference(_ t: GEMMTile, mr: Int, nr: Int) {
    for r in 0..<min(t.rows, mr) {
        let a = t.aRow(r)
        let off = t.cOffset(r)
        for j in 0..<nr {
            var acc = Double(t.bias[j])
            for kk in 0..<t.k { acc += Double(a[kk]) * Double(t.b[kk * nr + j]) }
            if let res = t.residual { acc += Double(res[off + j]) }
            t.c[off + j] = Float(acc)
        }
    }
}
