import ArgumentParser
import ConvNeXtKit

extension Interpolation: ExpressibleByArgument {}
extension ResizeMode: ExpressibleByArgument {}
extension YUVRange: ExpressibleByArgument {}
extension ChromaUpsampling: ExpressibleByArgument {}
extension CropMode: ExpressibleByArgument {}

/// The preprocessing flags shared by `preprocess` and `classify`; unset flags keep the model's defaults.
struct PreprocessFlags: ParsableArguments {
    @Option(help: "Side of the square model input (default: the model's input size, else 224).")
    var size: Int?

    @Option(name: .customLong("crop-pct"),
            help: "timm crop_pct: the shorter side is resized to floor(size / crop-pct) (default 0.875).")
    var cropPct: Double?

    @Option(help: "Resize filter, Pillow's: bicubic | bilinear (default bicubic).")
    var interpolation: Interpolation?

    @Option(name: .customLong("resize-mode"),
            help: "crop: timm's resize + centre crop; letterbox: fit inside, pad with grey 127 (default crop).")
    var resizeMode: ResizeMode?

    @Option(name: .customLong("crop-mode"),
            help: "timm crop_mode for --resize-mode crop: center (shorter side, crop) | squash (both sides, aspect not kept) | border (longer side, pad with the mean colour) (default center).")
    var cropMode: CropMode?

    @Option(help: "Per-channel mean in 0...1, comma separated (default 0.485,0.456,0.406).")
    var mean: String?

    @Option(help: "Per-channel std in 0...1, comma separated (default 0.229,0.224,0.225).")
    var std: String?

    @Flag(name: .customLong("exif-orientation"), help: "Apply a JPEG's EXIF orientation (timm does not).")
    var exifOrientation = false

    @Option(name: .customLong("nv12-range"), help: "YUV range of NV12 frames: full (BT.601 JPEG range) | video (Y 16...235).")
    var nv12Range: YUVRange = .full

    @Option(name: .customLong("nv12-upsampling"), help: "Chroma upsampling when reading NV12: bilinear | nearest.")
    var nv12Upsampling: ChromaUpsampling = .bilinear

    /// Checks each flag on its own; `options(defaults:)` checks them together with the model's defaults.
    func validate() throws {
        try OptionValidation.check(size, "--size", in: OptionValidation.side)
        try OptionValidation.check(cropPct, "--crop-pct", in: 0...1, lowerOpen: true)
        _ = try mean.map { try Self.channels($0, flag: "--mean") }
        _ = try std.map { try Self.channels($0, flag: "--std") }
        if let cropMode, cropMode != .center, let resizeMode, resizeMode != .crop {
            throw ValidationError("--crop-mode \(cropMode.rawValue) applies to --resize-mode crop, not \(resizeMode.rawValue)")
        }
    }

    /// `defaults` with the flags given on the command line applied, validated.
    func options(defaults: PreprocessOptions) throws -> PreprocessOptions {
        var o = defaults
        if let size { o.size = size }
        if let cropPct { o.cropPct = cropPct }
        if let interpolation { o.interpolation = interpolation }
        if let resizeMode { o.resizeMode = resizeMode }
        if let cropMode { o.cropMode = cropMode }
        if let mean { o.mean = try Self.channels(mean, flag: "--mean") }
        if let std { o.std = try Self.channels(std, flag: "--std") }
        o.applyExifOrientation = exifOrientation
        try o.validate(source: "preprocessing flags")
        return o
    }

    /// Parses `a,b,c` (or one value for all three channels).
    static func channels(_ text: String, flag: String) throws -> [Float] {
        try OptionValidation.channels(text, flag, positive: flag == "--std")
    }
}
