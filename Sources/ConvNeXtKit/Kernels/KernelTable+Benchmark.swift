import CConvNeXtKernels
import Foundation

extension KernelTable {
    /// The register-only peak of every ISA of this CPU that has a peak loop (`peakRate`).
    public static func measurePeaks() -> [ISA: Double] {
        var peaks: [ISA: Double] = [:]
        for isa in ISA.allCases where CPUFeatures.has(isa) && cnxk_peak_ops_per_iteration(isa.code) > 0 {
            peaks[isa] = peakRate(isa)
        }
        return peaks
    }

    /// Times every runnable kernel of the table on cache-resident data: one line per kernel with
    /// its op, shape and rate (GFLOP/s with a multiply-add as 2 operations; Gelem/s for LayerNorm),
    /// after the `peaks` (`measurePeaks()`). Entries the CPU cannot run are listed as such.
    public static func benchmarkReport(peaks: [ISA: Double], iterations: Int = 4_000) -> String {
        var lines = ["CPU: \(CPUFeatures.brand); ISAs: \(CPUFeatures.available.map(\.rawValue).joined(separator: " "))",
                     "kernel                             shape                     rate"]
        for isa in ISA.allCases {
            if let rate = peaks[isa] { lines.append(row("peak__\(isa.rawValue)", "register-only loop", peakFormat(isa, rate))) }
        }
        for kernel in all {
            guard kernel.runnable else {
                lines.append(row(kernel.name, "-", "not runnable here (needs \(kernel.isa.rawValue))"))
                continue
            }
            let (shape, rate) = measure(kernel, iterations: iterations)
            lines.append(row(kernel.name, shape, rate))
        }
        return lines.joined(separator: "\n")
    }

    private static func measure(_ kernel: Kernel, iterations: Int) -> (String, String) {
        switch kernel.op {
        case .f32GEMM:
            let k = 160
            return measureTile(kernel, k: k, a: filled(kernel.mr * k), b: filled(k * kernel.nr), iterations: iterations,
                               run: kernel.f32GEMM, as: cnxk_f32_gemm_tile.self)
        case .bf16GEMM:
            let k = 160, mr = kernel.mr, nr = kernel.nr
            let a = AlignedBuffer<UInt16>(count: mr * k), b = AlignedBuffer<UInt16>(count: cnxk_bf16_panel_elements(k, nr))
            for i in 0..<(mr * k) { a.pointer[i] = cnxk_bf16_from_f32(Float(i % 7) * 0.01 - 0.03) }
            for i in 0..<b.count { b.pointer[i] = cnxk_bf16_from_f32(Float(i % 5) * 0.01 - 0.02) }
            return measureTile(kernel, k: k, a: a, b: b, iterations: iterations, run: kernel.bf16GEMM,
                               as: cnxk_bf16_gemm_tile.self)
        case .f32Depthwise7x7:
            let cp = 48, pixels = 28, pw = pixels + 6
            let input = filled(7 * pw * cp), w = filled(49 * cp), bias = filled(cp), out = filled(pixels * cp)
            var args = cnxk_f32_dwconv_args()
            args.input = UnsafePointer(input.pointer)
            args.input_row_stride = pw * cp
            args.input_pixel_stride = cp
            args.weights = UnsafePointer(w.pointer)
            args.weight_tap_stride = cp
            args.bias = UnsafePointer(bias.pointer)
            args.output = out.pointer
            args.output_pixel_stride = cp
            args.pixels = pixels
            args.channels = cp
            let fn = kernel.f32Depthwise
            let seconds = time(iterations / 4) { fn(&args) }
            return ("\(pixels) px x \(cp) ch", gflops(2.0 * 49 * Double(cp * pixels), seconds))
        case .layerNorm:
            let channels = 160, pixels = 64
            let x = filled(pixels * channels), out = filled(pixels * channels)
            let fn = kernel.layerNorm
            let seconds = time(iterations / 4) {
                fn(x.pointer, channels, pixels, channels, 1e-6, nil, nil, Int32(CNXQ_ACT_U8.rawValue), 10, 128,
                   out.pointer, nil, channels)
            }
            return ("\(pixels) px x \(channels) ch -> u8", String(format: "%7.2f Gelem/s", Double(pixels * channels) / seconds / 1e9))
        case .qu8GEMM, .qu16GEMM:
            let m = 48, n = 160, k = 160, groups = k / 4
            let a = UnsafeMutableRawPointer.allocate(byteCount: 2 * m * k, alignment: 64)
            let packed = UnsafeMutableRawPointer.allocate(byteCount: cnxq_packed_size(n, groups), alignment: 64)
            defer { a.deallocate(); packed.deallocate() }
            a.initializeMemory(as: UInt8.self, repeating: 77, count: 2 * m * k)
            packed.initializeMemory(as: Int8.self, repeating: -3, count: cnxq_packed_size(n, groups))
            let scale = filled(n), bias = filled(n), out = filled(m * n)
            let zp = [Int32](repeating: 0, count: n)
            let fn = kernel.quantizedGEMM
            let u8 = a.assumingMemoryBound(to: UInt8.self)
            let lo: UnsafePointer<UInt8>? = kernel.op == .qu16GEMM ? UnsafePointer(u8 + m * k) : nil
            let seconds: Double = zp.withUnsafeBufferPointer { zpp in
                var e = cnxq_epilogue.make(kind: CNXQ_OUT_F32, out: UnsafeMutableRawPointer(out.pointer), pixelStride: n)
                e.scale = UnsafePointer(scale.pointer)
                e.bias = UnsafePointer(bias.pointer)
                e.zp_colsum = zpp.baseAddress
                e.zp_colsum_lo = zpp.baseAddress
                return time(iterations / 8) {
                    fn(0, m, n, groups, u8, lo, k, UnsafePointer(packed.assumingMemoryBound(to: Int8.self)), &e)
                }
            }
            let ops = 2.0 * Double(m * n * k) * (kernel.op == .qu16GEMM ? 2 : 1)
            return ("\(m)x\(k)x\(n)", String(format: "%7.1f GOP/s", ops / seconds / 1e9))
        }
    }

    /// Times one full GEMM tile (f32 or bf16, by `Tile`) of `kernel` over `k`: A (mr x k) and the
    /// packed B panel as given, bias and C cache-resident; the shape and GFLOP/s (multiply-add = 2).
    private static func measureTile<Tile: GEMMTileArguments>(
        _ kernel: Kernel, k: Int, a: AlignedBuffer<Tile.Element>, b: AlignedBuffer<Tile.Element>, iterations: Int,
        run fn: (UnsafePointer<Tile>?) -> Void, as _: Tile.Type
    ) -> (String, String) {
        let mr = kernel.mr, nr = kernel.nr
        let bias = filled(nr), c = filled(mr * nr)
        var tile = Tile(k: k, a: UnsafePointer(a.pointer), lda: k, rows: mr, b: UnsafePointer(b.pointer),
                        bias: UnsafePointer(bias.pointer), c: c.pointer, ldc: nr)
        let seconds = time(iterations) { fn(&tile) }
        return ("\(mr)x\(nr), k=\(k)", gflops(2.0 * Double(mr * nr * k), seconds))
    }

    /// Giga-operations per second of the register-only multiply-add loop of `isa` on one core.
    public static func peakRate(_ isa: ISA) -> Double {
        let iterations = 2_000_000
        var sink: Float = 0
        let seconds = time(5) { sink += cnxk_peak_loop(isa.code, iterations) }
        if sink.isNaN { return 0 }
        return cnxk_peak_ops_per_iteration(isa.code) * Double(iterations) / seconds / 1e9
    }

    /// The peak's rate with what the loop's instruction is: integer dot products count as GOP/s.
    private static func peakFormat(_ isa: ISA, _ rate: Double) -> String {
        switch isa {
        case .avx512vnni: String(format: "%7.1f GOP/s (u8 x s8 dot products)", rate)
        case .avx512bf16: String(format: "%7.1f GFLOP/s (bf16 dot products)", rate)
        default: String(format: "%7.1f GFLOP/s (FMA)", rate)
        }
    }

    private static func filled(_ count: Int) -> AlignedBuffer<Float> {
        let buffer = AlignedBuffer<Float>(count: count)
        for i in 0..<count { buffer.pointer[i] = Float(i % 7) * 0.01 - 0.03 }
        return buffer
    }

    private static func gflops(_ flops: Double, _ seconds: Double) -> String {
        String(format: "%7.1f GFLOP/s", flops / seconds / 1e9)
    }

    private static func row(_ name: String, _ shape: String, _ rate: String) -> String {
        name.padding(toLength: 35, withPad: " ", startingAt: 0) + shape.padding(toLength: 26, withPad: " ", startingAt: 0)
            + rate
    }

    /// Best of 5 batches, seconds per call.
    static func time(_ iterations: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        let count = max(iterations, 1)
        for _ in 0..<5 {
            let start = monotonicNanoseconds()
            for _ in 0..<count { body() }
            best = min(best, Double(monotonicNanoseconds() - start) * 1e-9 / Double(count))
        }
        return best
    }
}
