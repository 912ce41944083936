import ConvNeXtKit
import XCTest

/// Every kernel in `KernelTable` against its plain reference.
final class KernelTests: XCTestCase {
    private var rng = SeededGenerator(seed: 42)

    private func randomFloats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in scale * rng.normal() }
    }

    private func assertClose(_ got: [Float], _ want: [Float], relative: Float, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, label, file: file, line: line)
        let scale = max(want.map { abs($0) }.max() ?? 1, 1)
        var worst: Float = 0
        for i in 0..<min(got.count, want.count) { worst = max(worst, abs(got[i] - want[i])) }
        XCTAssertLessThanOrEqual(worst / scale, relative, "\(label): max error \(worst)", file: file, line: line)
    }

    func testTableNamesAreUniqueAndPanelWidthsHaveKernels() {
        let names = KernelTable.gemm.map(\.name) + KernelTable.depthwise.map(\.name)
            + KernelTable.elementwise.map(\.name) + KernelTable.rowNorm.map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
        for n in stride(from: 16, through: 2048, by: 16) {
            let widths = KernelTable.panelWidths(paddedColumns: n)
            XCTAssertEqual(widths.reduce(0, +), n, "panels for \(n)")
            for w in widths {
                XCTAssertNotNil(KernelTable.gemmKernel(mr: 8, nr: w), "8x\(w)")
                XCTAssertNotNil(KernelTable.gemmKernel(mr: 1, nr: w), "1x\(w)")
            }
        }
        XCTAssertEqual(KernelTable.panelWidths(paddedColumns: 160), [48, 48, 32, 32])
    }

    func testGEMMKernelsMatchReference() {
        for kernel in KernelTable.gemm {
            for k in [1, 7, 40, 161] {
                for rows in Set([1, kernel.mr / 2 + 1, kernel.mr]) where rows <= kernel.mr {
                    for mapped in [false, true] {
                        checkGEMM(kernel, k: k, rows: rows, mapped: mapped)
                    }
                }
            }
        }
    }

    private func checkGEMM(_ kernel: KernelTable.GEMM, k: Int, rows: Int, mapped: Bool) {
        let mr = kernel.mr, nr = kernel.nr
        let lda = k + 3, ldc = nr + 5
        let a = randomFloats(mr * lda), b = randomFloats(k * nr), bias = randomFloats(nr)
        let residual = randomFloats(mr * ldc * 2)
        // Mapped rows go to scattered offsets (like a padded NHWC map), in reverse order.
        let offsets = (0..<mr).map { (mr - 1 - $0) * (ldc + 7) }
        var got = [Float](repeating: .nan, count: mr * ldc * 2)
        var want = got
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                bias.withUnsafeBufferPointer { biasp in
                    residual.withUnsafeBufferPointer { rp in
                        offsets.withUnsafeBufferPointer { op in
                            for pass in 0..<2 {
                                var out = pass == 0 ? got : want
                                out.withUnsafeMutableBufferPointer { cp in
                                    let tile = GEMMTile(k: k, a: ap.baseAddress!, lda: lda, rows: rows, b: bp.baseAddress!,
                                                        bias: biasp.baseAddress!, c: cp.baseAddress!, ldc: ldc,
                                                        cRowOffsets: mapped ? op.baseAddress! : nil,
                                                        residual: mapped ? rp.baseAddress! : nil)
                                    if pass == 0 { kernel.run(tile) } else { kernel.reference(tile) }
                                }
                                if pass == 0 { got = out } else { want = out }
                            }
                        }
                    }
                }
            }
        }
        // Untouched entries stay NaN in both (rows beyond `rows` must not be written).
        let gotClean = got.map { $0.isNaN ? 0 : $0 }, wantClean = want.map { $0.isNaN ? 0 : $0 }
        XCTAssertEqual(got.map(\.isNaN), want.map(\.isNaN), "\(kernel.name) k=\(k) rows=\(rows): written entries")
        assertClose(gotClean, wantClean, relative: 2e-6 * Float(max(k, 1)).squareRoot(),
                    "\(kernel.name) k=\(k) rows=\(rows) mapped=\(mapped)")
    }

    func testDepthwiseKernelsMatchReference() {
        for kernel in KernelTable.depthwise {
            let cp = 48, pw = kernel.pixels + 6 + 2
            // 8 rows: a short strip may read up to `kernel.pixels - 1` pixels past its window.
            let input = randomFloats(8 * pw * cp), weights = randomFloats(49 * 16, scale: 0.2), bias = randomFloats(16)
            for pixels in 1...kernel.pixels {
                for channelBlock in 0..<3 {
                    var got = [Float](repeating: .nan, count: kernel.pixels * cp), want = got
                    input.withUnsafeBufferPointer { ip in
                        weights.withUnsafeBufferPointer { wp in
                            bias.withUnsafeBufferPointer { bp in
                                for pass in 0..<2 {
                                    var out = pass == 0 ? got : want
                                    out.withUnsafeMutableBufferPointer { op in
                                        let strip = DepthwiseStrip(
                                            input: ip.baseAddress! + cp + channelBlock * 16, rowStride: pw * cp,
                                            pixelStride: cp, weights: wp.baseAddress!, bias: bp.baseAddress!,
                                            output: op.baseAddress! + channelBlock * 16, outputStride: cp, pixels: pixels)
                                        if pass == 0 { kernel.run(strip) } else { kernel.reference(strip) }
                                    }
                                    if pass == 0 { got = out } else { want = out }
                                }
                            }
                        }
                    }
                    XCTAssertEqual(got.map(\.isNaN), want.map(\.isNaN), "\(kernel.name) pixels=\(pixels): written entries")
                    XCTAssertEqual(got.filter { !$0.isNaN }.count, pixels * 16)
                    assertClose(got.map { $0.isNaN ? 0 : $0 }, want.map { $0.isNaN ? 0 : $0 }, relative: 1e-5,
                                "\(kernel.name) pixels=\(pixels) block \(channelBlock)")
                }
            }
        }
    }

    func testGELUMatchesErfFormWithinErfErrorBudget() {
        for kernel in KernelTable.elementwise {
            var xs: [Float] = stride(from: -12, through: 12, by: 0.00137).map { Float($0) }
            xs += [0, -0, 1e-30, -1e-30, 3.9 * 1.41421356, 100, -100, 1e6, -1e6]
            while xs.count % 16 != 0 { xs.append(0.5) }
            var got = xs, want = xs
            got.withUnsafeMutableBufferPointer { kernel.run($0.baseAddress!, $0.count) }
            want.withUnsafeMutableBufferPointer { kernel.reference($0.baseAddress!, $0.count) }
            var worst: Float = 0
            for i in xs.indices {
                // erf abs error <= 5e-7, scaled by |x|/2, plus float rounding of the product.
                let allowed: Float = 5e-7 * 0.5 * max(abs(xs[i]), 1) + 2e-7 * abs(want[i])
                let err = abs(got[i] - want[i])
                worst = max(worst, err / allowed)
                XCTAssertLessThanOrEqual(err, allowed, "\(kernel.name)(\(xs[i])) = \(got[i]), want \(want[i])")
                if err > allowed { break }
            }
            XCTAssertLessThan(worst, 1)
        }
    }

    func testRowNormsMatchReferenceAndKeepPadLanesZero() {
        for kernel in KernelTable.rowNorm {
            for channels in [8, 16, 33, 40, 80, 160, 320] {
                let layout = ChannelLayout(channels: channels)
                let cp = layout.paddedChannels
                var x = randomFloats(channels).map { $0 * 3 + 1.5 }
                x += [Float](repeating: 0, count: cp - channels)
                let gamma = randomFloats(channels) + [Float](repeating: 0, count: cp - channels)
                let beta = randomFloats(channels) + [Float](repeating: 0, count: cp - channels)
                var got = [Float](repeating: .nan, count: cp), want = got
                x.withUnsafeBufferPointer { xp in
                    gamma.withUnsafeBufferPointer { gp in
                        beta.withUnsafeBufferPointer { bp in
                            got.withUnsafeMutableBufferPointer {
                                kernel.run(xp.baseAddress!, $0.baseAddress!, layout, 1e-6, gp.baseAddress, bp.baseAddress)
                            }
                            want.withUnsafeMutableBufferPointer {
                                kernel.reference(xp.baseAddress!, $0.baseAddress!, layout, 1e-6,
                                                 kernel.affine ? gp.baseAddress : nil, kernel.affine ? bp.baseAddress : nil)
                            }
                        }
                    }
                }
                assertClose(got, want, relative: 2e-6, "\(kernel.name) C=\(channels)")
                XCTAssertEqual(Array(got[channels...]), [Float](repeating: 0, count: cp - channels),
                               "\(kernel.name) C=\(channels): pad lanes")
            }
        }
    }
}
