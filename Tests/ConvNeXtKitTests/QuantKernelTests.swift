import CConvNeXtKernels
import Foundation
import XCTest
import ConvNeXtKit

/// The int8 GEMM kernels of the table against a plain integer computation, and against each other.
final class QuantKernelTests: XCTestCase {
    struct Case {
        var m: Int, n: Int, k: Int
    }

    /// Runs `kernel` on random data and returns the raw output bytes.
    func runKernel(_ kernel: Int8GEMMKernel, _ c: Case, kind: cnxq_output_kind, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        let kp = (c.k + 3) / 4 * 4, groups = kp / 4, np = (c.n + 15) / 16 * 16
        let a = (0..<(c.m * kp)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let aLo = (0..<(c.m * kp)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let w = (0..<(c.n * kp)).map { _ in Int8(Int(rng.next() % 255) - 127) }
        var packed = [Int8](repeating: 0, count: cnxq_packed_size(c.n, groups))
        var colsum = [Int32](repeating: 0, count: np)
        cnxq_pack_weights(w, c.n, kp, groups, &packed, &colsum)
        let zp: Int32 = kernel.inputPlanes == 2 ? 31000 : 117
        let zpcs = colsum.map { (kernel.inputPlanes == 2 ? zp >> 8 : zp) * $0 }
        let zpcsLo = colsum.map { (zp & 255) * $0 }
        let scale = (0..<np).map { _ in Float(1e-4) * (1 + rng.normal() * 0.1) / (kernel.inputPlanes == 2 ? 256 : 1) }
        let bias = (0..<np).map { _ in rng.normal() }
        let residual = (0..<(c.m * c.n)).map { _ in rng.normal() }
        let elem = (kind == CNXQ_OUT_GELU_U8 || kind == CNXQ_OUT_GELU_U16) ? 1 : 4
        var out = [UInt8](repeating: 0, count: c.m * c.n * elem)
        var outLo = [UInt8](repeating: 0, count: c.m * c.n)
        out.withUnsafeMutableBytes { o in
            outLo.withUnsafeMutableBufferPointer { lo in
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { b in
                        zpcs.withUnsafeBufferPointer { z in
                            zpcsLo.withUnsafeBufferPointer { zl in
                                residual.withUnsafeBufferPointer { r in
                                    let q = ActivationQuantization.range(lower: -0.2, upper: 3, precision: kind == CNXQ_OUT_GELU_U16 ? .int16 : .int8, method: "test")
                                    var ep = cnxq_epilogue()
                                    ep.kind = Int32(kind.rawValue)
                                    ep.out = o.baseAddress
                                    ep.out_lo = lo.baseAddress
                                    ep.residual = r.baseAddress
                                    ep.out_pixel_stride = c.n
                                    ep.out_width = Int.max
                                    cnxq_epilogue_set_quantization(&ep, 1 / q.scale, q.zeroPoint)
                                    ep.scale = s.baseAddress
                                    ep.bias = b.baseAddress
                                    ep.zp_colsum = z.baseAddress
                                    ep.zp_colsum_lo = zl.baseAddress
                                    // Two calls over a split row range, as threads do.
                                    let mid = c.m / 2
                                    kernel.function(0, mid, c.n, groups, a, kernel.inputPlanes == 2 ? aLo : nil, kp, packed, &ep)
                                    kernel.function(mid, c.m, c.n, groups, a, kernel.inputPlanes == 2 ? aLo : nil, kp, packed, &ep)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Plain integer reference for the F32 epilogue.
        if kind == CNXQ_OUT_F32 {
            let got = out.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            for i in 0..<c.m {
                for j in 0..<c.n {
                    var hi: Int32 = 0, lo: Int32 = 0
                    for kk in 0..<kp {
                        hi += Int32(a[i * kp + kk]) * Int32(w[j * kp + kk])
                        lo += Int32(aLo[i * kp + kk]) * Int32(w[j * kp + kk])
                    }
                    var v = Float(hi - zpcs[j])
                    if kernel.inputPlanes == 2 { v = v * 256 + Float(lo - zpcsLo[j]) }
                    let expected = v * scale[j] + bias[j]
                    XCTAssertEqual(got[i * c.n + j], expected, "\(kernel.name) m\(i) n\(j) of \(c)")
                    if got[i * c.n + j] != expected { return out }
                }
            }
        }
        return out + (kind == CNXQ_OUT_GELU_U16 ? outLo : [])
    }

    let cases = [Case(m: 1, n: 10, k: 48), Case(m: 7, n: 40, k: 40), Case(m: 13, n: 80, k: 160),
                 Case(m: 49, n: 160, k: 320), Case(m: 6, n: 1000, k: 320), Case(m: 25, n: 320, k: 1280)]

    func testEveryKernelMatchesIntegerReference() {
        let kernels = Int8GEMMKernel.all.filter(\.available)
        XCTAssertTrue(kernels.contains { $0.isa == .portable && $0.inputPlanes == 1 })
        XCTAssertTrue(kernels.contains { $0.isa == .portable && $0.inputPlanes == 2 })
        for kernel in kernels {
            for (i, c) in cases.enumerated() { _ = runKernel(kernel, c, kind: CNXQ_OUT_F32, seed: UInt64(i)) }
        }
    }

    func testAcceleratedAndPortableKernelsAreIdentical() throws {
        let all = Int8GEMMKernel.all
        for kernel in all where !kernel.available {
            print("SKIP \(kernel.name): this CPU (\(CPUFeatures.brand)) lacks \(kernel.isa.rawValue)")
        }
        let vnni = all.filter { $0.isa != .portable && $0.available }
        guard !vnni.isEmpty else { throw XCTSkip("this CPU runs only the portable int8 kernels") }
        let kinds = [CNXQ_OUT_F32, CNXQ_OUT_F32_ADD, CNXQ_OUT_GELU_F32, CNXQ_OUT_GELU_U8, CNXQ_OUT_GELU_U16]
        for fast in vnni {
            let portable = all.first { $0.isa == .portable && $0.inputPlanes == fast.inputPlanes }!
            for (i, c) in cases.enumerated() {
                for kind in kinds {
                    let a = runKernel(fast, c, kind: kind, seed: 100 + UInt64(i))
                    let b = runKernel(portable, c, kind: kind, seed: 100 + UInt64(i))
                    XCTAssertEqual(a, b, "\(fast.name) vs \(portable.name), \(c), epilogue \(kind.rawValue)")
                }
            }
        }
    }

    /// The AMX tiles natively, bit for bit against the portable kernels: row counts around the
    /// 16/32-row blocks, k around the 64-k tile step, odd panel counts. On CPUs without AMX the
    /// same kernels are tested through scalar emulation of the tile instructions
    /// (`scripts/test-c-kernels`), not here.
    func testAMXKernelsMatchPortableNatively() throws {
        let amx = Int8GEMMKernel.all.filter { $0.isa == .amx }
        #if arch(x86_64)
        XCTAssertEqual(amx.map(\.name).sorted(), ["qu16_gemm_16x32c4__amx", "qu8_gemm_32x32c4__amx"])
        #endif
        guard !amx.isEmpty, amx.allSatisfy(\.available) else {
            throw XCTSkip("this CPU (\(CPUFeatures.brand)) lacks AMX (or the OS refused tile data): AMX kernels run only under emulation in scripts/test-c-kernels")
        }
        let shapes = [Case(m: 1, n: 16, k: 4), Case(m: 17, n: 48, k: 68), Case(m: 33, n: 64, k: 60), Case(m: 40, n: 160, k: 1284),
                      Case(m: 31, n: 1000, k: 320), Case(m: 64, n: 320, k: 1280)]
        let kinds = [CNXQ_OUT_F32, CNXQ_OUT_F32_ADD, CNXQ_OUT_GELU_F32, CNXQ_OUT_GELU_U8, CNXQ_OUT_GELU_U16]
        for fast in amx {
            let portable = Int8GEMMKernel.all.first { $0.isa == .portable && $0.inputPlanes == fast.inputPlanes }!
            for (i, c) in (shapes + cases).enumerated() {
                _ = runKernel(fast, c, kind: CNXQ_OUT_F32, seed: 300 + UInt64(i))
                for kind in kinds {
                    XCTAssertEqual(runKernel(fast, c, kind: kind, seed: 200 + UInt64(i)), runKernel(portable, c, kind: kind, seed: 200 + UInt64(i)),
                                   "\(fast.name) vs \(portable.name), \(c), epilogue \(kind.rawValue)")
                }
            }
        }
    }

    func testLayerNormBuildsAreIdentical() {
        var rng = SeededGenerator(seed: 9)
        for channels in [3, 16, 40, 80, 163] {
            let pixels = 7
            let x = (0..<(pixels * channels)).map { _ in rng.normal() * 3 + 1 }
            let gamma = (0..<channels).map { _ in rng.normal() }, beta = (0..<channels).map { _ in rng.normal() }
            for kind in [CNXQ_ACT_F32, CNXQ_ACT_U8, CNXQ_ACT_U16] {
                for affine in [false, true] where !affine || kind == CNXQ_ACT_F32 {
                    var a = [UInt8](repeating: 0, count: pixels * channels * 4), b = a
                    var aLo = [UInt8](repeating: 0, count: pixels * channels), bLo = aLo
                    let zp: Int32 = kind == CNXQ_ACT_U16 ? 32768 : 128
                    let inv: Float = kind == CNXQ_ACT_U16 ? 8000 : 30
                    gamma.withUnsafeBufferPointer { gp in
                        beta.withUnsafeBufferPointer { bp in
                            cnxq_layernorm(x, channels, pixels, channels, 1e-6, affine ? gp.baseAddress : nil, affine ? bp.baseAddress : nil,
                                           Int32(kind.rawValue), inv, zp, &a, &aLo, channels)
                            cnxq_layernorm_portable(x, channels, pixels, channels, 1e-6, affine ? gp.baseAddress : nil, affine ? bp.baseAddress : nil,
                                                    Int32(kind.rawValue), inv, zp, &b, &bLo, channels)
                        }
                    }
                    XCTAssertEqual(a, b, "channels \(channels) kind \(kind.rawValue) affine \(affine)")
                    XCTAssertEqual(aLo, bLo)
                    if kind == CNXQ_ACT_F32 && !affine {
                        // Normalised: zero mean, unit variance per pixel.
                        let z = a.withUnsafeBytes { Array($0.bindMemory(to: Float.self).prefix(channels)) }
                        XCTAssertEqual(z.reduce(0, +) / Float(channels), 0, accuracy: 1e-5)
                        XCTAssertEqual(z.map { $0 * $0 }.reduce(0, +) / Float(channels), 1, accuracy: 1e-3)
                    }
                }
            }
        }
    }

    func testGELUMatchesErfForm() {
        var worst: Double = 0
        var x: Float = -12
        while x <= 12 {
            var v = [x]
            cnxq_gelu_f32(&v, 1)
            let d = Double(x)
            let exact = 0.5 * d * (1 + erf(d / 2.0.squareRoot()))
            worst = max(worst, abs(Double(v[0]) - exact) / max(1, abs(d)))
            x += 0.000731
        }
        XCTAssertLessThan(worst, 5e-7)
    }

    func testActivationQuantizationRoundTrip() {
        let q = ActivationQuantization.range(lower: -1, upper: 3, precision: .int8, method: "max")
        XCTAssertEqual(q.quantize(0), q.zeroPoint)
        XCTAssertEqual(q.quantize(100), 255)
        XCTAssertEqual(q.quantize(-100), 0)
        XCTAssertEqual(q.fakeQuantize(1.0), 1.0, accuracy: q.scale / 2)
        let q16 = q.with(precision: .int16)
        XCTAssertEqual(q16.fakeQuantize(1.2345), 1.2345, accuracy: q16.scale / 2)
        XCTAssertLessThan(q16.scale, q.scale / 200)
    }
}
