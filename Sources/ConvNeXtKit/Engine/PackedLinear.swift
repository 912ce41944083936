import CConvNeXtKernels

/// A linear layer `y = x W + b` with W prepacked into column panels for the f32 GEMM kernels of
/// the kernel table (panel width = the kernel's nr, chosen for the CPU when the layer is built),
/// or, with `precision: .bf16`, into bf16 panels for the bf16 GEMM kernels (`PackedLinear+BF16.swift`).
///
/// Built once at load time from any weight function, so that LayerNorm affines, layer
/// scales and convolution layouts are folded in while packing.
struct PackedLinear: @unchecked Sendable {
    /// One panel: `width` output columns starting at `column`, packed k-major.
    struct Panel {
        let column: Int
        let width: Int
        let b: UnsafePointer<Float>
        /// The mr x width tile kernel and the 1 x width one (the same when the table has no row kernel).
        let kernel: cnxk_f32_gemm_fn
        let rowKernel: cnxk_f32_gemm_fn
    }

    /// Reduction length (rows of W read per output).
    let k: Int
    /// Real output columns.
    let n: Int
    /// Output columns rounded up to 16; the pad columns compute exactly zero.
    let paddedN: Int
    /// Rows per tile of the panel kernels.
    let mr: Int
    let panels: [Panel]
    let bias: UnsafePointer<Float>
    /// The tile kernels' names, for profiles and `convnext cpu`.
    let kernelNames: [String]
    /// The weights' precision; with `.bf16`, `bf16` holds them and `panels` is empty.
    let precision: FloatPrecision
    let bf16: BF16Weights?
    private let storage: AlignedBuffer<Float>

    /// Packs `weight(k, n)` (k < `k`, n < `n`) and `bias(n)`; both are evaluated in Double.
    init(k: Int, n: Int, precision: FloatPrecision = .f32, weight: (Int, Int) -> Double, bias: (Int) -> Double) {
        self.k = k
        self.n = n
        paddedN = roundUp16(n)
        self.precision = precision
        if precision == .bf16 {
            let packed = BF16Weights(k: k, n: n, paddedN: paddedN, weight: weight, bias: bias)
            bf16 = packed
            mr = packed.mr
            panels = []
            self.bias = packed.bias
            kernelNames = packed.kernelNames
            storage = AlignedBuffer<Float>(count: 1)
            return
        }
        bf16 = nil
        let family = KernelTable.family(.f32GEMM)
        let tileRows = family.map(\.mr).max() ?? 1
        mr = tileRows
        let widths = KernelTable.panelWidths(paddedColumns: paddedN,
                                      available: Set(family.filter { $0.mr == tileRows }.map(\.nr)))
        let storage = AlignedBuffer<Float>(count: k * paddedN + paddedN)
        let b = storage.pointer
        let biasPointer = storage.pointer + k * paddedN
        var panels: [Panel] = []
        var names: [String] = []
        var column = 0
        for width in widths {
            let panel = b + k * column
            for kk in 0..<k {
                for j in 0..<width where column + j < n {
                    panel[kk * width + j] = Float(weight(kk, column + j))
                }
            }
            // panelWidths only yields widths with an mr-row kernel in the family.
            let tile = family.first { $0.mr == tileRows && $0.nr == width }!
            let row = family.first { $0.mr == 1 && $0.nr == width } ?? tile
            panels.append(Panel(column: column, width: width, b: UnsafePointer(panel), kernel: tile.f32GEMM,
                                rowKernel: row.f32GEMM))
            if !names.contains(tile.name) { names.append(tile.name) }
            column += width
        }
        for j in 0..<n { biasPointer[j] = Float(bias(j)) }
        self.panels = panels
        self.bias = UnsafePointer(biasPointer)
        self.kernelNames = names
        self.storage = storage
    }

    /// Where C rows go: compact rows `ldc` apart, or a padded NHWC map through a per-row
    /// offset table (with an optional residual map read at the same offsets).
    enum Output {
        case compact(UnsafeMutablePointer<Float>, ldc: Int)
        case mapped(UnsafeMutablePointer<Float>, offsets: UnsafePointer<Int>, residual: UnsafePointer<Float>?)
    }

    /// `C[0..<m] = A[0..<m] W + b`, with GELU fused into the store when `gelu` is set.
    /// Panels outer, row tiles inner: a panel stays in cache while it meets every row.
    /// `bf16Scratch` (bf16 storage only): `bf16ScratchElements` elements for the rounded A rows.
    func run(a: UnsafePointer<Float>, lda: Int, m: Int, output: Output, gelu: Bool = false,
             bf16Scratch: UnsafeMutablePointer<UInt16>? = nil) {
        if let bf16 { return runBF16(bf16, a: a, lda: lda, m: m, output: output, gelu: gelu, scratch: bf16Scratch) }
        var tile = cnxk_f32_gemm_tile()
        tile.k = k
        tile.lda = lda
        tile.gelu = gelu ? 1 : 0
        for panel in panels {
            tile.b = panel.b
            tile.bias = bias + panel.column
            var r = 0
            while r < m {
                let rows = min(mr, m - r)
                tile.a = a + r * lda
                tile.rows = rows
                switch output {
                case .compact(let c, let ldc):
                    tile.c = c + r * ldc + panel.column
                    tile.ldc = ldc
                    tile.c_row_offsets = nil
                    tile.residual = nil
                case .mapped(let c, let offsets, let residual):
                    tile.c = c + panel.column
                    tile.ldc = 0
                    tile.c_row_offsets = offsets + r
                    tile.residual = residual.map { $0 + panel.column }
                }
                if rows == 1 { panel.rowKernel(&tile) } else { panel.kernel(&tile) }
                r += mr
            }
        }
    }
}
