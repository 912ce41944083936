/// A linear layer `y = x W + b` with W prepacked into column panels for the GEMM kernels.
///
/// Built once at load time from any weight function, so that LayerNorm affines, layer
/// scales and convolution layouts are folded in while packing.
struct PackedLinear: @unchecked Sendable {
    /// One panel: `width` output columns starting at `column`, packed k-major.
    struct Panel {
        let column: Int
        let width: Int
        let b: UnsafePointer<Float>
        let kernel: @Sendable (GEMMTile) -> Void
        let rowKernel: @Sendable (GEMMTile) -> Void
    }

    /// Reduction length (rows of W read per output).
    let k: Int
    /// Real output columns.
    let n: Int
    /// Output columns rounded up to 16; the pad columns compute exactly zero.
    let paddedN: Int
    let panels: [Panel]
    let bias: UnsafePointer<Float>
    private let storage: AlignedBuffer<Float>

    /// Packs `weight(k, n)` (k < `k`, n < `n`) and `bias(n)`; both are evaluated in Double.
    init(k: Int, n: Int, weight: (Int, Int) -> Double, bias: (Int) -> Double) {
        self.k = k
        self.n = n
        paddedN = roundUp16(n)
        let storage = AlignedBuffer<Float>(count: k * paddedN + paddedN)
        let b = storage.pointer
        let biasPointer = storage.pointer + k * paddedN
        var panels: [Panel] = []
        var column = 0
        for width in KernelTable.panelWidths(paddedColumns: paddedN) {
            let panel = b + k * column
            for kk in 0..<k {
                for j in 0..<width where column + j < n {
                    panel[kk * width + j] = Float(weight(kk, column + j))
                }
            }
            // Every width panelWidths yields has both kernels in the table.
            let tile = KernelTable.gemmKernel(mr: 8, nr: width) ?? KernelTable.gemm[0]
            let row = KernelTable.gemmKernel(mr: 1, nr: width) ?? KernelTable.gemm[0]
            panels.append(Panel(column: column, width: width, b: UnsafePointer(panel), kernel: tile.run, rowKernel: row.run))
            column += width
        }
        for j in 0..<n { biasPointer[j] = Float(bias(j)) }
        self.panels = panels
        self.bias = UnsafePointer(biasPointer)
        self.storage = storage
    }

    /// Where C rows go: compact rows `ldc` apart, or a padded NHWC map through a per-row
    /// offset table (with an optional residual map read at the same offsets).
    enum Output {
        case compact(UnsafeMutablePointer<Float>, ldc: Int)
        case mapped(UnsafeMutablePointer<Float>, offsets: UnsafePointer<Int>, residual: UnsafePointer<Float>?)
    }

    /// `C[0..<m] = A[0..<m] W + b`, then GELU on the stored tile when `gelu` is set.
    /// Panels outer, 8-row tiles inner: a panel stays in cache while it meets every row.
    func run(a: UnsafePointer<Float>, lda: Int, m: Int, output: Output, gelu: Bool = false) {
        for panel in panels {
            var r = 0
            while r < m {
                let rows = min(8, m - r)
                let tile: GEMMTile
                switch output {
                case .compact(let c, let ldc):
                    tile = GEMMTile(k: k, a: a + r * lda, lda: lda, rows: rows, b: panel.b, bias: bias + panel.column,
                                    c: c + r * ldc + panel.column, ldc: ldc)
                case .mapped(let c, let offsets, let residual):
                    tile = GEMMTile(k: k, a: a + r * lda, lda: lda, rows: rows, b: panel.b, bias: bias + panel.column,
                                    c: c + panel.column, ldc: 0, cRowOffsets: offsets + r,
                                    residual: residual.map { $0 + panel.column })
                }
                if rows == 1 { panel.rowKernel(tile) } else { panel.kernel(tile) }
                if gelu {
                    if tile.cRowOffsets == nil {
                        gelu_f32_x16(tile.c, width: panel.width, rows: rows, stride: tile.ldc)
                    } else {
                        for i in 0..<rows { gelu_f32_x16(tile.c + tile.cOffset(i), count: panel.width) }
                    }
                }
                r += 8
            }
        }
    }
}
