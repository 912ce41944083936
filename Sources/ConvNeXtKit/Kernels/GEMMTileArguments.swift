import CConvNeXtKernels

/// The argument block of one GEMM micro-kernel call, f32 or bf16.
///
/// `cnxk_f32_gemm_tile` and `cnxk_bf16_gemm_tile` have the same fields and differ only in the
/// element type of A and B, so code that fills one (the kernel benchmark, the kernel tests) is
/// written once for both. Package access: the tests share it, it is no public API.
package protocol GEMMTileArguments {
    /// The element of A and of the packed B panel (`Float` for f32, bf16 bits as `UInt16`).
    associatedtype Element

    init()
    var k: Int { get set }
    var a: UnsafePointer<Element>! { get set }
    var lda: Int { get set }
    var rows: Int { get set }
    var b: UnsafePointer<Element>! { get set }
    var bias: UnsafePointer<Float>! { get set }
    var c: UnsafeMutablePointer<Float>! { get set }
    var ldc: Int { get set }
    var c_row_offsets: UnsafePointer<Int>! { get set }
    var residual: UnsafePointer<Float>! { get set }
    var gelu: Int32 { get set }
}

extension GEMMTileArguments {
    /// A tile of `rows` rows over A (`lda` apart) and one packed B panel, C rows `ldc` apart
    /// unless `rowOffsets` places them; no residual, no GELU unless set afterwards.
    package init(k: Int, a: UnsafePointer<Element>?, lda: Int, rows: Int, b: UnsafePointer<Element>?,
                 bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>?, ldc: Int) {
        self.init()
        self.k = k
        self.a = a
        self.lda = lda
        self.rows = rows
        self.b = b
        self.bias = bias
        self.c = c
        self.ldc = ldc
    }
}

extension cnxk_f32_gemm_tile: GEMMTileArguments {}
extension cnxk_bf16_gemm_tile: GEMMTileArguments {}
