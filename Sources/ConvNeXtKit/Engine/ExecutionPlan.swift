import CConvNeXtKernels
import Foundation

/// Shape of the feature map of one stage inside the runtime: NHWC, channels padded to 16, and
/// 3 pixels of zero border so the depthwise 7x7 reads without bounds checks.
struct StageGeometry: Sendable {
    var h: Int, w: Int, c: Int
    var cp: Int { roundUp(c, 16) }
    var rowStride: Int { (w + 6) * cp }
    var paddedFloats: Int { (h + 6) * rowStride }
    var pixels: Int { h * w }
    /// Offset of interior pixel (y, x).
    @inline(__always) func offset(_ y: Int, _ x: Int) -> Int { (y + 3) * rowStride + (x + 3) * cp }
}

/// One block with its layers packed for the kernels.
struct PlannedBlock {
    let dwWeights: UnsafeMutablePointer<Float>  // [49][cp]
    let dwBias: UnsafeMutablePointer<Float>     // [cp]
    let epsilon: Float
    let normWeight: [Float]
    let normBias: [Float]
    let fc1: PackedGEMM
    let fc2: PackedGEMM
    let hasLayerScale: Bool
}

struct PlannedStage {
    let geometry: StageGeometry
    /// Image rows per chunk of the fused block (dwconv .. fc2), from `ExecutionPlan.hiddenChunkBytes(weightBytes:)`.
    let rowsPerChunk: Int
    /// Chunks per thread when several threads share a phase: 2 (a delayed thread costs at most
    /// half its share), or 1 when the blocks' weights outgrow the small hidden budget, since
    /// every chunk streams all of them (float nano stage 3: 13 MB per block).
    let chunksPerThread: Int
    let downsample: PackedGEMM?
    let downsampleEpsilon: Float
    let downsampleNormWeight: [Float]
    let downsampleNormBias: [Float]
    let blocks: [PlannedBlock]
}

/// The one execution plan of the runtime, for every precision: geometry, packed weights and scratch
/// sizes of a `QuantizedModel` (the program: every GEMM with its input precision — float for a
/// float model, int8/int16 where calibration chose them). Immutable; owns its weights.
///
/// Kernels are chosen here, from `KernelTable` under the current ISA cap: the f32 tiles for float
/// layers, the qu8/qu16 GEMMs for quantised ones, one depthwise and one LayerNorm kernel.
final class ExecutionPlan: @unchecked Sendable {
    let config: ConvNeXtConfig
    let stemKernel: Int
    let stem: PackedGEMM
    let stemGeometry: StageGeometry
    let stemNormWeight: UnsafeMutablePointer<Float>
    let stemNormBias: UnsafeMutablePointer<Float>
    let stemEpsilon: Float
    let stemRowsPerChunk: Int
    let stages: [PlannedStage]
    let head: PackedGEMM
    let headEpsilon: Float
    let headNormWeight: [Float]
    let headNormBias: [Float]
    /// The depthwise and LayerNorm kernels chosen from `KernelTable` for this CPU.
    let depthwiseKernel: Kernel
    let layerNormKernel: Kernel
    private var owned: [UnsafeMutablePointer<Float>] = []

    /// Per-thread scratch sizes (largest over the layers).
    let chunkFloatCount: Int
    let chunkABytes: Int
    let chunkHBytes: Int
    let gemmScratchFloats: Int
    /// Most GEMM rows of one call (pixels of the largest chunk).
    let maxChunkPixels: Int

    /// Target size in bytes of one chunk's hidden activations (fc1 output), which stays in L2
    /// (float atto: 64 KB and 1 MB measured 2-5% slower), when the block's weights are small.
    static let hiddenChunkBytes = 256 << 10
    /// Largest hidden budget: blocks whose fc weights exceed L2 stream them once per chunk, so
    /// their chunks grow with the weights up to this size (float nano at 1 thread: 1 MB
    /// instead of 256 KB measured 10-20% faster on Zen 3 and Zen 5; docs/benchmarks.md).
    static let maxHiddenChunkBytes = 1 << 20

    /// The hidden budget of a block whose fc1 and fc2 weights take `weightBytes`: at least
    /// `hiddenChunkBytes`, growing with the weights up to `maxHiddenChunkBytes`, so a chunk does
    /// at least as much work with the weights as it takes to stream them.
    static func hiddenChunkBytes(weightBytes: Int) -> Int {
        min(max(hiddenChunkBytes, weightBytes), maxHiddenChunkBytes)
    }
    /// Upper bound of a chunk's pixels (int8 hidden activations are 4x smaller than float ones).
    static let maxChunkPixelsTarget = 448

    /// Every GEMM of the program, in execution order.
    var gemms: [PackedGEMM] {
        [stem] + stages.flatMap { s in (s.downsample.map { [$0] } ?? []) + s.blocks.flatMap { [$0.fc1, $0.fc2] } } + [head]
    }

    var kernelNames: [String] {
        var names: [String] = []
        for g in gemms {
            for n in g.kernelNames where !names.contains(n) { names.append(n) }
        }
        return names + [depthwiseKernel.name, layerNormKernel.name]
    }

    /// Per-thread bf16 scratch (rounded A rows) of the largest bf16 layer; 0 without bf16 layers.
    var gemmScratchBF16Elements: Int { gemms.map { $0.floatLayer?.bf16ScratchElements ?? 0 }.max() ?? 0 }

    /// Image rows per chunk for a stage of width `w` whose hidden activations take `hiddenBytes`
    /// per pixel: the byte budget, at most `maxChunkPixelsTarget` pixels, at least one row.
    static func rowsPerChunk(width w: Int, hiddenBytes: Int, budget: Int = hiddenChunkBytes) -> Int {
        let pixels = min(budget / max(hiddenBytes, 1), maxChunkPixelsTarget)
        return max(1, pixels / max(w, 1))
    }

    init(model: QuantizedModel, kernels: Int8KernelChoice, floatPrecision: FloatPrecision = .f32) throws {
        let cfg = model.config
        config = cfg
        try PackedGEMM.validate(model.stemConv, name: "stem.conv")
        try PackedGEMM.validate(model.head, name: "head.fc")
        for (s, stage) in model.stages.enumerated() {
            if let d = stage.downsample { try PackedGEMM.validate(d.conv, name: "stages.\(s).downsample.conv") }
            for (b, block) in stage.blocks.enumerated() {
                try PackedGEMM.validate(block.fc1, name: "stages.\(s).blocks.\(b).fc1")
                try PackedGEMM.validate(block.fc2, name: "stages.\(s).blocks.\(b).fc2")
                guard block.dwBias.count == block.fc1.inFeatures, block.normWeight.count == block.fc1.inFeatures,
                      block.normBias.count == block.fc1.inFeatures else {
                    throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stages.\(s).blocks.\(b) norm or depthwise arrays do not match")
                }
            }
            if stage.downsample != nil, s == 0 {
                throw ConvNeXtError.unsupportedModel(path: "quantized model", reason: "stage 0 has a downsample (the stem is the first downsample)")
            }
            if let d = stage.downsample, s > 0, d.normWeight.count != cfg.dims[s - 1] || d.normBias.count != cfg.dims[s - 1] {
                throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stages.\(s).downsample.norm arrays do not match")
            }
        }
        guard model.stemNorm.weight.count == cfg.dims.first, model.stemNorm.bias.count == cfg.dims.first,
              model.headNormWeight.count == cfg.dims.last, model.headNormBias.count == cfg.dims.last else {
            throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stem or head norm arrays do not match")
        }
        let k = model.stemKernel
        guard k > 0, cfg.inputHeight >= k, cfg.inputWidth >= k, model.stages.count == cfg.dims.count, !cfg.dims.isEmpty else {
            throw ConvNeXtError.unsupportedModel(path: "quantized model", reason: "stem kernel \(k) does not fit input \(cfg.inputHeight)x\(cfg.inputWidth)")
        }
        stemKernel = k
        let stemK = k * k * cfg.inputChannels
        guard model.stemConv.inFeatures == stemK, model.stemConv.outFeatures == cfg.dims[0] else {
            throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stem conv has \(model.stemConv.inFeatures) inputs, expected \(stemK)")
        }
        stem = PackedGEMM(model.stemConv, kPadded: roundUp(stemK, 4), kernels: kernels,
                          floatPrecision: floatPrecision.storage(for: .stem)) { $0 }
        stemGeometry = StageGeometry(h: cfg.inputHeight / k, w: cfg.inputWidth / k, c: cfg.dims[0])
        stemRowsPerChunk = Self.rowsPerChunk(width: stemGeometry.w, hiddenBytes: 4 * stemGeometry.cp)
        var ownedPointers: [UnsafeMutablePointer<Float>] = []
        func padded(_ values: [Float], _ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            for (i, v) in values.enumerated() where i < count { p[i] = v }
            ownedPointers.append(p)
            return p
        }
        stemNormWeight = padded(model.stemNorm.weight, stemGeometry.cp)
        stemNormBias = padded(model.stemNorm.bias, stemGeometry.cp)
        stemEpsilon = model.stemNorm.epsilon

        var geometry = stemGeometry
        var planned: [PlannedStage] = []
        var maxPixels = stemRowsPerChunk * stemGeometry.w
        var chunkFloat = maxPixels * geometry.cp
        var aBytes = maxPixels * stem.kPadded * 4
        var hBytes = aBytes
        var maxN = stem.nPadded
        for (s, stage) in model.stages.enumerated() {
            var down: PackedGEMM?
            let previous = geometry
            if let d = stage.downsample {
                geometry = StageGeometry(h: previous.h / 2, w: previous.w / 2, c: cfg.dims[s])
                guard geometry.h > 0, geometry.w > 0, d.conv.inFeatures == 4 * previous.c, d.conv.outFeatures == geometry.c else {
                    throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stage \(s) downsample does not match its input")
                }
                let cpP = previous.cp, cPrev = previous.c
                down = PackedGEMM(d.conv, kPadded: 4 * cpP, kernels: kernels,
                                  floatPrecision: floatPrecision.storage(for: .downsample)) { i in (i / cPrev) * cpP + i % cPrev }
                maxN = max(maxN, down!.nPadded)
            } else if cfg.dims[s] != geometry.c {
                throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stage \(s) changes channels without a downsample")
            }
            let cp = geometry.cp
            var blocks: [PlannedBlock] = []
            var hiddenBytes = 4 * cp
            var blockWeightBytes = 0
            for block in stage.blocks {
                let c = geometry.c
                guard block.dwWeights.count == 49 * c, block.fc1.inFeatures == c, block.fc2.outFeatures == c,
                      block.fc2.inFeatures == block.fc1.outFeatures else {
                    throw ConvNeXtError.invalidModel(path: "quantized model", reason: "stage \(s) block shapes do not match \(c) channels")
                }
                let dw = UnsafeMutablePointer<Float>.allocate(capacity: 49 * cp)
                dw.initialize(repeating: 0, count: 49 * cp)
                for t in 0..<49 { for ch in 0..<c { dw[t * cp + ch] = block.dwWeights[t * c + ch] } }
                ownedPointers.append(dw)
                let fc1 = PackedGEMM(block.fc1, kPadded: cp, kernels: kernels, floatPrecision: floatPrecision.storage(for: .block)) { $0 }
                let hidden = roundUp(block.fc1.outFeatures, 16)
                let fc2 = PackedGEMM(block.fc2, kPadded: hidden, kernels: kernels,
                                     floatPrecision: floatPrecision.storage(for: .block)) { $0 }
                blocks.append(PlannedBlock(dwWeights: dw, dwBias: padded(block.dwBias, cp), epsilon: block.normEpsilon,
                                           normWeight: block.normWeight, normBias: block.normBias,
                                           fc1: fc1, fc2: fc2, hasLayerScale: block.hasLayerScale))
                hiddenBytes = max(hiddenBytes, hidden * elementBytes(fc2.input.precision) * (fc2.input.precision == .int16 ? 2 : 1))
                maxN = max(maxN, fc1.nPadded, fc2.nPadded)
                blockWeightBytes = max(blockWeightBytes, fc1.weightBytes + fc2.weightBytes)
            }
            let budget = Self.hiddenChunkBytes(weightBytes: blockWeightBytes)
            let rows = Self.rowsPerChunk(width: geometry.w, hiddenBytes: hiddenBytes, budget: budget)
            let px = rows * geometry.w
            maxPixels = max(maxPixels, px)
            if down != nil { aBytes = max(aBytes, px * 4 * previous.cp * 4) }
            for block in blocks {
                aBytes = max(aBytes, px * cp * 4)
                hBytes = max(hBytes, px * block.fc2.kPadded * 4)
            }
            chunkFloat = max(chunkFloat, px * cp)
            planned.append(PlannedStage(geometry: geometry, rowsPerChunk: rows,
                                        chunksPerThread: budget > Self.hiddenChunkBytes ? 1 : 2, downsample: down,
                                        downsampleEpsilon: stage.downsample?.normEpsilon ?? 1e-6,
                                        downsampleNormWeight: stage.downsample?.normWeight ?? [],
                                        downsampleNormBias: stage.downsample?.normBias ?? [], blocks: blocks))
        }
        stages = planned
        guard model.head.inFeatures == geometry.c, model.head.outFeatures == cfg.numClasses else {
            throw ConvNeXtError.invalidModel(path: "quantized model", reason: "head does not match the last stage")
        }
        head = PackedGEMM(model.head, kPadded: geometry.cp, kernels: kernels, floatPrecision: floatPrecision.storage(for: .head)) { $0 }
        headEpsilon = model.headNormEpsilon
        headNormWeight = model.headNormWeight
        headNormBias = model.headNormBias
        maxN = max(maxN, head.nPadded)
        chunkFloatCount = max(chunkFloat, geometry.cp)
        chunkABytes = max(aBytes, geometry.cp * 4 * 2)
        chunkHBytes = hBytes
        gemmScratchFloats = 16 * maxN
        maxChunkPixels = maxPixels
        owned = ownedPointers
        depthwiseKernel = KernelTable.best(.f32Depthwise7x7)
        layerNormKernel = KernelTable.best(.layerNorm)
    }

    deinit {
        owned.forEach { $0.deallocate() }
    }
}
