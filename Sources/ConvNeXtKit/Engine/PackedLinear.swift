import CConvNeXtKernels

/// A linear layer `y = x W + b` with W prepacked into column panels for the f32 GEMM kernels of
/// the kernel table (panel width = the kernel's nr, chosen for the CPU when the layer is built),
/// or, with `precision: .bf16`, into bf16 panels for the bf16 GEMM kernels (`PackedLinear+BF16.swift`).
///
/// Built once at load time from any weight function, so that LayerNorm affines, layer
/// scales and convolution layouts are folded in while packing.
struct PackedLinear: @unchecked Sendable {
    /// Reduction length (rows of W read per output).
    let k: Int
    /// Real output columns.
    let n: Int
    /// Output columns rounded up to 16; the pad columns compute exactly zero.
    let paddedN: Int
    /// Rows per tile of the panel kernels.
    let mr: Int
    let panels: [GEMMPanel<cnxk_f32_gemm_tile>]
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
        let storage = AlignedBuffer<Float>(count: k * paddedN + paddedN)
        let biasPointer = storage.pointer + k * paddedN
        let built = Self.buildPanels(family: KernelTable.family(.f32GEMM), paddedN: paddedN,
                                     function: { $0.f32GEMM }) { column, width -> UnsafePointer<Float> in
            let panel = storage.pointer + k * column
            for kk in 0..<k {
                for j in 0..<width where column + j < n { panel[kk * width + j] = Float(weight(kk, column + j)) }
            }
            return UnsafePointer(panel)
        }
        mr = built.mr
        for j in 0..<n { biasPointer[j] = Float(bias(j)) }
        panels = built.panels
        self.bias = UnsafePointer(biasPointer)
        kernelNames = built.names
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
        Self.runPanels(panels, mr: mr, k: k, a: a, lda: lda, m: m, rowBase: 0, bias: bias, output: output, gelu: gelu)
    }
}
