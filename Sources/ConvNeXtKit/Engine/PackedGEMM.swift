import CConvNeXtKernels
import Foundation

@inline(__always) func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }

/// A convolution or linear layer laid out for the kernels: packed int8 panels (or float rows),
/// per-column scale, bias and zero-point corrections, padded to 16 columns.
/// Immutable after creation; owns its memory.
final class PackedGEMM: @unchecked Sendable {
    let n: Int
    /// Padded reduction length (the A row stride in elements); a multiple of 4.
    let kPadded: Int
    /// The reduction length the kernels run: the last position `kIndex` uses, rounded up to a
    /// group of 4. A's entries past it (channel padding) meet zero weights, so skipping them
    /// changes no sum; it saves stage 0's fc1 a sixth of its multiply-adds (40 of 48 channels).
    let kUsed: Int
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
    /// `floatPrecision` is the weights' storage when the layer's input is float (f32 or bf16).
    init(_ layer: QuantizedLinear, kPadded: Int, kernels: Int8KernelChoice, floatPrecision: FloatPrecision = .f32,
         kIndex: (Int) -> Int) {
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
        let kUsed = roundUp((0..<kIn).map(kIndex).max().map { $0 + 1 } ?? kPadded, 4)
        precondition(kUsed <= kPadded, "kIndex maps past the padded reduction length")
        self.kUsed = kUsed
        if input.precision == .float {
            kernel = nil
            weights = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            var w = [Float](repeating: 0, count: kPadded * n)
            for o in 0..<n {
                for i in 0..<kIn { w[kIndex(i) * n + o] = layer.floatWeights[o * kIn + i] }
            }
            let b = layer.bias
            floatLayer = PackedLinear(k: kUsed, n: n, precision: floatPrecision, weight: { k, o in Double(w[k * n + o]) },
                                     bias: { Double(b[$0]) })
            return
        }
        floatLayer = nil
        let planes = input.precision == .int16 ? 2 : 1
        kernel = Int8GEMMKernel.best(inputPlanes: planes, portableOnly: kernels == .portable)
        var padded = [Int8](repeating: 0, count: n * kPadded)
        for o in 0..<n {
            for i in 0..<kIn { padded[o * kPadded + kIndex(i)] = layer.weights[o * kIn + i] }
        }
        let groups = kUsed / 4
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

    /// Bytes of packed weights one pass over all rows streams (f32 4, bf16 2, int8 1 per weight).
    var weightBytes: Int {
        let perWeight = floatLayer.map { $0.precision == .bf16 ? 2 : 4 } ?? 1
        return kUsed * nPadded * perWeight
    }

    /// The kernels this layer runs.
    var kernelNames: [String] { kernel.map { [$0.name] } ?? floatLayer?.kernelNames ?? [] }

    /// Computes `rows` rows of A x W and applies the epilogue. `a` holds rows of `kPadded`
    /// elements (u8; for int16 a second plane at `a + planeBytes`; float for float layers).
    /// The rows are output rows `firstRow ..< firstRow + rows` of the epilogue's pixel mapping (a
    /// chunk that starts inside an image row); `a` points at the first of them.
    /// `scratch` holds at least 16 * nPadded floats and `rows` row offsets.
    func run(rows: Int, firstRow: Int = 0, a: UnsafeRawPointer, planeBytes: Int, epilogue: inout cnxq_epilogue,
             scratch: GEMMScratch) {
        guard rows > 0 else { return }
        epilogue.scale = UnsafePointer(scale)
        epilogue.bias = UnsafePointer(bias)
        epilogue.zp_colsum = UnsafePointer(zpColsum)
        epilogue.zp_colsum_lo = UnsafePointer(zpColsumLo)
        if let kernel {
            let u8 = a.assumingMemoryBound(to: UInt8.self)
            let lo: UnsafePointer<UInt8>? = kernel.inputPlanes == 2 ? u8 + planeBytes : nil
            // The kernels read row m at a + m * lda: shift A back so that row firstRow is `a`.
            let back = firstRow * kPadded
            kernel.function(firstRow, firstRow + rows, n, kUsed / 4, u8 - back, lo.map { $0 - back }, kPadded,
                            UnsafePointer(weights.assumingMemoryBound(to: Int8.self)), &epilogue)
            return
        }
        runFloat(rows: rows, firstRow: firstRow, a: a.assumingMemoryBound(to: Float.self), epilogue: &epilogue,
                 scratch: scratch)
    }

    /// Float layers. Float outputs (plain, + GELU, + residual) are stored by the f32 tiles
    /// themselves through a row-offset table; quantised outputs go through `scratch` 16 rows at a
    /// time and the shared C epilogue. The fused store writes all `nPadded` columns, so it needs
    /// outputs at least that far apart (the logits are not: they take the scratch path).
    private func runFloat(rows: Int, firstRow: Int, a: UnsafePointer<Float>, epilogue: inout cnxq_epilogue,
                          scratch: GEMMScratch) {
        guard let floatLayer else { return }
        let kind = UInt32(bitPattern: epilogue.kind)
        let fused = kind == CNXQ_OUT_F32.rawValue || kind == CNXQ_OUT_F32_ADD.rawValue || kind == CNXQ_OUT_GELU_F32.rawValue
        if fused, epilogue.out_pixel_stride >= nPadded, let out = epilogue.out?.assumingMemoryBound(to: Float.self) {
            let pixel = epilogue.out_pixel_stride, width = epilogue.out_width, row = epilogue.out_row_stride
            let offsets = scratch.rowOffsets
            if width >= firstRow + rows {
                for r in 0..<rows { offsets[r] = (firstRow + r) * pixel }
            } else {
                for r in 0..<rows { offsets[r] = ((firstRow + r) / width) * row + ((firstRow + r) % width) * pixel }
            }
            let residual = kind == CNXQ_OUT_F32_ADD.rawValue ? epilogue.residual : nil
            floatLayer.run(a: a, lda: kPadded, m: rows, output: .mapped(out, offsets: offsets, residual: residual),
                           gelu: kind == CNXQ_OUT_GELU_F32.rawValue, bf16Scratch: scratch.bf16)
            return
        }
        var m0 = 0
        while m0 < rows {
            let mc = min(16, rows - m0)
            floatLayer.run(a: a + m0 * kPadded, lda: kPadded, m: mc, output: .compact(scratch.floats, ldc: nPadded),
                           bf16Scratch: scratch.bf16)
            cnxq_apply_output(&epilogue, firstRow + m0, firstRow + m0 + mc, n, scratch.floats, nPadded)
            m0 += mc
        }
    }
}
