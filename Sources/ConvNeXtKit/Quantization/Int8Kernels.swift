import CConvNeXtKernels
import Foundation

/// An int8 or int16 GEMM entry of the kernel table (`KernelTable`, ops qu8/qu16 gemm).
public struct Int8GEMMKernel: Sendable, CustomStringConvertible {
    /// What it computes and its tile, e.g. `qu8_gemm_6x64c4__avx512vnni`.
    public let name: String
    /// The ISA it needs.
    public let isa: ISA
    /// 1: int8 activations; 2: int16 activations as two byte planes.
    public let inputPlanes: Int
    public let rowsPerTile: Int
    public let columnsPerTile: Int
    /// Whether this CPU can run it (whatever the ISA cap).
    public let available: Bool
    /// The C entry point (`cnxq_gemm_fn`): rows [m_begin, m_end) of A x packed B with the epilogue.
    public let function: cnxq_gemm_fn

    public var description: String { name }

    init(_ kernel: Kernel) {
        name = kernel.name
        isa = kernel.isa
        inputPlanes = kernel.op == .qu16GEMM ? 2 : 1
        rowsPerTile = kernel.mr
        columnsPerTile = kernel.nr
        available = kernel.runnable
        function = kernel.quantizedGEMM
    }

    /// Every int8/int16 GEMM kernel in the table, fastest first.
    public static var all: [Int8GEMMKernel] {
        KernelTable.all.filter { $0.op == .qu8GEMM || $0.op == .qu16GEMM }.map(Int8GEMMKernel.init)
    }

    /// The fastest enabled kernel for int8 (1 plane) or int16 (2 planes) activations.
    public static func best(inputPlanes: Int, portableOnly: Bool = false) -> Int8GEMMKernel {
        let op: KernelOp = inputPlanes == 2 ? .qu16GEMM : .qu8GEMM
        let kernel = portableOnly ? KernelTable.entries(op).first { $0.isa == .portable }! : KernelTable.best(op)
        return Int8GEMMKernel(kernel)
    }
}

/// Which kernels an engine uses.
public enum Int8KernelChoice: Sendable {
    /// The best the CPU has within the ISA cap (`KernelTable.best`).
    case automatic
    /// Always the baseline portable C kernels (for tests and comparisons).
    case portable
}

/// The cnxq activation kind for a precision.
@inline(__always) func activationKind(_ p: Precision) -> UInt32 {
    switch p {
    case .int8: return CNXQ_ACT_U8.rawValue
    case .int16: return CNXQ_ACT_U16.rawValue
    case .float: return CNXQ_ACT_F32.rawValue
    }
}

/// Bytes per element of an activation buffer at a precision (int16 counts one plane).
@inline(__always) func elementBytes(_ p: Precision) -> Int { p == .float ? 4 : 1 }

extension cnxq_epilogue {
    /// An epilogue writing to `out` with the given addressing.
    static func make(kind: cnxq_output_kind, out: UnsafeMutableRawPointer, pixelStride: Int, rowStride: Int = 0,
                     width: Int = Int.max, residual: UnsafePointer<Float>? = nil, outLo: UnsafeMutablePointer<UInt8>? = nil,
                     quantization: ActivationQuantization? = nil) -> cnxq_epilogue {
        var e = cnxq_epilogue()
        e.kind = Int32(kind.rawValue)
        e.out = out
        e.out_lo = outLo
        e.residual = residual
        e.out_pixel_stride = pixelStride
        e.out_row_stride = rowStride
        e.out_width = width
        if let q = quantization { cnxq_epilogue_set_quantization(&e, 1 / q.scale, q.zeroPoint) }
        return e
    }
}
