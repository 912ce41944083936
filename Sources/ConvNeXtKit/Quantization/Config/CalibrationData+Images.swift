import Foundation

extension CalibrationData {
    /// Decodes calibration images the way the deployed model will see them.
    ///
    /// Each image gets the model's resize and crop (`options`: crop_pct, interpolation); then, for
    /// an NV12 model, the NV12 encoding and the model's own colour conversion (so calibration sees
    /// the chroma subsampling the camera path has); otherwise the RGB (or BGR) pixel planes. Pixels
    /// are normalised with the config's `(x - mean) * scale`, or with the model's mean/std for
    /// `no_preprocess` (the float model's own input).
    public static func imageLoader(options: PreprocessOptions) -> ImageLoader {
        return { path, inputShape, pre in
            guard inputShape.count == 4, inputShape[1] == 3, inputShape[2] == inputShape[3] else {
                throw ConvNeXtError.invalidInput(path: path, reason: "calibration images need a 3-channel square model input, not \(inputShape)")
            }
            var o = options
            o.size = inputShape[2]
            let image = Preprocessor.modelImage(try ImageDecoder.decode(path: path, applyExifOrientation: o.applyExifOrientation), options: o)
            if pre.normType == .noPreprocess {
                return Preprocessor.normalizedTensor(image, mean: o.mean, std: o.std)
            }
            let normalization = PixelNormalization(mean255: pre.effectiveMean, scale: pre.effectiveScale)
            if pre.inputTypeRT == .nv12 {
                let range: YUVRange = pre.colourRange == .bt601Video ? .video : .full
                let frame = try NV12Frame(rgb: image, range: range, path: path)
                return frame.modelInput(normalization: normalization, range: range)
            }
            let plane = image.width * image.height
            var data = [Float](repeating: 0, count: 3 * plane)
            let bgr = pre.inputTypeTrain == .bgr
            for p in 0..<plane {
                for c in 0..<3 {
                    data[(bgr ? 2 - c : c) * plane + p] = Float(image.pixels[p * 3 + c])
                }
            }
            pre.normalise(&data, channels: 3)
            return Tensor(shape: inputShape, data: data)
        }
    }
}
