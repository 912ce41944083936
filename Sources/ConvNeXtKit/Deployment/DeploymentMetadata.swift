import Foundation

/// The JSON metadata section of a deployable model: what it is, where it came from, how it was
/// made and how to feed it. Keys are snake_case; unknown keys are ignored on reading.
public struct DeploymentMetadata: Sendable, Equatable, Codable {
    /// Always `cnxk`.
    public var format: String
    /// `float` (weights as f32 arrays) or `quantized` (the quantizer's arrays).
    public var kind: Kind
    /// Tool and version that wrote the file, e.g. `ConvNeXtKit 0.1.0 (convnext pack)`.
    public var createdBy: String
    public var source: SourceRecord
    public var model: ModelRecord
    public var preprocessing: DeployedPreprocessing
    /// timm's image pipeline for this model (crop, interpolation, mean/std in 0...1).
    public var imageDefaults: ImageDefaultsRecord
    /// ONNX node names (or checkpoint keys) per layer, keyed by `LayerID.description`.
    public var sourceNodes: [String: [String]]
    /// LayerNorm epsilons of a float model, keyed by `LayerID.description`.
    public var layerNormEpsilon: [String: Float]?
    /// Present when the file was made by `convnext compile`.
    public var compile: CompileRecord?
    /// The quantizer's own metadata (scales, precisions, ...), opaque to the container.
    public var quantization: JSONValue?
    /// Float models: the precision the deployed model runs in (`bf16`); absent means f32. The
    /// weights stay f32 arrays either way (the container has no bf16 array type).
    public var floatPrecision: String?

    /// Version of the tool, written into `created_by`.
    public static let toolVersion = "ConvNeXtKit 0.1.0"

    public enum Kind: String, Sendable, Codable {
        case float, quantized
    }

    enum CodingKeys: String, CodingKey {
        case format, kind, createdBy = "created_by", source, model, preprocessing, imageDefaults = "image_defaults"
        case sourceNodes = "source_nodes", layerNormEpsilon = "layer_norm_epsilon", compile, quantization
        case floatPrecision = "float_precision"
    }

    public init(kind: Kind, createdBy: String, source: SourceRecord, model: ModelRecord,
                preprocessing: DeployedPreprocessing, imageDefaults: ImageDefaultsRecord,
                sourceNodes: [String: [String]], layerNormEpsilon: [String: Float]? = nil,
                compile: CompileRecord? = nil, quantization: JSONValue? = nil) {
        self.format = "cnxk"
        self.kind = kind
        self.createdBy = createdBy
        self.source = source
        self.model = model
        self.preprocessing = preprocessing
        self.imageDefaults = imageDefaults
        self.sourceNodes = sourceNodes
        self.layerNormEpsilon = layerNormEpsilon
        self.compile = compile
        self.quantization = quantization
    }

    /// The model file the deployable model was made from.
    public struct SourceRecord: Sendable, Equatable, Codable {
        public var path: String
        /// `onnx`, `pth`, `safetensors`, `cnxk` or `memory`.
        public var format: String
        public var opset: Int?
        /// SHA-256 of the source file's bytes (hex), nil for in-memory models.
        public var sha256: String?
        public var sizeBytes: Int?

        enum CodingKeys: String, CodingKey { case path, format, opset, sha256, sizeBytes = "size_bytes" }

        public init(path: String, format: String, opset: Int? = nil, sha256: String? = nil, sizeBytes: Int? = nil) {
            self.path = path
            self.format = format
            self.opset = opset
            self.sha256 = sha256
            self.sizeBytes = sizeBytes
        }

        /// Describes `model.source`, hashing the file when it exists.
        public static func describing(_ source: ModelSource) throws -> SourceRecord {
            var record = SourceRecord(path: source.path, format: source.format, opset: source.opset)
            if source.format != "memory", FileManager.default.fileExists(atPath: source.path) {
                let bytes = try FileIO.read(path: source.path, maxBytes: 4 << 30)
                record.sha256 = SHA256.hex(SHA256.digest(bytes))
                record.sizeBytes = bytes.count
            }
            return record
        }
    }

    /// Architecture of the stored network.
    public struct ModelRecord: Sendable, Equatable, Codable {
        /// timm variant name or `custom`.
        public var variant: String
        public var depths: [Int]
        public var dims: [Int]
        public var blockForm: BlockForm
        public var numClasses: Int
        public var inputChannels: Int
        public var inputHeight: Int
        public var inputWidth: Int
        public var parameters: Int?

        enum CodingKeys: String, CodingKey {
            case variant, depths, dims, blockForm = "block_form", numClasses = "num_classes"
            case inputChannels = "input_channels", inputHeight = "input_height", inputWidth = "input_width", parameters
        }

        public init(config: ConvNeXtConfig, parameters: Int? = nil) {
            variant = config.variantName
            depths = config.depths
            dims = config.dims
            blockForm = config.blockForm
            numClasses = config.numClasses
            inputChannels = config.inputChannels
            inputHeight = config.inputHeight
            inputWidth = config.inputWidth
            self.parameters = parameters
        }

        public var config: ConvNeXtConfig {
            ConvNeXtConfig(depths: depths, dims: dims, blockForm: blockForm, numClasses: numClasses,
                           inputHeight: inputHeight, inputWidth: inputWidth, inputChannels: inputChannels)
        }
    }

    /// `PreprocessingDefaults` with snake_case keys.
    public struct ImageDefaultsRecord: Sendable, Equatable, Codable {
        public var cropPct: Double
        public var interpolation: String
        public var mean: [Float]
        public var std: [Float]

        enum CodingKeys: String, CodingKey { case cropPct = "crop_pct", interpolation, mean, std }

        public init(_ defaults: PreprocessingDefaults) {
            cropPct = defaults.cropPct
            interpolation = defaults.interpolation
            mean = defaults.mean
            std = defaults.std
        }

        public var defaults: PreprocessingDefaults {
            PreprocessingDefaults(cropPct: cropPct, interpolation: interpolation, mean: mean, std: std)
        }
    }

    /// How `convnext compile` made the file.
    public struct CompileRecord: Sendable, Equatable, Codable {
        /// The YAML file as given, and its full text.
        public var configPath: String
        public var configYAML: String
        /// Requested `calibration_type`, and the method actually used (for `default`: the winner).
        public var calibrationType: String
        public var calibrationMethodUsed: String?
        public var calibrationDataDir: String?
        public var calibrationDataType: String?
        public var calibrationDataCount: Int
        /// Per-layer precision overrides from node_info / run_on_cpu, keyed by `LayerID.description`.
        public var layerOverrides: [String: String]

        enum CodingKeys: String, CodingKey {
            case configPath = "config_path", configYAML = "config_yaml", calibrationType = "calibration_type"
            case calibrationMethodUsed = "calibration_method_used", calibrationDataDir = "calibration_data_dir"
            case calibrationDataType = "calibration_data_type", calibrationDataCount = "calibration_data_count"
            case layerOverrides = "layer_overrides"
        }

        public init(configPath: String, configYAML: String, calibrationType: String, calibrationMethodUsed: String?,
                    calibrationDataDir: String?, calibrationDataType: String?, calibrationDataCount: Int,
                    layerOverrides: [String: String]) {
            self.configPath = configPath
            self.configYAML = configYAML
            self.calibrationType = calibrationType
            self.calibrationMethodUsed = calibrationMethodUsed
            self.calibrationDataDir = calibrationDataDir
            self.calibrationDataType = calibrationDataType
            self.calibrationDataCount = calibrationDataCount
            self.layerOverrides = layerOverrides
        }
    }

    /// UTF-8 JSON with sorted keys (the same model always gives the same bytes).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
