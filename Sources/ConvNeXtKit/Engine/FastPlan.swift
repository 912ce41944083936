/// The fast engine's immutable execution plan: shapes, prepacked weights with the LayerNorm
/// affines and layer scales folded in, and how each stage is cut into row chunks.
struct FastPlan: @unchecked Sendable {
    /// Patchify convolution as a GEMM over im2col rows, then LayerNorm with its affine.
    struct StemPlan {
        let kernel: Int
        let conv: PackedLinear
        let gamma: UnsafePointer<Float>
        let beta: UnsafePointer<Float>
        let epsilon: Float
    }

    /// LayerNorm (affine folded) then 2x2 stride-2 conv as a GEMM with K = 4 x padded Cin.
    struct DownsamplePlan {
        let epsilon: Float
        let conv: PackedLinear
    }

    /// dwconv 7x7 -> normalise -> fc1 + GELU -> fc2 (+ layer scale) + shortcut.
    struct BlockPlan {
        /// `[49 taps][padded channels]`.
        let dwWeights: UnsafePointer<Float>
        let dwBias: UnsafePointer<Float>
        let epsilon: Float
        let fc1: PackedLinear
        let fc2: PackedLinear
    }

    struct StagePlan {
        let height: Int
        let width: Int
        let layout: ChannelLayout
        let downsample: DownsamplePlan?
        let blocks: [BlockPlan]
        /// Pixels per chunk of the fused block (dwconv .. fc2), a multiple of 8.
        let chunk: Int
        /// Hidden width (4C rounded to 16).
        let hiddenPadded: Int

        var pixels: Int { height * width }
        var paddedWidth: Int { width + 6 }
        /// Floats in one padded NHWC map of this stage.
        var mapCount: Int { (height + 6) * (width + 6) * layout.paddedChannels }
        /// Float offset of pixel `p` (row-major, unpadded index) in the padded map.
        func offset(ofPixel p: Int) -> Int {
            ((p / width + 3) * paddedWidth + p % width + 3) * layout.paddedChannels
        }
    }

    struct HeadPlan {
        let layout: ChannelLayout
        let epsilon: Float
        let fc: PackedLinear
    }

    let config: ConvNeXtConfig
    let stem: StemPlan
    let stages: [StagePlan]
    let head: HeadPlan

    /// Every kernel the plan uses, for `convnext cpu` and profiles.
    var kernelNames: [String] {
        var names = stem.conv.kernelNames + [depthwiseKernel.name, layerNormKernel.name]
        for stage in stages { names += stage.blocks.flatMap { $0.fc1.kernelNames + $0.fc2.kernelNames } }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
    /// The depthwise and LayerNorm kernels chosen from `KernelTable` for this CPU.
    let depthwiseKernel: Kernel
    let layerNormKernel: Kernel
    /// Keeps the depthwise and stem-norm weights alive.
    private let storage: [AlignedBuffer<Float>]

    /// Target size in bytes of one chunk's hidden activations (fc1 output), which stays in L2
    /// (64 KB and 1 MB measured 2-5% slower on atto).
    static let hiddenChunkBytes = 256 << 10

    init(model: ConvNeXtModel, precision: FloatPrecision = .f32) throws {
        let cfg = model.config
        let path = model.source.path
        func unsupported(_ reason: String) -> ConvNeXtError { .unsupportedModel(path: path, reason: reason) }
        var storage: [AlignedBuffer<Float>] = []
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let b = AlignedBuffer<Float>(count: count)
            storage.append(b)
            return b.pointer
        }

        // Stem.
        let sc = model.stem.conv
        guard sc.kernel == sc.stride, sc.padding == 0, sc.groups == 1, sc.inChannels == cfg.inputChannels,
              sc.kernel > 0, cfg.inputHeight >= sc.kernel, cfg.inputWidth >= sc.kernel,
              sc.weight.count == sc.outChannels * sc.inChannels * sc.kernel * sc.kernel, sc.bias.count == sc.outChannels,
              model.stem.norm.weight.count == sc.outChannels, model.stem.norm.bias.count == sc.outChannels else {
            throw unsupported("the fast engine needs a patchify stem (kernel = stride, no padding)")
        }
        let kk = sc.kernel * sc.kernel
        let stemConv = PackedLinear(k: sc.inChannels * kk, n: sc.outChannels,
                                    precision: precision.storage(for: .stem),
                                    weight: { k, n in Double(sc.weight[n * sc.inChannels * kk + k]) },
                                    bias: { Double(sc.bias[$0]) })
        let stemLayout = ChannelLayout(channels: sc.outChannels)
        let gamma = buffer(stemLayout.paddedChannels), beta = buffer(stemLayout.paddedChannels)
        for c in 0..<sc.outChannels {
            gamma[c] = model.stem.norm.weight[c]
            beta[c] = model.stem.norm.bias[c]
        }
        stem = StemPlan(kernel: sc.kernel, conv: stemConv, gamma: gamma, beta: beta, epsilon: model.stem.norm.epsilon)

        // Stages.
        var height = (cfg.inputHeight - sc.kernel) / sc.stride + 1
        var width = (cfg.inputWidth - sc.kernel) / sc.stride + 1
        var channels = sc.outChannels
        var stages: [StagePlan] = []
        for (s, stage) in model.stages.enumerated() {
            var down: DownsamplePlan?
            if let d = stage.downsample {
                let cv = d.conv
                guard cv.kernel == 2, cv.stride == 2, cv.padding == 0, cv.groups == 1, cv.inChannels == channels,
                      height >= 2, width >= 2, cv.weight.count == cv.outChannels * channels * 4,
                      cv.bias.count == cv.outChannels, d.norm.weight.count == channels, d.norm.bias.count == channels else {
                    throw unsupported("stage \(s) downsample is not a 2x2 stride-2 convolution")
                }
                let inLayout = ChannelLayout(channels: channels)
                let cp = inLayout.paddedChannels, cin = channels
                let g = d.norm.weight, be = d.norm.bias
                // A row: 4 slots (ky*2+kx) of cp normalised channels.
                down = DownsamplePlan(epsilon: d.norm.epsilon, conv: PackedLinear(
                    k: 4 * cp, n: cv.outChannels, precision: precision.storage(for: .downsample),
                    weight: { k, n in
                        let slot = k / cp, ci = k % cp
                        guard ci < cin else { return 0 }
                        return Double(cv.weight[((n * cin + ci) * 2 + slot / 2) * 2 + slot % 2]) * Double(g[ci])
                    },
                    bias: { n in
                        var acc = Double(cv.bias[n])
                        for ci in 0..<cin {
                            for tap in 0..<4 { acc += Double(cv.weight[(n * cin + ci) * 4 + tap]) * Double(be[ci]) }
                        }
                        return acc
                    }))
                height /= 2
                width /= 2
                channels = cv.outChannels
            } else if s > 0 {
                throw unsupported("stage \(s) changes width without a downsample")
            }
            let layout = ChannelLayout(channels: channels)
            let c = channels, cp = layout.paddedChannels
            var blocks: [BlockPlan] = []
            var hiddenPadded = 16
            for (b, block) in stage.blocks.enumerated() {
                let dw = block.dwConv
                guard dw.kernel == 7, dw.stride == 1, dw.padding == 3, dw.groups == c, dw.inChannels == c,
                      dw.outChannels == c, block.fc1.inFeatures == c, block.fc2.outFeatures == c,
                      block.fc2.inFeatures == block.fc1.outFeatures, dw.weight.count == c * 49, dw.bias.count == c,
                      block.norm.weight.count == c, block.norm.bias.count == c,
                      block.fc1.weight.count == c * block.fc1.outFeatures, block.fc1.bias.count == block.fc1.outFeatures,
                      block.fc2.weight.count == c * block.fc2.inFeatures, block.fc2.bias.count == c,
                      (block.layerScale?.count ?? c) == c else {
                    throw unsupported("stage \(s) block \(b) is not dwconv 7x7 -> MLP of \(c) channels")
                }
                let dwWeights = buffer(cp * 49), dwBias = buffer(cp)
                for ch in 0..<c {
                    for tap in 0..<49 { dwWeights[tap * cp + ch] = dw.weight[ch * 49 + tap] }
                    dwBias[ch] = dw.bias[ch]
                }
                let f1 = block.fc1, f2 = block.fc2
                let g = block.norm.weight, be = block.norm.bias
                let fc1 = PackedLinear(
                    k: c, n: f1.outFeatures, precision: precision.storage(for: .block),
                    weight: { k, n in Double(f1.weight[n * c + k]) * Double(g[k]) },
                    bias: { n in
                        var acc = Double(f1.bias[n])
                        for k in 0..<c { acc += Double(f1.weight[n * c + k]) * Double(be[k]) }
                        return acc
                    })
                let scale = block.layerScale
                let hidden = f2.inFeatures
                let fc2 = PackedLinear(
                    k: hidden, n: c, precision: precision.storage(for: .block),
                    weight: { k, n in Double(f2.weight[n * hidden + k]) * Double(scale?[n] ?? 1) },
                    bias: { n in Double(f2.bias[n]) * Double(scale?[n] ?? 1) })
                hiddenPadded = max(hiddenPadded, fc1.paddedN)
                blocks.append(BlockPlan(dwWeights: dwWeights, dwBias: dwBias, epsilon: block.norm.epsilon,
                                        fc1: fc1, fc2: fc2))
            }
            let pixels = height * width
            let byBudget = Self.hiddenChunkBytes / (4 * hiddenPadded) / 8 * 8
            let chunk = min(max(8, byBudget), (pixels + 7) / 8 * 8)
            stages.append(StagePlan(height: height, width: width, layout: layout, downsample: down, blocks: blocks,
                                    chunk: chunk, hiddenPadded: hiddenPadded))
        }
        guard !stages.isEmpty else { throw unsupported("the model has no stages") }

        // Head: pool -> LayerNorm (affine folded) -> fc.
        let hfc = model.head.fc
        guard hfc.inFeatures == channels, hfc.outFeatures == cfg.numClasses, hfc.weight.count == channels * hfc.outFeatures,
              hfc.bias.count == hfc.outFeatures, model.head.norm.weight.count == channels,
              model.head.norm.bias.count == channels else {
            throw unsupported("the classifier does not match the last stage width")
        }
        let hg = model.head.norm.weight, hb = model.head.norm.bias
        let fc = PackedLinear(
            k: channels, n: hfc.outFeatures, precision: precision.storage(for: .head),
            weight: { k, n in Double(hfc.weight[n * channels + k]) * Double(hg[k]) },
            bias: { n in
                var acc = Double(hfc.bias[n])
                for k in 0..<channels { acc += Double(hfc.weight[n * channels + k]) * Double(hb[k]) }
                return acc
            })
        head = HeadPlan(layout: ChannelLayout(channels: channels), epsilon: model.head.norm.epsilon, fc: fc)
        self.config = cfg
        self.stages = stages
        depthwiseKernel = KernelTable.best(.f32Depthwise7x7)
        layerNormKernel = KernelTable.best(.layerNorm)
        self.storage = storage
    }
}
