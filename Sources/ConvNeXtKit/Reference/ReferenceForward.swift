import Foundation

/// The oracle: a plain NCHW forward pass, layer by layer, accumulating in Double.
///
/// Deliberately simple and slow. Every fast or quantized path is tested against it.
public struct ReferenceForward: Sendable {
    public let model: ConvNeXtModel

    public init(model: ConvNeXtModel) { self.model = model }

    /// Logits `[1, classes]` for one NCHW image; `observe` sees every layer's output.
    public func run(_ input: Tensor, observe: ((LayerID, Tensor) -> Void)? = nil) -> Tensor {
        let cfg = model.config
        precondition(input.count == cfg.inputCount, "input has \(input.count) values, model needs \(cfg.inputCount)")
        var x = FeatureMap(channels: cfg.inputChannels, height: cfg.inputHeight, width: cfg.inputWidth, data: input.data)
        x = Self.conv2d(x, model.stem.conv)
        observe?(.stemConv, x.tensor)
        x = Self.layerNorm(x, model.stem.norm)
        observe?(.stemNorm, x.tensor)
        for (s, stage) in model.stages.enumerated() {
            if let down = stage.downsample {
                x = Self.layerNorm(x, down.norm)
                observe?(.downsampleNorm(stage: s), x.tensor)
                x = Self.conv2d(x, down.conv)
                observe?(.downsampleConv(stage: s), x.tensor)
            }
            for (b, block) in stage.blocks.enumerated() {
                let shortcut = x
                var y = Self.conv2d(x, block.dwConv)
                observe?(.dwConv(stage: s, block: b), y.tensor)
                y = Self.layerNorm(y, block.norm)
                observe?(.norm(stage: s, block: b), y.tensor)
                y = Self.pointwise(y, block.fc1)
                observe?(.fc1(stage: s, block: b), y.tensor)
                y = Self.gelu(y)
                observe?(.gelu(stage: s, block: b), y.tensor)
                y = Self.pointwise(y, block.fc2)
                observe?(.fc2(stage: s, block: b), y.tensor)
                if let gamma = block.layerScale {
                    y = Self.channelScale(y, gamma)
                    observe?(.layerScale(stage: s, block: b), y.tensor)
                }
                for i in 0..<y.data.count { y.data[i] += shortcut.data[i] }
                observe?(.residual(stage: s, block: b), y.tensor)
                x = y
            }
        }
        var pooled = FeatureMap(channels: x.channels, height: 1, width: 1, data: [Float](repeating: 0, count: x.channels))
        let hw = x.height * x.width
        for c in 0..<x.channels {
            var sum = 0.0
            for p in 0..<hw { sum += Double(x.data[c * hw + p]) }
            pooled.data[c] = Float(sum / Double(hw))
        }
        observe?(.headPool, pooled.tensor)
        pooled = Self.layerNorm(pooled, model.head.norm)
        observe?(.headNorm, pooled.tensor)
        let logits = Self.pointwise(pooled, model.head.fc)
        let out = Tensor(shape: [1, model.head.fc.outFeatures], data: logits.data)
        observe?(.headFC, out)
        return out
    }

    // MARK: Layers (NCHW, batch 1)

    /// An NCHW feature map of one image.
    struct FeatureMap {
        var channels: Int
        var height: Int
        var width: Int
        var data: [Float]
        var tensor: Tensor { Tensor(shape: [1, channels, height, width], data: data) }
    }

    static func conv2d(_ x: FeatureMap, _ conv: Conv2D) -> FeatureMap {
        let k = conv.kernel, s = conv.stride, p = conv.padding
        let oh = (x.height + 2 * p - k) / s + 1, ow = (x.width + 2 * p - k) / s + 1
        let inPerGroup = conv.inChannels / conv.groups, outPerGroup = conv.outChannels / conv.groups
        var out = [Float](repeating: 0, count: conv.outChannels * oh * ow)
        for o in 0..<conv.outChannels {
            let g = o / outPerGroup
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc = Double(conv.bias[o])
                    for ic in 0..<inPerGroup {
                        let c = g * inPerGroup + ic
                        for ky in 0..<k {
                            let iy = oy * s + ky - p
                            if iy < 0 || iy >= x.height { continue }
                            for kx in 0..<k {
                                let ix = ox * s + kx - p
                                if ix < 0 || ix >= x.width { continue }
                                let w = conv.weight[((o * inPerGroup + ic) * k + ky) * k + kx]
                                acc += Double(w) * Double(x.data[(c * x.height + iy) * x.width + ix])
                            }
                        }
                    }
                    out[(o * oh + oy) * ow + ox] = Float(acc)
                }
            }
        }
        return FeatureMap(channels: conv.outChannels, height: oh, width: ow, data: out)
    }

    /// LayerNorm over channels at every pixel (LayerNorm2d, or LayerNorm in NHWC).
    static func layerNorm(_ x: FeatureMap, _ ln: LayerNorm) -> FeatureMap {
        let hw = x.height * x.width
        var out = x
        for p in 0..<hw {
            var mean = 0.0
            for c in 0..<x.channels { mean += Double(x.data[c * hw + p]) }
            mean /= Double(x.channels)
            var variance = 0.0
            for c in 0..<x.channels {
                let d = Double(x.data[c * hw + p]) - mean
                variance += d * d
            }
            variance /= Double(x.channels)
            let inv = 1 / (variance + Double(ln.epsilon)).squareRoot()
            for c in 0..<x.channels {
                let v = (Double(x.data[c * hw + p]) - mean) * inv
                out.data[c * hw + p] = Float(v * Double(ln.weight[c]) + Double(ln.bias[c]))
            }
        }
        return out
    }

    /// A Linear applied at every pixel (a 1x1 convolution).
    static func pointwise(_ x: FeatureMap, _ fc: Linear) -> FeatureMap {
        let hw = x.height * x.width
        var out = [Float](repeating: 0, count: fc.outFeatures * hw)
        for o in 0..<fc.outFeatures {
            for p in 0..<hw {
                var acc = Double(fc.bias[o])
                for i in 0..<fc.inFeatures {
                    acc += Double(fc.weight[o * fc.inFeatures + i]) * Double(x.data[i * hw + p])
                }
                out[o * hw + p] = Float(acc)
            }
        }
        return FeatureMap(channels: fc.outFeatures, height: x.height, width: x.width, data: out)
    }

    /// GELU, erf form: x/2 (1 + erf(x / sqrt 2)).
    static func gelu(_ x: FeatureMap) -> FeatureMap {
        var out = x
        for i in 0..<out.data.count {
            let v = Double(out.data[i])
            out.data[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
        }
        return out
    }

    static func channelScale(_ x: FeatureMap, _ gamma: [Float]) -> FeatureMap {
        let hw = x.height * x.width
        var out = x
        for c in 0..<x.channels {
            for p in 0..<hw { out.data[c * hw + p] *= gamma[c] }
        }
        return out
    }
}
