import Foundation

extension DeployableModel {
    /// Checks the metadata a `.cnxk` file carries beyond its arrays, for float and quantized files alike:
    /// the image defaults (crop_pct, mean, std), the deployed preprocessing (its input size is the model's,
    /// an NV12 input has even sides, mean and scale are finite, one per channel). For quantized files,
    /// `quantizedModel(path:)` also checks that the model rebuilds and has the architecture `model`
    /// describes (the container itself treats the payload as opaque). A re-signed file
    /// with edited values is refused naming the file and the key, not accepted or blamed on flags the user
    /// never passed.
    func validateMetadata(path: String) throws {
        func bad(_ reason: String) -> ConvNeXtError { .invalidModel(path: path, reason: reason) }
        let config = metadata.model.config
        let image = metadata.imageDefaults
        guard image.cropPct.isFinite, image.cropPct > 0, image.cropPct <= 1 else {
            throw bad("metadata image_defaults.crop_pct \(image.cropPct) is outside (0, 1]")
        }
        guard image.mean.count == 3, image.std.count == 3, image.mean.allSatisfy(\.isFinite),
              image.std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw bad("metadata image_defaults needs 3 finite mean values and 3 positive std values (mean \(image.mean), std \(image.std))")
        }
        let pre = metadata.preprocessing
        guard pre.inputHeight == config.inputHeight, pre.inputWidth == config.inputWidth else {
            throw bad("metadata preprocessing input size \(pre.inputWidth)x\(pre.inputHeight) differs from the model's \(config.inputWidth)x\(config.inputHeight)")
        }
        if pre.inputTypeRT == .nv12, pre.inputWidth % 2 != 0 || pre.inputHeight % 2 != 0 {
            throw bad("metadata preprocessing: an NV12 input needs even sides, not \(pre.inputWidth)x\(pre.inputHeight)")
        }
        guard pre.mean.count == config.inputChannels, pre.scale.count == config.inputChannels,
              pre.mean.allSatisfy(\.isFinite), pre.scale.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw bad("metadata preprocessing needs \(config.inputChannels) finite mean_value and non-zero scale_value entries (mean \(pre.mean), scale \(pre.scale))")
        }
    }
}
