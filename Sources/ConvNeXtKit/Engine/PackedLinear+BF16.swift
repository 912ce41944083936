import CConvNeXtKernels

extension PackedLinear {
    /// The bf16 storage of a linear layer: weights packed in k pairs (`cnxk_bf16_pack_panel`) for
    /// the bf16 GEMM tiles of the kernel table, f32 bias.
    struct BF16Weights: @unchecked Sendable {
        let mr: Int
        let panels: [GEMMPanel<cnxk_bf16_gemm_tile>]
        let bias: UnsafePointer<Float>
        let kernelNames: [String]
        /// The A prologue for the tiles' ISA (`cnxk_bf16_rounding`; the same bits on every ISA).
        let roundRows: cnxk_bf16_round_fn
        /// The k the tiles read (`cnxk_bf16_padded_k`: a multiple of 32 for AMX, else k): rounded
        /// A rows are stored this long, zeros past k, and the panels are packed for it.
        let paddedK: Int
        private let storage: AlignedBuffer<UInt16>
        private let biasStorage: AlignedBuffer<Float>

        /// Packs `weight(k, n)` (evaluated in Double, rounded to f32 as the f32 layer's weights,
        /// then to bf16) for the bf16 tile family of the best enabled ISA.
        init(k: Int, n: Int, paddedN: Int, weight: (Int, Int) -> Double, bias: (Int) -> Double) {
            let family = KernelTable.family(.bf16GEMM)
            let isa = (family.first?.isa ?? .portable).code
            roundRows = cnxk_bf16_rounding(isa)
            let paddedK = cnxk_bf16_padded_k(k, isa)
            self.paddedK = paddedK
            let widths = PackedLinear.panelWidths(family: family, paddedN: paddedN)
            let storage = AlignedBuffer<UInt16>(count: widths.map { cnxk_bf16_panel_elements(paddedK, $0) }.reduce(0, +))
            var offset = 0
            let built = PackedLinear.buildPanels(family: family, paddedN: paddedN,
                                                 function: { $0.bf16GEMM }) { column, width -> UnsafePointer<UInt16> in
                let columns = max(0, min(width, n - column))
                // Rows k..<paddedK stay zero.
                var values = [Float](repeating: 0, count: paddedK * width)
                for kk in 0..<k {
                    for j in 0..<columns { values[kk * width + j] = Float(weight(kk, column + j)) }
                }
                let panel = storage.pointer + offset
                cnxk_bf16_pack_panel(values, width, paddedK, columns, width, panel)
                offset += cnxk_bf16_panel_elements(paddedK, width)
                return UnsafePointer(panel)
            }
            mr = built.mr
            let biasStorage = AlignedBuffer<Float>(count: paddedN)
            for j in 0..<n { biasStorage.pointer[j] = Float(bias(j)) }
            panels = built.panels
            self.bias = UnsafePointer(biasStorage.pointer)
            kernelNames = built.names
            self.storage = storage
            self.biasStorage = biasStorage
        }
    }

    /// bf16 elements of A rounded at a time (128 KB): rows are rounded in blocks of this size,
    /// then every panel meets the block's rows, so a block and a panel stay in L2 together.
    static let bf16RowBlockElements = 64 << 10

    /// Elements of the bf16 scratch `run` needs for this layer (one block of A rows).
    var bf16ScratchElements: Int {
        guard let bf16 else { return 0 }
        return Self.bf16BlockRows(bf16, m: .max) * bf16.paddedK
    }

    /// Rows of A rounded per block: whole tiles of about `bf16RowBlockElements`, at most m.
    private static func bf16BlockRows(_ weights: BF16Weights, m: Int) -> Int {
        let mr = weights.mr
        return min(m, max(mr, bf16RowBlockElements / max(weights.paddedK, 1) / mr * mr))
    }

    /// `run` for bf16 storage: each block of A rows is rounded to bf16 (`roundRows`, the one
    /// rounding of every ISA) into `scratch` (`bf16ScratchElements`; allocated here when nil),
    /// then panels outer, row tiles inner, as the f32 layer.
    func runBF16(_ weights: BF16Weights, a: UnsafePointer<Float>, lda: Int, m: Int, output: Output, gelu: Bool,
                 scratch: UnsafeMutablePointer<UInt16>?) {
        guard m > 0 else { return }
        let blockRows = Self.bf16BlockRows(weights, m: m)
        let ldr = weights.paddedK
        let rounded = scratch ?? .allocate(capacity: blockRows * ldr)
        defer { if scratch == nil { rounded.deallocate() } }
        var start = 0
        while start < m {
            let count = min(blockRows, m - start)
            weights.roundRows(a + start * lda, lda, count, k, rounded, ldr)
            if ldr > k {
                for r in 0..<count { (rounded + r * ldr + k).initialize(repeating: 0, count: ldr - k) }
            }
            Self.runPanels(weights.panels, mr: weights.mr, k: k, a: UnsafePointer(rounded), lda: ldr, m: count,
                           rowBase: start, bias: weights.bias, output: output, gelu: gelu)
            start += count
        }
    }
}
