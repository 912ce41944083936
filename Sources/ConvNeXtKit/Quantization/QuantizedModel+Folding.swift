import Foundation

/// The float model with every constant folded and convolution inputs in gather order, ready to
/// be quantised at any activation precision. Folding is exact (done in Double).
struct FoldedModel: Sendable {
    struct Layer: Sendable {
        var outFeatures: Int
        var inFeatures: Int
        /// `[out][in]`, input in gather order.
        var weights: [Float]
        var bias: [Float]
    }
    struct Block: Sendable {
        var dwWeights: [Float]  // [7][7][C]
        var dwBias: [Float]
        var norm: LayerNorm
        var fc1: Layer
        var fc2: Layer
        var hasLayerScale: Bool
    }
    struct Stage: Sendable {
        var downsampleNorm: LayerNorm?
        var downsample: Layer?
        var blocks: [Block]
    }
    var config: ConvNeXtConfig
    var stemKernel: Int
    var stem: Layer
    var stemNorm: LayerNorm
    var stages: [Stage]
    var headNorm: LayerNorm
    var head: Layer
    var sourceNodes: [LayerID: [String]]

    init(_ model: ConvNeXtModel) {
        config = model.config
        sourceNodes = model.sourceNodes
        stemKernel = model.stem.conv.kernel
        // The stem reads the NCHW image: its input order stays (channel, ky, kx), i.e. OIHW.
        stem = Layer(outFeatures: model.stem.conv.outChannels, inFeatures: model.stem.conv.weight.count / max(1, model.stem.conv.outChannels),
                     weights: model.stem.conv.weight, bias: model.stem.conv.bias)
        stemNorm = model.stem.norm
        stages = model.stages.map { stage in
            Stage(downsampleNorm: stage.downsample?.norm,
                  downsample: stage.downsample.map { Self.gatherConv($0.conv, norm: $0.norm) },
                  blocks: stage.blocks.map(Self.foldBlock))
        }
        headNorm = model.head.norm
        head = Self.foldLinear(model.head.fc, norm: model.head.norm)
    }

    /// Checks the layer geometry the runtime implements — patchify stem (stride = kernel, no
    /// padding), 2x2 stride-2 downsamples, depthwise 7x7 with padding 3, an MLP of 4C — and that
    /// every array has the size its shape says, before anything is folded or packed.
    static func validate(_ model: ConvNeXtModel) throws {
        func fail(_ reason: String) -> ConvNeXtError { .unsupportedModel(path: model.source.path, reason: reason) }
        let cfg = model.config
        let sc = model.stem.conv
        guard sc.kernel == sc.stride, sc.padding == 0, sc.groups == 1, sc.inChannels == cfg.inputChannels,
              sc.kernel > 0, cfg.inputHeight >= sc.kernel, cfg.inputWidth >= sc.kernel,
              sc.weight.count == sc.outChannels * sc.inChannels * sc.kernel * sc.kernel, sc.bias.count == sc.outChannels,
              model.stem.norm.weight.count == sc.outChannels, model.stem.norm.bias.count == sc.outChannels else {
            throw fail("the engine needs a patchify stem (kernel = stride, no padding)")
        }
        guard !model.stages.isEmpty else { throw fail("the model has no stages") }
        var channels = sc.outChannels
        for (s, stage) in model.stages.enumerated() {
            if let d = stage.downsample {
                let cv = d.conv
                guard s > 0, cv.kernel == 2, cv.stride == 2, cv.padding == 0, cv.groups == 1, cv.inChannels == channels,
                      cv.weight.count == cv.outChannels * channels * 4, cv.bias.count == cv.outChannels,
                      d.norm.weight.count == channels, d.norm.bias.count == channels else {
                    throw fail("stage \(s) downsample is not a 2x2 stride-2 convolution of \(channels) channels")
                }
                channels = cv.outChannels
            } else if s > 0 {
                throw fail("stage \(s) changes resolution without a downsample")
            }
            let c = channels
            for (b, block) in stage.blocks.enumerated() {
                let dw = block.dwConv
                guard dw.kernel == 7, dw.stride == 1, dw.padding == 3, dw.groups == c, dw.inChannels == c,
                      dw.outChannels == c, block.fc1.inFeatures == c, block.fc2.outFeatures == c,
                      block.fc2.inFeatures == block.fc1.outFeatures, dw.weight.count == c * 49, dw.bias.count == c,
                      block.norm.weight.count == c, block.norm.bias.count == c,
                      block.fc1.weight.count == c * block.fc1.outFeatures, block.fc1.bias.count == block.fc1.outFeatures,
                      block.fc2.weight.count == c * block.fc2.inFeatures, block.fc2.bias.count == c,
                      (block.layerScale?.count ?? c) == c else {
                    throw fail("stage \(s) block \(b) is not depthwise 7x7 (padding 3) -> MLP of \(c) channels")
                }
            }
        }
        let hfc = model.head.fc
        guard hfc.inFeatures == channels, hfc.outFeatures == cfg.numClasses, hfc.weight.count == channels * hfc.outFeatures,
              hfc.bias.count == hfc.outFeatures, model.head.norm.weight.count == channels,
              model.head.norm.bias.count == channels else {
            throw fail("the classifier does not match the last stage width")
        }
    }

    /// OIHW -> [o][(ky, kx, ci)], with the preceding LayerNorm's affine folded in when given.
    static func gatherConv(_ conv: Conv2D, norm: LayerNorm?) -> Layer {
        let o = conv.outChannels, ci = conv.inChannels, k = conv.kernel
        let kIn = k * k * ci
        var w = [Float](repeating: 0, count: o * kIn)
        var bias = [Float](repeating: 0, count: o)
        for oc in 0..<o {
            var b = Double(conv.bias[oc])
            for c in 0..<ci {
                let g = Double(norm?.weight[c] ?? 1), beta = Double(norm?.bias[c] ?? 0)
                for ky in 0..<k {
                    for kx in 0..<k {
                        let src = Double(conv.weight[((oc * ci + c) * k + ky) * k + kx])
                        w[oc * kIn + (ky * k + kx) * ci + c] = Float(src * g)
                        b += src * beta
                    }
                }
            }
            bias[oc] = Float(b)
        }
        return Layer(outFeatures: o, inFeatures: kIn, weights: w, bias: bias)
    }

    /// y = W (g * z + beta) + b  ->  W' = W diag(g), b' = b + W beta.
    static func foldLinear(_ fc: Linear, norm: LayerNorm) -> Layer {
        var w = fc.weight
        var bias = fc.bias
        for o in 0..<fc.outFeatures {
            var b = Double(fc.bias[o])
            for i in 0..<fc.inFeatures {
                let src = Double(fc.weight[o * fc.inFeatures + i])
                w[o * fc.inFeatures + i] = Float(src * Double(norm.weight[i]))
                b += src * Double(norm.bias[i])
            }
            bias[o] = Float(b)
        }
        return Layer(outFeatures: fc.outFeatures, inFeatures: fc.inFeatures, weights: w, bias: bias)
    }

    static func foldBlock(_ block: ConvNeXtBlock) -> Block {
        let c = block.dwConv.outChannels, k = block.dwConv.kernel
        var dw = [Float](repeating: 0, count: k * k * c)
        for ch in 0..<c {
            for ky in 0..<k {
                for kx in 0..<k { dw[(ky * k + kx) * c + ch] = block.dwConv.weight[(ch * k + ky) * k + kx] }
            }
        }
        let fc1 = foldLinear(block.fc1, norm: block.norm)
        var fc2 = Layer(outFeatures: block.fc2.outFeatures, inFeatures: block.fc2.inFeatures,
                        weights: block.fc2.weight, bias: block.fc2.bias)
        if let gamma = block.layerScale {
            for o in 0..<fc2.outFeatures {
                for i in 0..<fc2.inFeatures { fc2.weights[o * fc2.inFeatures + i] *= gamma[o] }
                fc2.bias[o] *= gamma[o]
            }
        }
        return Block(dwWeights: dw, dwBias: block.dwConv.bias, norm: block.norm, fc1: fc1, fc2: fc2,
                     hasLayerScale: block.layerScale != nil)
    }

    /// Quantises weights for the given activation quantisation of every point (missing: float).
    func quantized(activations: [QuantPoint: ActivationQuantization], calibration: CalibrationSummary) -> QuantizedModel {
        func q(_ layer: Layer, _ point: QuantPoint) -> QuantizedLinear {
            QuantizedLinear(outFeatures: layer.outFeatures, inFeatures: layer.inFeatures, floatWeights: layer.weights,
                            bias: layer.bias, input: activations[point] ?? .float)
        }
        var qStages: [QuantizedStage] = []
        for (s, stage) in stages.enumerated() {
            var down: QuantizedDownsample?
            if let norm = stage.downsampleNorm, let conv = stage.downsample {
                down = QuantizedDownsample(normEpsilon: norm.epsilon, normWeight: norm.weight, normBias: norm.bias,
                                           conv: q(conv, .downsampleNorm(stage: s)))
            }
            let blocks = stage.blocks.enumerated().map { b, block in
                QuantizedBlock(dwKernel: 7, dwWeights: block.dwWeights, dwBias: block.dwBias,
                               normEpsilon: block.norm.epsilon, normWeight: block.norm.weight, normBias: block.norm.bias,
                               fc1: q(block.fc1, .blockNorm(stage: s, block: b)),
                               fc2: q(block.fc2, .gelu(stage: s, block: b)), hasLayerScale: block.hasLayerScale)
            }
            qStages.append(QuantizedStage(downsample: down, blocks: blocks))
        }
        return QuantizedModel(config: config, stemConv: q(stem, .input), stemKernel: stemKernel, stemNorm: stemNorm,
                              stages: qStages, headNormEpsilon: headNorm.epsilon, headNormWeight: headNorm.weight,
                              headNormBias: headNorm.bias, head: q(head, .headNorm), sourceNodes: sourceNodes,
                              calibration: calibration)
    }

    /// Every quantisation point of this architecture, in execution order.
    var points: [QuantPoint] {
        var out: [QuantPoint] = [.input]
        for (s, stage) in stages.enumerated() {
            if stage.downsample != nil { out.append(.downsampleNorm(stage: s)) }
            for b in stage.blocks.indices {
                out.append(.blockNorm(stage: s, block: b))
                out.append(.gelu(stage: s, block: b))
            }
        }
        out.append(.headNorm)
        return out
    }
}

extension QuantizedModel {
    /// Folds `model` and quantises its weights for the given activation quantisation of each point
    /// (points not listed stay float). `Quantizer.quantize` chooses these by calibration.
    public init(model: ConvNeXtModel, activations: [QuantPoint: ActivationQuantization],
                calibration: CalibrationSummary = CalibrationSummary(method: "none", percentile: 0, sampleCount: 0, outputCosine: .nan)) {
        self = FoldedModel(model).quantized(activations: activations, calibration: calibration)
    }

    /// The folded model with every layer in float: the int8 engine's float mode.
    public init(floatModel model: ConvNeXtModel) {
        self.init(model: model, activations: [:])
    }

    /// Every quantisation point of this model's architecture, in execution order.
    public static func points(of model: ConvNeXtModel) -> [QuantPoint] { FoldedModel(model).points }
}
