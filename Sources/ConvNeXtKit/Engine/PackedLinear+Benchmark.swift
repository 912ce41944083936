import Foundation

extension PackedLinear {
    /// Times prepacked linear layers on the pointwise shapes of convnext_atto (one chunk of
    /// rows, as the engine runs them), with the GELU epilogue for fc1 and residual for fc2.
    static func shapeBenchmarkReport() -> String {
        var lines = ["layer shape (M x K x N)          epilogue    rate"]
        let shapes: [(m: Int, k: Int, n: Int, fc1: Bool)] = [
            (200, 40, 160, true), (200, 160, 40, false), (96, 80, 320, true), (96, 320, 80, false),
            (96, 160, 640, true), (96, 640, 160, false), (49, 320, 1280, true), (49, 1280, 320, false),
        ]
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
            for _ in 0..<7 {
                let start = monotonicNanoseconds()
                for _ in 0..<50 { layer.run(a: a.pointer, lda: lda, m: s.m, output: output, gelu: s.fc1) }
                best = min(best, Double(monotonicNanoseconds() - start) * 1e-9 / 50)
            }
            let shape = "\(s.m) x \(s.k) x \(s.n)".padding(toLength: 33, withPad: " ", startingAt: 0)
            let epilogue = (s.fc1 ? "bias+GELU" : "bias+add").padding(toLength: 12, withPad: " ", startingAt: 0)
            lines.append(shape + epilogue + String(format: "%6.1f GFLOP/s", 2.0 * Double(s.m * s.k * s.n) / best / 1e9))
        }
        return lines.joined(separator: "\n")
    }
}
