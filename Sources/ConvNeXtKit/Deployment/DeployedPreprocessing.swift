/// What the deployed model is fed and how it turns that into the float network's input
/// (the vendor's input_parameters): stored in every deployable model file.
///
/// Unless `normType` is `noPreprocess`, the deployed model takes pixels (0...255, or NV12 bytes
/// for `nv12`) and normalises inside: `(pixel - mean[c]) * scale[c]`.
public struct DeployedPreprocessing: Sendable, Equatable, Codable {
    /// What the deployed model is fed at run time (`input_type_rt`).
    public enum InputType: String, Sendable, Codable, CaseIterable {
        case nv12, rgb, bgr, yuv444, gray, featuremap
        /// Channels of the NCHW tensor this type describes (NV12 decodes to 3).
        public var channels: Int {
            switch self {
            case .gray: return 1
            case .featuremap: return 0
            default: return 3
            }
        }
    }

    /// YUV range (`input_space_and_range`): `regular` is full-range BT.601 (JPEG), `bt601_video`
    /// has Y in 16...235 (what OpenCV's BGR->I420 produces).
    public enum ColourRange: String, Sendable, Codable, CaseIterable {
        case regular
        case bt601Video = "bt601_video"
    }

    /// `norm_type`: which of mean and scale the model applies.
    public enum NormType: String, Sendable, Codable, CaseIterable {
        case noPreprocess = "no_preprocess"
        case dataMean = "data_mean"
        case dataScale = "data_scale"
        case dataMeanAndScale = "data_mean_and_scale"

        public var usesMean: Bool { self == .dataMean || self == .dataMeanAndScale }
        public var usesScale: Bool { self == .dataScale || self == .dataMeanAndScale }
    }

    /// Tensor layout of the float model's input (`input_layout_train`).
    public enum Layout: String, Sendable, Codable, CaseIterable {
        case nchw = "NCHW"
        case nhwc = "NHWC"
    }

    public var inputTypeRT: InputType
    /// What the float model was trained on (`input_type_train`): rgb, bgr, gray, yuv444 or featuremap.
    public var inputTypeTrain: InputType
    public var inputLayoutTrain: Layout
    public var colourRange: ColourRange
    public var normType: NormType
    /// Per channel, in the 0...255 domain; one value per input channel (already broadcast).
    public var mean: [Float]
    /// Per channel multiplier applied after the mean; one value per input channel.
    public var scale: [Float]
    public var inputHeight: Int
    public var inputWidth: Int

    enum CodingKeys: String, CodingKey {
        case inputTypeRT = "input_type_rt", inputTypeTrain = "input_type_train", inputLayoutTrain = "input_layout_train"
        case colourRange = "input_space_and_range", normType = "norm_type", mean = "mean_value", scale = "scale_value"
        case inputHeight = "input_height", inputWidth = "input_width"
    }

    public init(inputTypeRT: InputType, inputTypeTrain: InputType, inputLayoutTrain: Layout = .nchw,
                colourRange: ColourRange = .regular, normType: NormType, mean: [Float], scale: [Float],
                inputHeight: Int, inputWidth: Int) {
        self.inputTypeRT = inputTypeRT
        self.inputTypeTrain = inputTypeTrain
        self.inputLayoutTrain = inputLayoutTrain
        self.colourRange = colourRange
        self.normType = normType
        self.mean = mean
        self.scale = scale
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
    }

    /// A model fed its float input tensor as is (what `convnext pack` stores by default).
    public static func featuremap(config: ConvNeXtConfig) -> DeployedPreprocessing {
        DeployedPreprocessing(inputTypeRT: .featuremap, inputTypeTrain: .featuremap, normType: .noPreprocess,
                              mean: [Float](repeating: 0, count: config.inputChannels),
                              scale: [Float](repeating: 1, count: config.inputChannels),
                              inputHeight: config.inputHeight, inputWidth: config.inputWidth)
    }

    /// The mean actually subtracted per channel (0 when `normType` does not use it).
    public var effectiveMean: [Float] { normType.usesMean ? mean : mean.map { _ in 0 } }
    /// The scale actually applied per channel (1 when `normType` does not use it).
    public var effectiveScale: [Float] { normType.usesScale ? scale : scale.map { _ in 1 } }

    /// Converts one NCHW pixel-domain image in place to the float model's input:
    /// `(x - mean[c]) * scale[c]`; no-op for `noPreprocess`.
    public func normalise(_ data: inout [Float], channels: Int) {
        guard normType != .noPreprocess, channels > 0, data.count % channels == 0 else { return }
        let plane = data.count / channels
        let m = effectiveMean, s = effectiveScale
        for c in 0..<channels {
            let mc = c < m.count ? m[c] : 0, sc = c < s.count ? s[c] : 1
            for i in (c * plane)..<((c + 1) * plane) { data[i] = (data[i] - mc) * sc }
        }
    }
}
