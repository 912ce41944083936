import Foundation

/// A `convnext compile` configuration in the vendor's hb_mapper YAML schema, parsed and checked.
///
/// Paths are resolved relative to the YAML file's folder (command-line overrides relative to the
/// current folder). `docs/config.md` describes every key. Parsing never touches the model;
/// `resolve(against:)` checks the config against the loaded model.
public struct CompileConfig: Sendable {
    /// The YAML file as given, and its text (stored in the deployable model).
    public var path: String
    public var yamlText: String
    public var model: ModelParameters
    public var input: InputParameters
    public var calibration: CalibrationParameters
    public var compiler: CompilerParameters
    /// Unknown keys and ignored settings, one line each, prefixed with the file and line.
    public var warnings: [String]
    /// Line of every key read, by dotted name (`input_parameters.input_shape`).
    public var keyLines: [String: Int]

    /// `line N: key` (or just `key` when the key was not in the file), for messages.
    public func located(_ key: String) -> String {
        (keyLines[key].map { "line \($0): " } ?? "") + key
    }

    /// `model_parameters`.
    public struct ModelParameters: Sendable {
        /// Resolved path of `onnx_model` (any model file `ModelLoader` reads).
        public var modelPath: String
        /// Where `modelPath` came from, for messages: `model_parameters.onnx_model (line 3)` or `--model`.
        public var modelOrigin: String
        public var march: String?
        /// Resolved `working_dir` (default `model_output` beside the YAML).
        public var workingDir: String
        public var outputPrefix: String
        public var layerOutDump: Bool
        public var nodeInfo: [NodeInfo]
    }

    /// One `node_info` entry: per-node placement and precision.
    public struct NodeInfo: Sendable, Equatable {
        public var node: String
        public var line: Int?
        /// `ON`: BPU (quantized) or CPU (kept in float).
        public var runOn: ExecutionUnit?
        public var inputType: NodeDataType?
        public var outputType: NodeDataType?
        /// `InputType0`, `InputType1`, ...: one input of the node.
        public var inputTypeByIndex: [Int: NodeDataType]

        public init(node: String, line: Int? = nil, runOn: ExecutionUnit? = nil, inputType: NodeDataType? = nil,
                    outputType: NodeDataType? = nil, inputTypeByIndex: [Int: NodeDataType] = [:]) {
            self.node = node
            self.line = line
            self.runOn = runOn
            self.inputType = inputType
            self.outputType = outputType
            self.inputTypeByIndex = inputTypeByIndex
        }

        /// The precision this entry asks for the layer containing the node.
        public var requestedPrecision: Precision {
            if runOn == .cpu { return .float }
            let types = [inputType, outputType].compactMap { $0 } + inputTypeByIndex.values
            return types.contains(.int16) ? .int16 : .int8
        }
    }

    public enum ExecutionUnit: String, Sendable, CaseIterable { case bpu = "BPU", cpu = "CPU" }
    public enum NodeDataType: String, Sendable, CaseIterable { case int8, int16 }

    /// Precision of one fused layer, as requested by node_info / run_on_cpu; ordered by width.
    public enum Precision: String, Sendable, Codable, CaseIterable, Comparable {
        case int8, int16, float
        private var width: Int {
            switch self {
            case .int8: return 8
            case .int16: return 16
            case .float: return 32
            }
        }
        public static func < (a: Precision, b: Precision) -> Bool { a.width < b.width }
    }

    /// `input_parameters`.
    public struct InputParameters: Sendable {
        public var inputName: String?
        public var inputTypeRT: DeployedPreprocessing.InputType
        public var inputTypeTrain: DeployedPreprocessing.InputType
        public var inputLayoutTrain: DeployedPreprocessing.Layout
        /// `input_shape` (NCHW, batch 1), nil when empty or absent: taken from the model.
        public var inputShape: [Int]?
        public var colourRange: DeployedPreprocessing.ColourRange
        public var normType: DeployedPreprocessing.NormType
        /// 1 or per-channel values, as written.
        public var meanValue: [Float]?
        public var scaleValue: [Float]?
    }

    /// `calibration_parameters`.
    public struct CalibrationParameters: Sendable {
        /// Resolved `cal_data_dir`; nil only with `calibration_type: skip`.
        public var dataDir: String?
        /// Where `dataDir` came from, for messages.
        public var dataDirOrigin: String
        public var dataType: CalibrationDataType
        public var calibrationType: CalibrationType
        public var maxPercentile: Double?
        public var perChannel: Bool
        /// Node names kept in float.
        public var runOnCPU: [String]
        /// `optimization`: `set_model_output_int8` / `set_model_output_int16` set this.
        public var modelOutputPrecision: Precision?
    }

    /// `cal_data_type`: element type of raw calibration files.
    public enum CalibrationDataType: String, Sendable, CaseIterable {
        case float32, uint8
        public var byteWidth: Int { self == .float32 ? 4 : 1 }
    }

    /// `calibration_type`.
    public enum CalibrationType: String, Sendable, Codable, CaseIterable {
        /// Tries max, max with percentile 0.99995 and KL; keeps the best output cosine.
        case `default`
        case max, kl
        /// Chooses per layer.
        case mix
        /// Random calibration data (speed tests only).
        case skip
        /// Scales from a quantization-aware-trained model (not supported: refused at compile time).
        case load
    }

    /// `compiler_parameters`: accepted and recorded; none has an effect on a CPU.
    public struct CompilerParameters: Sendable {
        /// Every key as written (`compile_mode`, `debug`, `optimize_level`, `core_num`, ...).
        public var values: [(key: String, value: String)]
    }

    /// Command-line overrides of `convnext compile`.
    public struct Overrides: Sendable {
        public var model: String?
        public var workingDir: String?
        public var calibrationType: String?
        public var calDataDir: String?
        public var outputPrefix: String?

        public init(model: String? = nil, workingDir: String? = nil, calibrationType: String? = nil,
                    calDataDir: String? = nil, outputPrefix: String? = nil) {
            self.model = model
            self.workingDir = workingDir
            self.calibrationType = calibrationType
            self.calDataDir = calDataDir
            self.outputPrefix = outputPrefix
        }
    }

    /// Reads, parses and checks a config: the model file must exist, and the calibration folder
    /// must exist and hold files (unless `calibration_type: skip`). Errors name the key and line.
    public static func load(path: String, overrides: Overrides = Overrides()) throws -> CompileConfig {
        let data = try FileIO.read(path: path, maxBytes: 4 << 20)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConvNeXtError.invalidConfig(path: path, reason: "not UTF-8 text")
        }
        let config = try parse(yaml: text, path: path, overrides: overrides)
        try config.checkFiles()
        return config
    }

    /// Output file paths in `working_dir`.
    public var outputModelPath: String { model.workingDir + "/" + model.outputPrefix + "." + DeployableModel.fileExtension }
    public var reportTextPath: String { model.workingDir + "/" + model.outputPrefix + "_quant_report.txt" }
    public var reportJSONPath: String { model.workingDir + "/" + model.outputPrefix + "_quant_report.json" }
    public var layerDumpDirectory: String { model.workingDir + "/" + model.outputPrefix + "_layer_out" }
}
