import Foundation

extension ConvNeXtModel {
    /// The same network taking un-normalised input: `(x - mean[c]) * scale[c]` is folded into the
    /// stem convolution (W' = W scale, b' = b - sum W scale mean), which has no padding, so the
    /// result is exact. With pixel input (0...255) the int8 engine then quantises the image with
    /// scale 1 and zero point 0, losslessly. `mean` and `scale` have one value per input channel
    /// (the vendor's `mean_value` / `scale_value`).
    public func foldingInputNormalization(mean: [Float], scale: [Float]) throws -> ConvNeXtModel {
        let conv = stem.conv
        let cin = config.inputChannels
        guard mean.count == cin, scale.count == cin else {
            throw ConvNeXtError.usage("input normalisation needs \(cin) mean and scale values, got \(mean.count) and \(scale.count)")
        }
        guard conv.padding == 0, conv.groups == 1 else {
            throw ConvNeXtError.unsupportedModel(path: source.path, reason: "the stem convolution is padded or grouped; normalisation cannot be folded exactly")
        }
        var folded = self
        let k = conv.kernel
        var w = conv.weight
        var b = conv.bias
        for o in 0..<conv.outChannels {
            var shift = 0.0
            for c in 0..<cin {
                for t in 0..<(k * k) {
                    let i = (o * cin + c) * k * k + t
                    shift += Double(conv.weight[i]) * Double(scale[c]) * Double(mean[c])
                    w[i] = conv.weight[i] * scale[c]
                }
            }
            b[o] = Float(Double(conv.bias[o]) - shift)
        }
        folded.stem.conv.weight = w
        folded.stem.conv.bias = b
        return folded
    }
}
