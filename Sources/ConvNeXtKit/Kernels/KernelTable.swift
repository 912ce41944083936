/// The one list of f32 micro-kernels. The engine picks kernels from it (dispatch), the kernel
/// tests run every entry against its reference, and `convnext bench --kernels` times every entry.
public enum KernelTable {
    /// A GEMM register-tile kernel and its plain reference.
    public struct GEMM: Sendable {
        public let name: String
        /// Rows of A per call (the kernel stores `tile.rows` <= mr of them).
        public let mr: Int
        /// Columns of the packed B panel.
        public let nr: Int
        public let run: @Sendable (GEMMTile) -> Void
        public var reference: @Sendable (GEMMTile) -> Void {
            let (mr, nr) = (mr, nr)
            return { gemm_f32_reference($0, mr: mr, nr: nr) }
        }
    }

    /// A depthwise 7x7 strip kernel: up to `pixels` output pixels x 16 channels per call.
    public struct Depthwise: Sendable {
        public let name: String
        public let pixels: Int
        public let run: @Sendable (DepthwiseStrip) -> Void
        public var reference: @Sendable (DepthwiseStrip) -> Void { { dwconv7x7_f32_reference($0) } }
    }

    /// An elementwise kernel in place over a multiple of 16 floats.
    public struct Elementwise: Sendable {
        public let name: String
        public let run: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
        public let reference: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
    }

    /// A per-pixel LayerNorm kernel (`layout` channels, optional affine).
    public struct RowNorm: Sendable {
        public let name: String
        public let affine: Bool
        public let run: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, ChannelLayout, Float,
                                   UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void
        public let reference: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, ChannelLayout, Float,
                                         UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void
    }

    public static let gemm: [GEMM] = [
        GEMM(name: "gemm_f32_8x48", mr: 8, nr: 48, run: { gemm_f32_8x48($0) }),
        GEMM(name: "gemm_f32_8x32", mr: 8, nr: 32, run: { gemm_f32_8x32($0) }),
        GEMM(name: "gemm_f32_8x16", mr: 8, nr: 16, run: { gemm_f32_8x16($0) }),
        GEMM(name: "gemm_f32_1x48", mr: 1, nr: 48, run: { gemm_f32_1x48($0) }),
        GEMM(name: "gemm_f32_1x32", mr: 1, nr: 32, run: { gemm_f32_1x32($0) }),
        GEMM(name: "gemm_f32_1x16", mr: 1, nr: 16, run: { gemm_f32_1x16($0) }),
    ]

    public static let depthwise: [Depthwise] = [
        Depthwise(name: "dwconv7x7_f32_8x16", pixels: 8, run: { dwconv7x7_f32_8x16($0) }),
    ]

    public static let elementwise: [Elementwise] = [
        Elementwise(name: "gelu_f32_x16", run: { gelu_f32_x16($0, count: $1) },
                    reference: { gelu_f32_reference($0, count: $1) }),
    ]

    public static let rowNorm: [RowNorm] = [
        RowNorm(name: "layernorm_f32_row", affine: false,
                run: { i, o, l, e, _, _ in layernorm_f32_row(i, o, l, epsilon: e) },
                reference: { i, o, l, e, _, _ in layernorm_f32_reference(i, o, l, epsilon: e) }),
        RowNorm(name: "layernorm_affine_f32_row", affine: true,
                run: { i, o, l, e, g, b in
                    guard let g, let b else { return layernorm_f32_row(i, o, l, epsilon: e) }
                    layernorm_affine_f32_row(i, o, l, epsilon: e, gamma: g, beta: b)
                },
                reference: { layernorm_f32_reference($0, $1, $2, epsilon: $3, gamma: $4, beta: $5) }),
    ]

    /// The GEMM kernel for `mr` rows and an `nr`-wide panel.
    public static func gemmKernel(mr: Int, nr: Int) -> GEMM? {
        gemm.first { $0.mr == mr && $0.nr == nr }
    }

    /// The depthwise kernel for strips of `pixels`.
    public static func depthwiseKernel(pixels: Int) -> Depthwise? {
        depthwise.first { $0.pixels == pixels }
    }

    /// Panel widths for `paddedColumns` output columns (a multiple of 16): 48-wide panels,
    /// ending in 32 + 32 rather than 48 + 16 (16-wide panels waste broadcasts). All-32 panels
    /// measured about 5% slower on the atto shapes.
    public static func panelWidths(paddedColumns n: Int) -> [Int] {
        var widths = [Int](repeating: 48, count: n / 48)
        switch n % 48 {
        case 32: widths.append(32)
        case 16:
            if widths.isEmpty { widths.append(16) } else { widths.removeLast(); widths += [32, 32] }
        default: break
        }
        return widths
    }
}
