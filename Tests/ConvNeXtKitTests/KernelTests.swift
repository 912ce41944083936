import CConvNeXtKernels
import ConvNeXtKit
import Foundation
import XCTest

/// Every f32 and bf16 kernel of `KernelTable` that this CPU can run, against a plain Double reference, for
/// the shape classes the models use. Entries the CPU cannot run are named in the output.
final class KernelTests: XCTestCase {
    private var rng = SeededGenerator(seed: 42)

    private func randomFloats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in scale * rng.normal() }
    }

    /// The runnable entries of `op`; prints the ones skipped because the CPU lacks their ISA.
    private func runnable(_ op: KernelOp) -> [Kernel] {
        let entries = KernelTable.entries(op)
        for kernel in entries where !kernel.runnable {
            print("SKIP \(kernel.name): this CPU (\(CPUFeatures.brand)) lacks \(kernel.isa.rawValue)")
        }
        return entries.filter(\.runnable)
    }

    func testTableNamesAreUniqueAndEveryOpHasAPortableEntry() {
        let names = KernelTable.all.map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
        for op in KernelOp.allCases {
            XCTAssertTrue(KernelTable.entries(op).contains { $0.isa == .portable }, "\(op) has a portable entry")
            XCTAssertTrue(KernelTable.best(op).enabled)
        }
        for kernel in KernelTable.all {
            XCTAssertTrue(kernel.name.hasSuffix("__\(kernel.isa.rawValue)"), "\(kernel.name) is named by its ISA")
        }
    }

    func testF32GEMMKernelsMatchReference() {
        for kernel in runnable(.f32GEMM) {
            checkGEMMCases(kernel, ks: [1, 3, 16, 40, 80, 161, 320, 1280]) { k, rows, mapped, gelu in
                checkTile(kernel, k: k, rows: rows, mapped: mapped, gelu: gelu, run: kernel.entry.f32_gemm!,
                          // Rows beyond `rows` are NaN: a kernel that reads them poisons its output.
                          storeA: { values, rows, lda in
                              var a = values
                              for i in (rows * lda)..<a.count { a[i] = .nan }
                              return a
                          },
                          packB: { w, _ in w }, aValue: { Double($0) }, bValue: { Double($0) })
            }
        }
    }

    /// Runs `check` on every GEMM case of `kernel`: each k of `ks`, 1...mr rows, and plain, row-mapped
    /// with a residual, or with GELU; then prints the kernel's PASS line.
    private func checkGEMMCases(_ kernel: Kernel, ks: [Int],
                                _ check: (_ k: Int, _ rows: Int, _ mapped: Bool, _ gelu: Bool) -> Void) {
        var cases = 0
        for k in ks {
            for rows in 1...kernel.mr {
                for (mapped, gelu) in [(false, false), (true, false), (false, true)] {
                    check(k, rows, mapped, gelu)
                    cases += 1
                }
            }
        }
        print("PASS \(kernel.name) (\(cases) cases)")
    }

    /// One GEMM tile, f32 or bf16 (`Tile`), against a Double reference of the values the kernel
    /// multiplies: bias + A B, GELU (erf), + residual.
    ///
    /// A (mr x lda, lda = k + 3, scale 0.5) and W (k x nr, scale 1/sqrt(k)) are drawn as floats;
    /// `storeA` turns A into the kernel's rows (everything past `rows` rows and the lda gaps
    /// must stay NaN), `packB` turns W into its panel; `aValue` and `bValue` are the exact values
    /// the kernel multiplies for one stored A element and one W element.
    private func checkTile<Tile: GEMMTileArguments>(
        _ kernel: Kernel, k: Int, rows: Int, mapped: Bool, gelu: Bool, run fn: (UnsafePointer<Tile>?) -> Void,
        storeA: (_ values: [Float], _ rows: Int, _ lda: Int) -> [Tile.Element],
        packB: (_ w: [Float], _ k: Int) -> [Tile.Element],
        aValue: (Tile.Element) -> Double, bValue: (Float) -> Double
    ) {
        let mr = kernel.mr, nr = kernel.nr
        let lda = k + 3, ldc = nr + 5
        let a = storeA(randomFloats(mr * lda, scale: 0.5), rows, lda)
        let w = randomFloats(k * nr, scale: 1 / Float(k).squareRoot()), bias = randomFloats(nr)
        let b = packB(w, k)
        let size = mr * (ldc + 7) + nr
        let residual = randomFloats(size)
        // Mapped rows go to scattered offsets (like a padded NHWC map), in reverse order.
        let offsets = mapped ? (0..<mr).map { (mr - 1 - $0) * (ldc + 7) } : (0..<mr).map { $0 * ldc }
        var want = [Float](repeating: .nan, count: size)
        for r in 0..<rows {
            for j in 0..<nr {
                var acc = Double(bias[j])
                for kk in 0..<k { acc += aValue(a[r * lda + kk]) * bValue(w[kk * nr + j]) }
                if gelu { acc = 0.5 * acc * (1 + erf(acc / 2.0.squareRoot())) }
                if mapped { acc += Double(residual[offsets[r] + j]) }
                want[offsets[r] + j] = Float(acc)
            }
        }
        var got = [Float](repeating: .nan, count: size)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                bias.withUnsafeBufferPointer { biasp in
                    residual.withUnsafeBufferPointer { rp in
                        offsets.withUnsafeBufferPointer { op in
                            got.withUnsafeMutableBufferPointer { cp in
                                var tile = Tile(k: k, a: ap.baseAddress, lda: lda, rows: rows, b: bp.baseAddress,
                                                bias: biasp.baseAddress, c: cp.baseAddress, ldc: ldc)
                                tile.c_row_offsets = mapped ? op.baseAddress : nil
                                tile.residual = mapped ? rp.baseAddress : nil
                                tile.gelu = gelu ? 1 : 0
                                fn(&tile)
                            }
                        }
                    }
                }
            }
        }
        let label = "\(kernel.name) k=\(k) rows=\(rows) mapped=\(mapped) gelu=\(gelu)"
        XCTAssertEqual(got.map(\.isNaN), want.map(\.isNaN), "\(label): written entries")
        var worst: Float = 0
        for i in got.indices where !want[i].isNaN { worst = max(worst, abs(got[i] - want[i])) }
        // Float accumulation of k terms of size ~1/sqrt(k) (bf16: exact products of the rounded
        // inputs, f32 sums), plus the GELU approximation (~3e-7).
        XCTAssertLessThanOrEqual(worst, 4e-6 * Float(k).squareRoot() + 1e-6, "\(label): max error \(worst)")
    }

    func testF32DepthwiseKernelsMatchReference() {
        for kernel in runnable(.f32Depthwise7x7) {
            var cases = 0
            for cp in [16, 48, 80, 160, 320] {
                for pixels in Array(1...17) + [28, 56] {
                    checkDepthwise(kernel, cp: cp, pixels: pixels)
                    cases += 1
                }
            }
            print("PASS \(kernel.name) (\(cases) cases)")
        }
    }

    private func checkDepthwise(_ kernel: Kernel, cp: Int, pixels: Int) {
        // Exactly the 7 input rows x (pixels + 6) columns the windows need, with NaN guards around:
        // a kernel reading outside the windows poisons its output.
        let pw = pixels + 6, guardFloats = 64
        var input = [Float](repeating: .nan, count: 7 * pw * cp + 2 * guardFloats)
        let body = randomFloats(7 * pw * cp)
        for i in body.indices { input[guardFloats + i] = body[i] }
        let weights = randomFloats(49 * cp, scale: 0.2), bias = randomFloats(cp)
        var want = [Float](repeating: 0, count: pixels * cp)
        for p in 0..<pixels {
            for c in 0..<cp {
                var acc = Double(bias[c])
                for ky in 0..<7 {
                    for kx in 0..<7 {
                        acc += Double(body[ky * pw * cp + (p + kx) * cp + c]) * Double(weights[(ky * 7 + kx) * cp + c])
                    }
                }
                want[p * cp + c] = Float(acc)
            }
        }
        var got = [Float](repeating: .nan, count: pixels * cp + guardFloats)
        input.withUnsafeBufferPointer { ip in
            weights.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    got.withUnsafeMutableBufferPointer { op in
                        var args = cnxk_f32_dwconv_args()
                        args.input = ip.baseAddress! + guardFloats
                        args.input_row_stride = pw * cp
                        args.input_pixel_stride = cp
                        args.weights = wp.baseAddress
                        args.weight_tap_stride = cp
                        args.bias = bp.baseAddress
                        args.output = op.baseAddress
                        args.output_pixel_stride = cp
                        args.pixels = pixels
                        args.channels = cp
                        kernel.entry.f32_dwconv!(&args)
                    }
                }
            }
        }
        XCTAssertTrue(got[(pixels * cp)...].allSatisfy(\.isNaN), "\(kernel.name) writes past its output")
        var worst: Float = 0
        for i in want.indices { worst = max(worst, abs(got[i] - want[i])) }
        XCTAssertLessThanOrEqual(worst, 2e-5, "\(kernel.name) C=\(cp) pixels=\(pixels): max error \(worst)")
    }

    func testLayerNormBuildsMatchReferenceAndEachOther() {
        let kernels = runnable(.layerNorm)
        let portable = KernelTable.entries(.layerNorm).first { $0.isa == .portable }!
        for kernel in kernels {
            for channels in [8, 16, 33, 40, 80, 160, 320] {
                let pixels = 5
                let x = randomFloats(pixels * channels).map { $0 * 3 + 1.5 }
                let gamma = randomFloats(channels), beta = randomFloats(channels)
                for affine in [false, true] {
                    var got = [Float](repeating: .nan, count: pixels * channels), same = got
                    x.withUnsafeBufferPointer { xp in
                        gamma.withUnsafeBufferPointer { gp in
                            beta.withUnsafeBufferPointer { bp in
                                for (k, out) in [(kernel, 0), (portable, 1)] {
                                    var buffer = out == 0 ? got : same
                                    buffer.withUnsafeMutableBufferPointer {
                                        k.entry.layernorm!(xp.baseAddress, channels, pixels, channels, 1e-6,
                                                                   affine ? gp.baseAddress : nil, affine ? bp.baseAddress : nil,
                                                                   Int32(CNXQ_ACT_F32.rawValue), 1, 0, $0.baseAddress, nil, channels)
                                    }
                                    if out == 0 { got = buffer } else { same = buffer }
                                }
                            }
                        }
                    }
                    XCTAssertEqual(got, same, "\(kernel.name) C=\(channels) affine=\(affine): identical to the portable build")
                    for p in 0..<pixels {
                        let row = x[(p * channels)..<((p + 1) * channels)].map(Double.init)
                        let mean = row.reduce(0, +) / Double(channels)
                        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(channels)
                        for c in 0..<channels {
                            var v = (row[c] - mean) / (variance + 1e-6).squareRoot()
                            if affine { v = v * Double(gamma[c]) + Double(beta[c]) }
                            XCTAssertEqual(Double(got[p * channels + c]), v, accuracy: 2e-5 * max(1, abs(v)),
                                           "\(kernel.name) C=\(channels) pixel \(p) channel \(c)")
                        }
                    }
                }
            }
            print("PASS \(kernel.name)")
        }
    }

    func testPanelWidthsCoverEveryWidthWithKernelsOfTheFamily() {
        for isa in ISA.allCases where KernelTable.entries(.f32GEMM).contains(where: { $0.isa == isa }) {
            let family = KernelTable.family(.f32GEMM, isa: isa)
            let mr = family.map(\.mr).max()!
            let widths = Set(family.filter { $0.mr == mr }.map(\.nr))
            for n in stride(from: 16, through: 2048, by: 16) {
                let panels = KernelTable.panelWidths(paddedColumns: n, available: widths)
                XCTAssertEqual(panels.reduce(0, +), n, "\(isa) panels for \(n)")
                XCTAssertTrue(panels.allSatisfy(widths.contains), "\(isa) panels for \(n) have kernels")
            }
        }
        XCTAssertEqual(KernelTable.panelWidths(paddedColumns: 160, available: [16, 32, 48]), [48, 48, 32, 32])
    }

    func testBF16GEMMKernelsMatchReference() {
        for kernel in runnable(.bf16GEMM) {
            let nr = kernel.nr
            checkGEMMCases(kernel, ks: [1, 2, 3, 16, 40, 161, 320, 1280]) { k, rows, mapped, gelu in
                checkTile(kernel, k: k, rows: rows, mapped: mapped, gelu: gelu, run: kernel.entry.bf16_gemm!,
                          // Rows beyond `rows`, the lda gaps and the element after an odd k are bf16 NaN.
                          storeA: { values, rows, lda in
                              var a = [UInt16](repeating: 0x7fc0, count: values.count)
                              values.withUnsafeBufferPointer { src in
                                  a.withUnsafeMutableBufferPointer {
                                      cnxk_bf16_round_rows(src.baseAddress, lda, rows, k, $0.baseAddress, lda)
                                  }
                              }
                              return a
                          },
                          packB: { w, k in
                              var panel = [UInt16](repeating: 0xffff, count: cnxk_bf16_panel_elements(k, nr))
                              w.withUnsafeBufferPointer { wp in
                                  panel.withUnsafeMutableBufferPointer {
                                      cnxk_bf16_pack_panel(wp.baseAddress, nr, k, nr, nr, $0.baseAddress)
                                  }
                              }
                              return panel
                          },
                          aValue: { Double(cnxk_bf16_to_f32($0)) }, bValue: { Double(cnxk_bf16_to_f32(cnxk_bf16_from_f32($0))) })
            }
        }
    }
}
