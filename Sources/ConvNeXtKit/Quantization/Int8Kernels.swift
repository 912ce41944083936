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

@inline(__always) func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }

/// A convolution or linear layer laid out for the kernels: packed int8 panels (or float rows),
/// per-column scale, bias and zero-point corrections, padded to 16 columns.
/// Immutable after creation; owns its memory.
final class PackedGEMM: @unchecked Sendable {
    let n: Int
    /// Padded reduction length (the A row stride in elements); a multiple of 4.
    let kPadded: Int
    let nPadded: Int
    let input: ActivationQuantization
    let kernel: Int8GEMMKernel?
    /// int8: packed panels (a placeholder for float layers).
    let weights: UnsafeMutableRawPointer
    /// Float layers: the weights packed for the f32 GEMM kernels, bias included.
    let floatLayer: PackedLinear?
    let scale: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let zpColsum: UnsafeMutablePointer<Int32>
    let zpColsumLo: UnsafeMutablePointer<Int32>

    /// Checks that a layer's arrays match its shape (a hand-built model could be inconsistent).
    static func validate(_ layer: QuantizedLinear, name: String) throws {
        let n = layer.outFeatures, k = layer.inFeatures
        let ok = layer.bias.count == n && (layer.input.precision == .float
            ? layer.floatWeights.count == n * k
            : layer.weights.count == n * k && layer.weightScales.count == n && layer.input.scale > 0)
        guard ok, n > 0, k > 0 else {
            throw ConvNeXtError.invalidModel(path: "quantized model", reason: "layer \(name) arrays do not match its \(n)x\(k) shape")
        }
    }

    /// `kIndex` maps a logical input index to its padded position (< kPadded).
    init(_ layer: QuantizedLinear, kPadded: Int, kernels: Int8KernelChoice, kIndex: (Int) -> Int) {
        let n = layer.outFeatures
        self.n = n
        self.kPadded = kPadded
        nPadded = roundUp(n, 16)
        input = layer.input
        scale = .allocate(capacity: nPadded)
        bias = .allocate(capacity: nPadded)
        zpColsum = .allocate(capacity: nPadded)
        zpColsumLo = .allocate(capacity: nPadded)
        scale.initialize(repeating: 0, count: nPadded)
        bias.initialize(repeating: 0, count: nPadded)
        zpColsum.initialize(repeating: 0, count: nPadded)
        zpColsumLo.initialize(repeating: 0, count: nPadded)
        for o in 0..<n { bias[o] = layer.bias[o] }
        let kIn = layer.inFeatures
        if input.precision == .float {
            kernel = nil
            weights = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            var w = [Float](repeating: 0, count: kPadded * n)
            for o in 0..<n {
                for i in 0..<kIn { w[kIndex(i) * n + o] = layer.floatWeights[o * kIn + i] }
            }
            let b = layer.bias
            floatLayer = PackedLinear(k: kPadded, n: n, weight: { k, o in Double(w[k * n + o]) }, bias: { Double(b[$0]) })
            return
        }
        floatLayer = nil
        let planes = input.precision == .int16 ? 2 : 1
        kernel = Int8GEMMKernel.best(inputPlanes: planes, portableOnly: kernels == .portable)
        var padded = [Int8](repeating: 0, count: n * kPadded)
        for o in 0..<n {
            for i in 0..<kIn { padded[o * kPadded + kIndex(i)] = layer.weights[o * kIn + i] }
        }
        let groups = kPadded / 4
        let bytes = cnxq_packed_size(n, groups)
        let packed = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        var colsum = [Int32](repeating: 0, count: nPadded)
        padded.withUnsafeBufferPointer { w in
            colsum.withUnsafeMutableBufferPointer { cs in
                cnxq_pack_weights(w.baseAddress, n, kPadded, groups, packed.assumingMemoryBound(to: Int8.self), cs.baseAddress)
            }
        }
        weights = packed
        let zp = input.zeroPoint
        for o in 0..<n {
            scale[o] = input.scale * layer.weightScales[o]
            if planes == 2 {
                zpColsum[o] = (zp >> 8) * colsum[o]
                zpColsumLo[o] = (zp & 255) * colsum[o]
            } else {
                zpColsum[o] = zp * colsum[o]
            }
        }
    }

    deinit {
        weights.deallocate()
        scale.deallocate()
        bias.deallocate()
        zpColsum.deallocate()
        zpColsumLo.deallocate()
    }

    /// cnxq activation kind of this layer's input.
    var inputKind: Int32 { Int32(activationKind(input.precision)) }

    /// Computes rows [0, rows) of A x W and applies the epilogue. `a` holds rows of `kPadded`
    /// elements (u8; for int16 a second plane at `a + planeBytes`; float for float layers).
    /// `scratch` (float layers only) holds at least 16 * nPadded floats.
    func run(rows: Int, a: UnsafeRawPointer, planeBytes: Int, epilogue: inout cnxq_epilogue,
             scratch: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        epilogue.scale = UnsafePointer(scale)
        epilogue.bias = UnsafePointer(bias)
        epilogue.zp_colsum = UnsafePointer(zpColsum)
        epilogue.zp_colsum_lo = UnsafePointer(zpColsumLo)
        if let kernel {
            let u8 = a.assumingMemoryBound(to: UInt8.self)
            let lo: UnsafePointer<UInt8>? = kernel.inputPlanes == 2 ? u8 + planeBytes : nil
            kernel.function(0, rows, n, kPadded / 4, u8, lo, kPadded,
                            UnsafePointer(weights.assumingMemoryBound(to: Int8.self)), &epilogue)
            return
        }
        runFloat(rows: rows, a: a.assumingMemoryBound(to: Float.self), epilogue: &epilogue, scratch: scratch)
    }

    /// Float layers: the f32 GEMM kernels into `scratch` 16 rows at a time (bias included), then
    /// the shared C epilogue.
    private func runFloat(rows: Int, a: UnsafePointer<Float>, epilogue: inout cnxq_epilogue,
                          scratch: UnsafeMutablePointer<Float>) {
        guard let floatLayer else { return }
        var m0 = 0
        while m0 < rows {
            let mc = min(16, rows - m0)
            floatLayer.run(a: a + m0 * kPadded, lda: kPadded, m: mc, output: .compact(scratch, ldc: nPadded))
            cnxq_apply_output(&epilogue, m0, m0 + mc, n, scratch, nPadded)
            m0 += mc
        }
    }
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
        if let q = quantization {
            e.inv_scale = 1 / q.scale
            e.zero_point = q.zeroPoint
        }
        return e
    }
}
