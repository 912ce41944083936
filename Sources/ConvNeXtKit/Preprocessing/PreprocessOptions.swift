import Foundation

/// How the image is brought to the model's input size.
public enum ResizeMode: String, Sendable, CaseIterable, Codable {
    /// timm's eval transform: shorter side to floor(size / cropPct), then a centre crop.
    case crop
    /// The board demo's: fit the whole image inside size x size, pad with grey 127.
    case letterbox
}

/// How `ResizeMode.crop` fits an image to the square input: timm's `crop_mode`.
public enum CropMode: String, Sendable, CaseIterable, Codable {
    /// Shorter side to floor(size / cropPct), aspect kept, then a centre crop (timm's default).
    case center
    /// Both sides to floor(size / cropPct), aspect not kept, then a centre crop.
    case squash
    /// Longer side to floor(size / cropPct), aspect kept, then a centre crop that pads the short
    /// side with the mean colour (round(255 * mean) per channel).
    case border
}

/// Everything that decides how a photo becomes the model's input tensor.
public struct PreprocessOptions: Sendable, Equatable {
    /// Side of the square model input (the crop size).
    public var size: Int
    /// timm's crop_pct: the image is resized so that size / cropPct is its shorter side.
    public var cropPct: Double
    public var interpolation: Interpolation
    public var resizeMode: ResizeMode
    /// How the crop resize mode fits the image (timm's `crop_mode`); letterbox ignores it.
    public var cropMode: CropMode
    /// Per-channel mean and standard deviation in the 0...1 pixel domain (timm's convention).
    public var mean: [Float]
    public var std: [Float]
    /// Apply a JPEG's EXIF orientation after decoding. Off by default: timm does not.
    public var applyExifOrientation: Bool

    /// The grey the letterbox pads with.
    public static let letterboxFill: UInt8 = 127

    public init(size: Int = 224, cropPct: Double = 0.875, interpolation: Interpolation = .bicubic,
                resizeMode: ResizeMode = .crop, mean: [Float] = PreprocessingDefaults.imagenet.mean,
                std: [Float] = PreprocessingDefaults.imagenet.std, applyExifOrientation: Bool = false,
                cropMode: CropMode = .center) {
        self.size = size
        self.cropPct = cropPct
        self.interpolation = interpolation
        self.resizeMode = resizeMode
        self.mean = mean
        self.std = std
        self.applyExifOrientation = applyExifOrientation
        self.cropMode = cropMode
    }

    /// The model's own settings: its input size and the preprocessing recorded with it.
    public init(model: ConvNeXtModel) {
        let p = model.preprocessing
        self.init(size: model.config.inputHeight, cropPct: p.cropPct,
                  interpolation: Interpolation(rawValue: p.interpolation.lowercased()) ?? .bicubic,
                  mean: p.mean, std: p.std)
    }

    /// The shorter side after resizing in crop mode: timm's `math.floor(img_size / crop_pct)`.
    public var scaleSize: Int { Int((Double(size) / cropPct).rounded(.down)) }

    /// The pad colour of `CropMode.border`: timm's `[round(255 * v) for v in mean]` (Python
    /// rounding, half to even), clamped to 0...255.
    public var borderFill: (UInt8, UInt8, UInt8) {
        func channel(_ i: Int) -> UInt8 {
            UInt8(Swift.max(0, Swift.min(255, (255 * Double(mean[i])).rounded(.toNearestOrEven))))
        }
        return (channel(0), channel(1), channel(2))
    }

    /// The hb_mapper form of the normalisation: out = (pixel - mean) * scale, pixels 0...255.
    public var pixelNormalization: PixelNormalization { PixelNormalization(mean: mean, std: std) }

    /// Checks every value; errors name the setting (`source` says where the settings came from).
    public func validate(source: String = "preprocessing options") throws {
        func bad(_ reason: String) -> ConvNeXtError { .invalidConfig(path: source, reason: reason) }
        guard (1...4096).contains(size) else { throw bad("size \(size) is outside 1...4096") }
        guard cropPct.isFinite, cropPct > 0, cropPct <= 1 else { throw bad("crop-pct \(cropPct) is outside (0, 1]") }
        guard scaleSize <= 16384 else { throw bad("size / crop-pct = \(scaleSize) is too large") }
        guard resizeMode == .crop || cropMode == .center else {
            throw bad("crop-mode \(cropMode.rawValue) applies to resize-mode crop, not \(resizeMode.rawValue)")
        }
        guard mean.count == 3, std.count == 3 else {
            throw bad("mean and std need 3 values each (got \(mean.count) and \(std.count))")
        }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw bad("mean must be finite and std positive (mean \(mean), std \(std))")
        }
    }
}

/// Normalisation in the 0...255 pixel domain, as hb_mapper's `mean_value` / `scale_value`:
/// out = (pixel - mean) * scale, with mean = 255 * timm_mean and scale = 1 / (255 * timm_std).
public struct PixelNormalization: Sendable, Equatable {
    public var mean: [Float]
    public var scale: [Float]

    public init(mean255: [Float], scale: [Float]) {
        self.mean = mean255
        self.scale = scale
    }

    /// From timm's 0...1 mean and std.
    public init(mean: [Float], std: [Float]) {
        self.mean = mean.map { 255 * $0 }
        self.scale = std.map { 1 / (255 * $0) }
    }
}
