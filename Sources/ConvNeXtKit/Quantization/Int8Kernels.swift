import CConvNeXtInt8
import Foundation

/// One entry of the C kernel table (Sources/CConvNeXtInt8): the same list drives dispatch,
/// tests and benchmarks.
public struct Int8GEMMKernel: Sendable, CustomStringConvertible {
    /// What it computes and its tile, e.g. `gemm_u8s8_6x64c4_avx512vnni`.
    public let name: String
    /// `avx512vnni`, `avx512bw` (portable code for AVX-512 without VNNI) or `portable`.
    public let isa: String
    /// 1: int8 activations; 2: int16 activations as two byte planes.
    public let inputPlanes: Int
    public let rowsPerTile: Int
    public let columnsPerTile: Int
    /// Whether this CPU can run it.
    public let available: Bool
    /// The C entry point (`cnxq_gemm_fn`): rows [m_begin, m_end) of A x packed B with the epilogue.
    public let function: cnxq_gemm_fn

    public var description: String { name }

    /// Every kernel in the table, fastest first.
    public static var all: [Int8GEMMKernel] {
        (0..<cnxq_gemm_kernel_count()).compactMap { i in
            guard let k = cnxq_gemm_kernel_at(i), let fn = k.pointee.gemm, let name = k.pointee.name else { return nil }
            let isa: String
            switch k.pointee.isa {
            case Int32(CNXQ_ISA_AVX512VNNI.rawValue): isa = "avx512vnni"
            case Int32(CNXQ_ISA_AVX512BW.rawValue): isa = "avx512bw"
            default: isa = "portable"
            }
            return Int8GEMMKernel(name: String(cString: name), isa: isa,
                                  inputPlanes: Int(k.pointee.input_planes), rowsPerTile: Int(k.pointee.mr),
                                  columnsPerTile: Int(k.pointee.nr), available: cnxq_isa_available(k.pointee.isa) != 0,
                                  function: fn)
        }
    }

    /// The fastest available kernel for int8 (1 plane) or int16 (2 planes) activations.
    public static func best(inputPlanes: Int, portableOnly: Bool = false) -> Int8GEMMKernel? {
        all.first { $0.inputPlanes == inputPlanes && $0.available && (!portableOnly || $0.isa == "portable") }
    }
}

/// Which kernels an engine uses.
public enum Int8KernelChoice: Sendable {
    /// VNNI when the CPU has it, portable otherwise.
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
    /// int8: packed panels; float: `[kPadded][nPadded]` floats.
    let weights: UnsafeMutableRawPointer
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
            let w = UnsafeMutablePointer<Float>.allocate(capacity: kPadded * nPadded)
            w.initialize(repeating: 0, count: kPadded * nPadded)
            for o in 0..<n {
                for i in 0..<kIn { w[kIndex(i) * nPadded + o] = layer.floatWeights[o * kIn + i] }
            }
            weights = UnsafeMutableRawPointer(w)
            return
        }
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

    /// Float layers: 4 rows x 16 columns of SIMD accumulators, then the shared C epilogue.
    private func runFloat(rows: Int, a: UnsafePointer<Float>, epilogue: inout cnxq_epilogue,
                          scratch: UnsafeMutablePointer<Float>) {
        let w = UnsafeRawPointer(weights)
        let np = nPadded, kp = kPadded
        let rawScratch = UnsafeMutableRawPointer(scratch)
        var m0 = 0
        while m0 < rows {
            let mc = min(16, rows - m0)
            var r = 0
            while r < mc {
                let rr = min(4, mc - r)
                let a0 = a + (m0 + r) * kp
                let a1 = a + (m0 + r + min(1, rr - 1)) * kp
                let a2 = a + (m0 + r + min(2, rr - 1)) * kp
                let a3 = a + (m0 + r + min(3, rr - 1)) * kp
                var j = 0
                while j < np {
                    let b = UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD16<Float>.self)
                    var c0 = b, c1 = b, c2 = b, c3 = b
                    for k in 0..<kp {
                        let wv = w.loadUnaligned(fromByteOffset: (k * np + j) * 4, as: SIMD16<Float>.self)
                        c0.addProduct(SIMD16(repeating: a0[k]), wv)
                        c1.addProduct(SIMD16(repeating: a1[k]), wv)
                        c2.addProduct(SIMD16(repeating: a2[k]), wv)
                        c3.addProduct(SIMD16(repeating: a3[k]), wv)
                    }
                    rawScratch.storeBytes(of: c0, toByteOffset: (r * np + j) * 4, as: SIMD16<Float>.self)
                    if rr > 1 { rawScratch.storeBytes(of: c1, toByteOffset: ((r + 1) * np + j) * 4, as: SIMD16<Float>.self) }
                    if rr > 2 { rawScratch.storeBytes(of: c2, toByteOffset: ((r + 2) * np + j) * 4, as: SIMD16<Float>.self) }
                    if rr > 3 { rawScratch.storeBytes(of: c3, toByteOffset: ((r + 3) * np + j) * 4, as: SIMD16<Float>.self) }
                    j += 16
                }
                r += rr
            }
            cnxq_apply_output(&epilogue, m0, m0 + mc, n, scratch, np)
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
