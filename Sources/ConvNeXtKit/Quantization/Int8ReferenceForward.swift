import CConvNeXtKernels
import Foundation

/// The plain int8 oracle: runs a `QuantizedModel` NCHW with scalar loops, the same integer
/// arithmetic as `Int8Engine` (quantise, Int32 dot products with zero points, requantise) but
/// Double LayerNorm, depthwise convolution and exact erf GELU (the kernels' u8 form where GELU feeds
/// an int8 tensor). Results equal the engine's up to
/// rounding (an occasional one-level difference where a value sits on a rounding boundary).
public struct Int8ReferenceForward: Sendable {
    public let model: QuantizedModel

    public init(model: QuantizedModel) { self.model = model }

    /// Logits `[1, classes]` for one NCHW image.
    public func run(_ input: Tensor) -> Tensor {
        let cfg = model.config
        let k = model.stemKernel
        var h = cfg.inputHeight / k, w = cfg.inputWidth / k
        // Stem: gather (c, ky, kx) patches.
        var x = [Float](repeating: 0, count: model.stemConv.outFeatures * h * w)  // NCHW
        var patch = [Float](repeating: 0, count: model.stemConv.inFeatures)
        for oy in 0..<h {
            for ox in 0..<w {
                for ky in 0..<k {
                    for kx in 0..<k {
                        for c in 0..<cfg.inputChannels {
                            patch[(c * k + ky) * k + kx] =
                                input.data[(c * cfg.inputHeight + oy * k + ky) * cfg.inputWidth + ox * k + kx]
                        }
                    }
                }
                let out = Self.linear(model.stemConv, patch)
                for o in 0..<out.count { x[(o * h + oy) * w + ox] = out[o] }
            }
        }
        var c = model.stemConv.outFeatures
        x = Self.layerNorm(x, c: c, hw: h * w, epsilon: model.stemNorm.epsilon, affine: (model.stemNorm.weight, model.stemNorm.bias))
        for stage in model.stages {
            if let d = stage.downsample {
                let z = Self.layerNorm(x, c: c, hw: h * w, epsilon: d.normEpsilon, affine: nil)
                let nh = h / 2, nw = w / 2
                var y = [Float](repeating: 0, count: d.conv.outFeatures * nh * nw)
                var p = [Float](repeating: 0, count: 4 * c)
                for oy in 0..<nh {
                    for ox in 0..<nw {
                        for ky in 0..<2 {
                            for kx in 0..<2 {
                                for ch in 0..<c { p[(ky * 2 + kx) * c + ch] = z[(ch * h + 2 * oy + ky) * w + 2 * ox + kx] }
                            }
                        }
                        let out = Self.linear(d.conv, p)
                        for o in 0..<out.count { y[(o * nh + oy) * nw + ox] = out[o] }
                    }
                }
                x = y
                h = nh
                w = nw
                c = d.conv.outFeatures
            }
            for block in stage.blocks {
                let dw = Self.depthwise(x, c: c, h: h, w: w, weights: block.dwWeights, bias: block.dwBias)
                let z = Self.layerNorm(dw, c: c, hw: h * w, epsilon: block.normEpsilon, affine: nil)
                var column = [Float](repeating: 0, count: c)
                for p in 0..<(h * w) {
                    for ch in 0..<c { column[ch] = z[ch * h * w + p] }
                    var hidden = Self.linear(block.fc1, column)
                    // GELU into an int8 tensor is the kernels' u8 form (within 2.1e-4 of erf, part of the
                    // int8 semantics like an NPU's lookup table); into int16 or float, erf itself.
                    let u8 = block.fc2.input.precision == .int8
                    for i in 0..<hidden.count {
                        let v = hidden[i]
                        hidden[i] = u8 ? cnxq_gelu_u8(v) : Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot())))
                    }
                    let out = Self.linear(block.fc2, hidden)
                    for ch in 0..<c { x[ch * h * w + p] += out[ch] }
                }
            }
        }
        var pooled = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            var s = 0.0
            for p in 0..<(h * w) { s += Double(x[ch * h * w + p]) }
            pooled[ch] = Float(s / Double(h * w))
        }
        let z = Self.layerNorm(pooled, c: c, hw: 1, epsilon: model.headNormEpsilon, affine: nil)
        return Tensor(shape: [1, cfg.numClasses], data: Self.linear(model.head, z))
    }

    /// y = W q(x) + b with the integer arithmetic of the kernels.
    static func linear(_ l: QuantizedLinear, _ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: l.outFeatures)
        if l.input.precision == .float {
            for o in 0..<l.outFeatures {
                var acc = Double(l.bias[o])
                for i in 0..<l.inFeatures { acc += Double(l.floatWeights[o * l.inFeatures + i]) * Double(x[i]) }
                out[o] = Float(acc)
            }
            return out
        }
        let q = x.map { Int64(l.input.quantize($0) - l.input.zeroPoint) }
        for o in 0..<l.outFeatures {
            var acc: Int64 = 0
            for i in 0..<l.inFeatures { acc += q[i] * Int64(l.weights[o * l.inFeatures + i]) }
            out[o] = Float(acc) * (l.input.scale * l.weightScales[o]) + l.bias[o]
        }
        return out
    }

    /// LayerNorm over channels (NCHW), Double statistics, optional affine.
    static func layerNorm(_ x: [Float], c: Int, hw: Int, epsilon: Float, affine: ([Float], [Float])?) -> [Float] {
        var out = x
        for p in 0..<hw {
            var mean = 0.0
            for ch in 0..<c { mean += Double(x[ch * hw + p]) }
            mean /= Double(c)
            var v = 0.0
            for ch in 0..<c {
                let d = Double(x[ch * hw + p]) - mean
                v += d * d
            }
            let inv = 1 / (v / Double(c) + Double(epsilon)).squareRoot()
            for ch in 0..<c {
                var z = (Double(x[ch * hw + p]) - mean) * inv
                if let (g, b) = affine { z = z * Double(g[ch]) + Double(b[ch]) }
                out[ch * hw + p] = Float(z)
            }
        }
        return out
    }

    /// Depthwise 7x7, pad 3; weights `[7][7][c]`.
    static func depthwise(_ x: [Float], c: Int, h: Int, w: Int, weights: [Float], bias: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for ch in 0..<c {
            for y in 0..<h {
                for xx in 0..<w {
                    var acc = Double(bias[ch])
                    for ky in 0..<7 {
                        let iy = y + ky - 3
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<7 {
                            let ix = xx + kx - 3
                            if ix < 0 || ix >= w { continue }
                            acc += Double(weights[(ky * 7 + kx) * c + ch]) * Double(x[(ch * h + iy) * w + ix])
                        }
                    }
                    out[(ch * h + y) * w + xx] = Float(acc)
                }
            }
        }
        return out
    }
}
