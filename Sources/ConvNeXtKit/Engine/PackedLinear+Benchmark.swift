import Foundation

extension PackedLinear {
    /// Times prepacked linear layers on the pointwise shapes of a model (one chunk of rows per
    /// stage, as the engine runs them), with the GELU epilogue for fc1 and the residual for fc2,
    /// and gives each rate as a share of the register-only FMA peak of the kernels' ISA.
    static func shapeBenchmarkReport(config: ConvNeXtConfig) -> String {
        let family = KernelTable.family(.f32GEMM)
        let isa = family[0].isa
        let peak = KernelTable.peakRate(isa)
        var lines = ["pointwise layers of this model (\(family.map(\.name).joined(separator: ", ")); "
                     + (peak > 0 ? String(format: "%@ FMA peak %.1f GFLOP/s", isa.rawValue, peak) : "no peak loop for \(isa.rawValue)") + ")",
                     "layer shape (M x K x N)          epilogue    rate"]
        var height = config.inputHeight / 4, width = config.inputWidth / 4
        var shapes: [(m: Int, k: Int, n: Int, fc1: Bool)] = []
        for (s, c) in config.dims.enumerated() {
            if s > 0 { height /= 2; width /= 2 }
            let hidden = roundUp16(4 * c), pixels = max(height * width, 1)
            let budget = ExecutionPlan.hiddenChunkBytes(weightBytes: 2 * 4 * hidden * roundUp16(c))
            let chunk = min(ExecutionPlan.rowsPerChunk(width: width, hiddenBytes: 4 * hidden, budget: budget) * width, pixels)
            shapes += [(chunk, c, 4 * c, true), (chunk, 4 * c, c, false)]
        }
        for s in shapes {
            let layer = PackedLinear(k: s.k, n: s.n, weight: { k, n in Double((k * 7 + n * 3) % 11) * 0.01 - 0.05 },
                                     bias: { Double($0 % 5) * 0.01 })
            let lda = roundUp16(s.k)
            let a = AlignedBuffer<Float>(count: s.m * lda)
            for i in 0..<(s.m * lda) { a.pointer[i] = Float(i % 13) * 0.1 - 0.6 }
            let c = AlignedBuffer<Float>(count: s.m * layer.paddedN)
            let residual = AlignedBuffer<Float>(count: s.m * layer.paddedN)
            let offsets = AlignedBuffer<Int>(count: s.m)
            for r in 0..<s.m { offsets.pointer[r] = r * layer.paddedN }
            let output: Output = s.fc1 ? .compact(c.pointer, ldc: layer.paddedN)
                : .mapped(c.pointer, offsets: offsets.pointer, residual: residual.pointer)
            var best = Double.infinity
            let repeats = max(1, 20_000_000 / (s.m * s.k * s.n))
            for _ in 0..<7 {
                let start = monotonicNanoseconds()
                for _ in 0..<repeats { layer.run(a: a.pointer, lda: lda, m: s.m, output: output, gelu: s.fc1) }
                best = min(best, Double(monotonicNanoseconds() - start) * 1e-9 / Double(repeats))
            }
            let rate = 2.0 * Double(s.m * s.k * s.n) / best / 1e9
            let shape = "\(s.m) x \(s.k) x \(s.n)".padding(toLength: 33, withPad: " ", startingAt: 0)
            let epilogue = (s.fc1 ? "bias+GELU" : "bias+add").padding(toLength: 12, withPad: " ", startingAt: 0)
            lines.append(shape + epilogue + String(format: "%6.1f GFLOP/s", rate)
                         + (peak > 0 ? String(format: "  %3.0f%% of peak", 100 * rate / peak) : ""))
        }
        return lines.joined(separator: "\n")
    }
}
