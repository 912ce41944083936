import Foundation

extension ImageClassifier {
    /// How to open a model: the engine, the input size, labels and changes to the preprocessing.
    ///
    /// Every field has a default that keeps the model's own settings, so `Options()` opens a model
    /// exactly as `convnext classify MODEL` runs it.
    public struct Options: Sendable {
        /// The engine for float models: `.fast` (default) or `.reference` (the plain oracle).
        public var engine: EngineKind
        /// The float precision (`.f32`, `.bf16`) of float models; nil: the model's own (f32 unless a
        /// `.cnxk` packed with bf16). `.bf16` needs AVX512-BF16 or AMX-BF16, or an ISA cap of portable.
        public var precision: FloatPrecision?
        /// Square input resolution for float models (default: the model's own; a `.cnxk` runs at its compiled size).
        public var inputSize: Int?
        /// A labels file (one name per line, or `index<TAB>id<TAB>name`); default ImageNet-1k when the class count is 1000.
        public var labelsPath: String?
        /// Preprocessing that replaces the model's defaults (nil: the model's own).
        public var preprocessing: PreprocessOptions?
        /// Single settings changed on top of ``preprocessing`` (or of the model's defaults), as the
        /// CLI's `--crop-pct`, `--interpolation`, ... flags do.
        public var preprocessingChanges: PreprocessingChanges
        /// YUV range of NV12 frames given to a float model (an NV12-compiled `.cnxk` uses its own).
        public var nv12Range: YUVRange
        /// Chroma upsampling of NV12 frames given to a float model (an NV12-compiled `.cnxk` uses its own).
        public var nv12Upsampling: ChromaUpsampling
        /// Resolves registry names (`atto`); nil uses the standard registry and cache, never downloading.
        public var resolver: ModelResolver?
        /// Download a registry model that is not cached yet.
        public var download: Bool

        /// Options with every default spelled out; change only what you need.
        public init(engine: EngineKind = .fast, inputSize: Int? = nil, labelsPath: String? = nil,
                    preprocessing: PreprocessOptions? = nil, nv12Range: YUVRange = .full,
                    nv12Upsampling: ChromaUpsampling = .bilinear, resolver: ModelResolver? = nil, download: Bool = false,
                    preprocessingChanges: PreprocessingChanges = PreprocessingChanges(),
                    precision: FloatPrecision? = nil) {
            self.engine = engine
            self.precision = precision
            self.inputSize = inputSize
            self.labelsPath = labelsPath
            self.preprocessing = preprocessing
            self.preprocessingChanges = preprocessingChanges
            self.nv12Range = nv12Range
            self.nv12Upsampling = nv12Upsampling
            self.resolver = resolver
            self.download = download
        }
    }

    /// Changes to a model's preprocessing, one setting at a time: each non-nil field replaces the
    /// model's value and the others stay as the model records them.
    public struct PreprocessingChanges: Sendable, Equatable {
        /// timm's crop_pct in (0, 1].
        public var cropPct: Double?
        /// The resize filter.
        public var interpolation: Interpolation?
        /// Resize and centre crop (timm) or letterbox.
        public var resizeMode: ResizeMode?
        /// Per-channel mean in the 0...1 pixel domain.
        public var mean: [Float]?
        /// Per-channel standard deviation in the 0...1 pixel domain.
        public var std: [Float]?
        /// Apply a JPEG's EXIF orientation (timm does not).
        public var applyExifOrientation: Bool?

        /// Changes nothing unless a field is given.
        public init(cropPct: Double? = nil, interpolation: Interpolation? = nil, resizeMode: ResizeMode? = nil,
                    mean: [Float]? = nil, std: [Float]? = nil, applyExifOrientation: Bool? = nil) {
            self.cropPct = cropPct
            self.interpolation = interpolation
            self.resizeMode = resizeMode
            self.mean = mean
            self.std = std
            self.applyExifOrientation = applyExifOrientation
        }

        /// `base` with these changes applied (not validated; ``ImageClassifier`` validates the result).
        public func applied(to base: PreprocessOptions) -> PreprocessOptions {
            var o = base
            if let cropPct { o.cropPct = cropPct }
            if let interpolation { o.interpolation = interpolation }
            if let resizeMode { o.resizeMode = resizeMode }
            if let mean { o.mean = mean }
            if let std { o.std = std }
            if let applyExifOrientation { o.applyExifOrientation = applyExifOrientation }
            return o
        }
    }
}
