import CConvNeXtKernels
import Foundation

extension ExecutionPlan {
    /// Times the pointwise layers of this program as the runtime runs them: the first block of
    /// each stage, fc1 (with the GELU epilogue into the hidden activations of fc2's input
    /// precision) and fc2 (+ residual into the padded feature map), one chunk of rows per call,
    /// on this plan's packed weights and kernels. Each rate is given as a share of the
    /// register-only peak (`peaks`, from `KernelTable.measurePeaks()`) of the layer's kernel ISA.
    func pointwiseReport(peaks: [ISA: Double]) -> String {
        let arena = ExecutionArena(plan: self, threads: 1)
        var lines = ["pointwise layers of this model, as the runtime runs them (first block of each stage, one chunk per call)",
                     "layer  shape (M x K x N)    input  kernel                         rate            share of peak"]
        for (s, stage) in stages.enumerated() {
            guard let block = stage.blocks.first else { continue }
            let g = stage.geometry
            let pixels = min(stage.rowsPerChunk * g.w, g.pixels)
            let map = AlignedBuffer<Float>(count: g.paddedFloats), residual = AlignedBuffer<Float>(count: g.paddedFloats)
            let a = arena.chunkA[0], h = arena.chunkH[0]
            fillActivations(a, byteCount: chunkABytes, precision: block.fc1.input.precision)
            fillActivations(h, byteCount: chunkHBytes, precision: block.fc2.input.precision)
            let offset = g.offset(0, 0)
            var (ep1, ep2) = blockEpilogues(block, g, hidden: h, out: map.pointer + offset,
                                            residual: UnsafePointer(residual.pointer + offset))
            let fc1: () -> Void = {
                block.fc1.run(rows: pixels, a: UnsafeRawPointer(a), planeBytes: self.chunkABytes / 2, epilogue: &ep1,
                              scratch: arena.gemmScratch[0])
            }
            let fc2: () -> Void = {
                block.fc2.run(rows: pixels, a: UnsafeRawPointer(h), planeBytes: self.chunkHBytes / 2, epilogue: &ep2,
                              scratch: arena.gemmScratch[0])
            }
            for (name, gemm, run) in [("fc1", block.fc1, fc1), ("fc2", block.fc2, fc2)] {
                lines.append(Self.layerLine("s\(s) \(name)", gemm: gemm, rows: pixels, run: run, peaks: peaks))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Deterministic activations: small floats, or bytes around the middle of the u8 range.
    private func fillActivations(_ p: UnsafeMutableRawPointer, byteCount: Int, precision: Precision) {
        if precision == .float {
            let f = p.assumingMemoryBound(to: Float.self)
            for i in 0..<(byteCount / 4) { f[i] = Float(i % 13) * 0.1 - 0.6 }
        } else {
            let b = p.assumingMemoryBound(to: UInt8.self)
            for i in 0..<byteCount { b[i] = UInt8(96 + i % 61) }
        }
    }

    /// One line: the layer's shape, input precision, kernel, best-of-5 rate (multiply-add = 2
    /// operations; int16 inputs count twice, as their kernels run two byte planes) and its share
    /// of the peak of the kernel's ISA.
    private static func layerLine(_ label: String, gemm: PackedGEMM, rows: Int, run: () -> Void, peaks: [ISA: Double]) -> String {
        let k = gemm.kUsed, n = gemm.n
        let planes = gemm.input.precision == .int16 ? 2 : 1
        let repeats = max(1, 20_000_000 / (rows * k * n))
        let best = KernelTable.time(repeats, run)
        let rate = 2.0 * Double(rows * k * n * planes) / best / 1e9
        let name = gemm.kernelNames.first ?? "?"
        let isa = KernelTable.all.first { $0.name == name }?.isa
        let unit = gemm.kernel != nil ? "GOP/s" : "GFLOP/s"
        let share = isa.flatMap { i in peaks[i].map { String(format: "%3.0f%% of %@ peak", 100 * rate / $0, i.rawValue) } }
        let precision = gemm.floatLayer.map { $0.precision.rawValue } ?? gemm.input.precision.rawValue
        return label.padding(toLength: 7, withPad: " ", startingAt: 0)
            + "\(rows) x \(k) x \(n)".padding(toLength: 21, withPad: " ", startingAt: 0)
            + precision.padding(toLength: 7, withPad: " ", startingAt: 0)
            + name.padding(toLength: 31, withPad: " ", startingAt: 0)
            + String(format: "%7.1f %@", rate, unit).padding(toLength: 16, withPad: " ", startingAt: 0)
            + (share ?? "no peak loop for \(isa?.rawValue ?? "?")")
    }
}
