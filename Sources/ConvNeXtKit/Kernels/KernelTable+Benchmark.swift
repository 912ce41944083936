import Foundation

extension KernelTable {
    /// Times every kernel of the table on cache-resident data; one line per kernel with GFLOP/s
    /// (multiply-add = 2 FLOP; elementwise kernels report Gelem/s).
    public static func benchmarkReport(iterations: Int = 20_000) -> String {
        var lines = ["kernel                      shape                 rate"]
        let k = 160
        let a = AlignedBuffer<Float>(count: 8 * k), b = AlignedBuffer<Float>(count: k * 48)
        let bias = AlignedBuffer<Float>(count: 48), c = AlignedBuffer<Float>(count: 8 * 48)
        for i in 0..<(8 * k) { a.pointer[i] = Float(i % 7) * 0.01 }
        for i in 0..<(k * 48) { b.pointer[i] = Float(i % 5) * 0.01 }
        for kernel in gemm {
            let tile = GEMMTile(k: k, a: a.pointer, lda: k, rows: kernel.mr, b: b.pointer, bias: bias.pointer,
                                c: c.pointer, ldc: 48)
            let seconds = time(iterations) { kernel.run(tile) }
            let flops = 2.0 * Double(kernel.mr * kernel.nr * k)
            lines.append(row(kernel.name, "\(kernel.mr)x\(kernel.nr), k=\(k)", flops / seconds / 1e9, "GFLOP/s"))
        }
        let cp = 48, pw = 8 + 6
        let input = AlignedBuffer<Float>(count: 7 * pw * cp), w = AlignedBuffer<Float>(count: 49 * 16)
        let out = AlignedBuffer<Float>(count: 8 * cp)
        for kernel in depthwise {
            let strip = DepthwiseStrip(input: input.pointer, rowStride: pw * cp, pixelStride: cp, weights: w.pointer,
                                       bias: bias.pointer, output: out.pointer, outputStride: cp, pixels: kernel.pixels)
            let seconds = time(iterations) { kernel.run(strip) }
            lines.append(row(kernel.name, "\(kernel.pixels) px x 16 ch", 2.0 * 49 * 16 * Double(kernel.pixels) / seconds / 1e9,
                             "GFLOP/s"))
        }
        let n = 4096
        let data = AlignedBuffer<Float>(count: n)
        for i in 0..<n { data.pointer[i] = Float(i % 200) * 0.05 - 5 }
        for kernel in elementwise {
            let seconds = time(iterations / 20) { kernel.run(data.pointer, n) }
            lines.append(row(kernel.name, "\(n) floats", Double(n) / seconds / 1e9, "Gelem/s"))
        }
        let layout = ChannelLayout(channels: 160)
        for kernel in rowNorm {
            let seconds = time(iterations) { kernel.run(data.pointer, out.pointer, layout, 1e-6, bias.pointer, bias.pointer) }
            lines.append(row(kernel.name, "160 channels", 160 / seconds / 1e9, "Gelem/s"))
        }
        return lines.joined(separator: "\n")
    }

    private static func row(_ name: String, _ shape: String, _ rate: Double, _ unit: String) -> String {
        name.padding(toLength: 28, withPad: " ", startingAt: 0) + shape.padding(toLength: 22, withPad: " ", startingAt: 0)
            + String(format: "%7.1f %@", rate, unit)
    }

    /// Best of 5 batches, seconds per call.
    private static func time(_ iterations: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<5 {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let start = Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
            for _ in 0..<max(iterations, 1) { body() }
            clock_gettime(CLOCK_MONOTONIC, &ts)
            best = min(best, (Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9 - start) / Double(max(iterations, 1)))
        }
        return best
    }
}
