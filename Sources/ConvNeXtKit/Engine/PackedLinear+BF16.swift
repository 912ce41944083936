import CConvNeXtKernels

extension PackedLinear {
    /// The bf16 storage of a linear layer: weights packed in k pairs (`cnxk_bf16_pack_panel`) for
    /// the bf16 GEMM tiles of the kernel table, f32 bias.
    struct BF16Weights: @unchecked Sendable {
        /// One panel: `width` output columns starting at `column`.
        struct Panel {
            let column: Int
            let width: Int
            let b: UnsafePointer<UInt16>
            /// The mr x width tile kernel and the 1 x width one (the same when the table has no row kernel).
            let kernel: cnxk_bf16_gemm_fn
            let rowKernel: cnxk_bf16_gemm_fn
        }

        let mr: Int
        let panels: [Panel]
        let bias: UnsafePointer<Float>
        let kernelNames: [String]
        /// The A prologue for the tiles' ISA (`cnxk_bf16_rounding`; the same bits on every ISA).
        let roundRows: cnxk_bf16_round_fn
        private let storage: AlignedBuffer<UInt16>
        private let biasStorage: AlignedBuffer<Float>

        /// Packs `weight(k, n)` (evaluated in Double, rounded to f32 as the f32 layer's weights,
        /// then to bf16) for the bf16 tile family of the best enabled ISA.
        init(k: Int, n: Int, paddedN: Int, weight: (Int, Int) -> Double, bias: (Int) -> Double) {
            let family = KernelTable.family(.bf16GEMM)
            let tileRows = family.map(\.mr).max() ?? 1
            mr = tileRows
            roundRows = cnxk_bf16_rounding((family.first?.isa ?? .portable).code)
            let widths = KernelTable.panelWidths(paddedColumns: paddedN,
                                                 available: Set(family.filter { $0.mr == tileRows }.map(\.nr)))
            let panelElements = widths.map { cnxk_bf16_panel_elements(k, $0) }
            let storage = AlignedBuffer<UInt16>(count: panelElements.reduce(0, +))
            var panels: [Panel] = []
            var names: [String] = []
            var column = 0, offset = 0
            var values = [Float]()
            for (width, elements) in zip(widths, panelElements) {
                let columns = max(0, min(width, n - column))
                values = [Float](repeating: 0, count: k * width)
                for kk in 0..<k {
                    for j in 0..<columns { values[kk * width + j] = Float(weight(kk, column + j)) }
                }
                let panel = storage.pointer + offset
                cnxk_bf16_pack_panel(values, width, k, columns, width, panel)
                // panelWidths only yields widths with an mr-row kernel in the family.
                let tile = family.first { $0.mr == tileRows && $0.nr == width }!
                let row = family.first { $0.mr == 1 && $0.nr == width } ?? tile
                panels.append(Panel(column: column, width: width, b: UnsafePointer(panel), kernel: tile.bf16GEMM,
                                    rowKernel: row.bf16GEMM))
                if !names.contains(tile.name) { names.append(tile.name) }
                column += width
                offset += elements
            }
            let biasStorage = AlignedBuffer<Float>(count: paddedN)
            for j in 0..<n { biasStorage.pointer[j] = Float(bias(j)) }
            self.panels = panels
            self.bias = UnsafePointer(biasStorage.pointer)
            self.kernelNames = names
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
        return max(bf16.mr, Self.bf16RowBlockElements / max(k, 1) / bf16.mr * bf16.mr) * k
    }

    /// `run` for bf16 storage: each block of A rows is rounded to bf16 (`roundRows`, the one
    /// rounding of every ISA) into `scratch` (`bf16ScratchElements`; allocated here when nil),
    /// then panels outer, row tiles inner, as the f32 layer.
    func runBF16(_ weights: BF16Weights, a: UnsafePointer<Float>, lda: Int, m: Int, output: Output, gelu: Bool,
                 scratch: UnsafeMutablePointer<UInt16>?) {
        guard m > 0 else { return }
        let mr = weights.mr
        let blockRows = min(m, max(mr, Self.bf16RowBlockElements / max(k, 1) / mr * mr))
        let rounded = scratch ?? .allocate(capacity: blockRows * k)
        defer { if scratch == nil { rounded.deallocate() } }
        var tile = cnxk_bf16_gemm_tile()
        tile.k = k
        tile.lda = k
        tile.gelu = gelu ? 1 : 0
        var start = 0
        while start < m {
            let count = min(blockRows, m - start)
            weights.roundRows(a + start * lda, lda, count, k, rounded, k)
            for panel in weights.panels {
                tile.b = panel.b
                tile.bias = weights.bias + panel.column
                var r = 0
                while r < count {
                    let rows = min(mr, count - r)
                    tile.a = UnsafePointer(rounded + r * k)
                    tile.rows = rows
                    switch output {
                    case .compact(let c, let ldc):
                        tile.c = c + (start + r) * ldc + panel.column
                        tile.ldc = ldc
                        tile.c_row_offsets = nil
                        tile.residual = nil
                    case .mapped(let c, let offsets, let residual):
                        tile.c = c + panel.column
                        tile.ldc = 0
                        tile.c_row_offsets = offsets + start + r
                        tile.residual = residual.map { $0 + panel.column }
                    }
                    if rows == 1 { panel.rowKernel(&tile) } else { panel.kernel(&tile) }
                    r += mr
                }
            }
            start += count
        }
    }
}
