import Foundation

/// A model in the single-file deployable format (`.cnxk`): a float ConvNeXt, or a quantized
/// model's arrays, with everything needed to feed it (preprocessing) and to trace it (source hash,
/// config, calibration). See `docs/format.md`.
public struct DeployableModel: Sendable {
    /// The file extension, without the dot.
    public static let fileExtension = "cnxk"

    /// What the file stores.
    public enum Payload: Sendable {
        /// A float model; every weight is a named f32 array.
        case float(ConvNeXtModel)
        /// A quantized model as the quantizer serialised it: its arrays, with its metadata in
        /// `metadata.quantization`.
        case quantized([NamedArray])
    }

    public var metadata: DeploymentMetadata
    public var payload: Payload

    public init(metadata: DeploymentMetadata, payload: Payload) {
        self.metadata = metadata
        self.payload = payload
    }

    /// Packs a float model. `source` describes the file it came from (with its hash).
    public init(float model: ConvNeXtModel, preprocessing: DeployedPreprocessing? = nil,
                source: DeploymentMetadata.SourceRecord, createdBy: String = "\(DeploymentMetadata.toolVersion)",
                compile: DeploymentMetadata.CompileRecord? = nil, precision: FloatPrecision = .f32) {
        metadata = DeploymentMetadata(
            kind: .float, createdBy: createdBy, source: source,
            model: .init(config: model.config, parameters: model.parameterCount),
            preprocessing: preprocessing ?? .featuremap(config: model.config),
            imageDefaults: .init(model.preprocessing),
            sourceNodes: Self.nodeNames(model.sourceNodes),
            layerNormEpsilon: model.layerNormEpsilons, compile: compile)
        // f32 files stay byte-identical to those written before the key existed.
        metadata.floatPrecision = precision == .f32 ? nil : precision.rawValue
        payload = .float(model)
    }

    /// The precision a float model was packed to run in (`float_precision`; f32 when absent).
    public func floatPrecision(path: String) throws -> FloatPrecision {
        guard let name = metadata.floatPrecision else { return .f32 }
        guard let precision = FloatPrecision(rawValue: name) else {
            throw ConvNeXtError.invalidInput(path: path, reason: "unknown float_precision '\(name)' (expected f32 or bf16)")
        }
        return precision
    }

    /// Packs a quantized model: `arrays` and `quantization` as the quantizer serialised them;
    /// `floatModel` gives the architecture and node names.
    public init(quantizedArrays arrays: [NamedArray], quantization: JSONValue, floatModel: ConvNeXtModel,
                preprocessing: DeployedPreprocessing, source: DeploymentMetadata.SourceRecord,
                createdBy: String = "\(DeploymentMetadata.toolVersion)", compile: DeploymentMetadata.CompileRecord?) {
        metadata = DeploymentMetadata(
            kind: .quantized, createdBy: createdBy, source: source,
            model: .init(config: floatModel.config, parameters: floatModel.parameterCount),
            preprocessing: preprocessing, imageDefaults: .init(floatModel.preprocessing),
            sourceNodes: Self.nodeNames(floatModel.sourceNodes), compile: compile, quantization: quantization)
        payload = .quantized(arrays)
    }

    private static func nodeNames(_ nodes: [LayerID: [String]]) -> [String: [String]] {
        Dictionary(nodes.map { ($0.key.description, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Bytes

    /// The file's bytes.
    public func encoded() throws -> Data {
        let arrays: [NamedArray]
        switch payload {
        case .float(let model): arrays = try model.namedArrays()
        case .quantized(let a): arrays = a
        }
        return try DeploymentContainer(metadata: metadata.jsonData(), arrays: arrays).encoded()
    }

    /// Writes the file atomically (temporary file, then rename): a failure leaves no partial file.
    public func write(to path: String) throws {
        try FileIO.writeAtomically(path: path, data: encoded())
    }

    /// True when `data` starts with the deployable format's magic bytes.
    public static func isDeployable(_ data: Data) -> Bool { DeploymentContainer.hasMagic(data) }

    /// Reads and validates a deployable model file.
    public static func read(path: String) throws -> DeployableModel {
        try decode(FileIO.read(path: path, maxBytes: 8 << 30), path: path)
    }

    /// Parses and validates file bytes; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> DeployableModel {
        let container = try DeploymentContainer.decode(data, path: path)
        let metadata: DeploymentMetadata
        do {
            metadata = try JSONDecoder().decode(DeploymentMetadata.self, from: container.metadata)
        } catch {
            throw ConvNeXtError.invalidModel(path: path, reason: "the metadata section is not valid: \(Self.describe(error))")
        }
        guard metadata.format == "cnxk" else {
            throw ConvNeXtError.invalidModel(path: path, reason: "metadata format is '\(metadata.format)', expected 'cnxk'")
        }
        switch metadata.kind {
        case .quantized:
            try ConvNeXtModel.validate(metadata.model.config) { .invalidModel(path: path, reason: $0) }
            let model = DeployableModel(metadata: metadata, payload: .quantized(container.arrays))
            try model.validateMetadata(path: path)
            return model
        case .float:
            let config = metadata.model.config
            var model = try ConvNeXtModel(config: config, arrays: container.arrays,
                                          epsilons: metadata.layerNormEpsilon ?? [:], path: path)
            let ids = LayerCatalog.byName(config)
            var nodes: [LayerID: [String]] = [:]
            for (key, names) in metadata.sourceNodes {
                if let id = ids[key] { nodes[id] = names }
            }
            model.sourceNodes = nodes
            model.preprocessing = metadata.imageDefaults.defaults
            model.source = ModelSource(path: path, format: DeployableModel.fileExtension, opset: metadata.source.opset)
            let deployable = DeployableModel(metadata: metadata, payload: .float(model))
            try deployable.validateMetadata(path: path)
            return deployable
        }
    }

    /// The float model, or an error naming `path` when the file holds a quantized model.
    public func floatModel(path: String) throws -> ConvNeXtModel {
        switch payload {
        case .float(let model): return model
        case .quantized:
            throw ConvNeXtError.unsupportedModel(path: path, reason: "it holds a quantized model; this command runs float models only")
        }
    }

    /// One line from a JSON decoding error (which key, what went wrong).
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "key '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            let where_ = context.codingPath.map(\.stringValue).joined(separator: ".")
            return (where_.isEmpty ? "" : "key '\(where_)': ") + context.debugDescription
        default:
            return "\(error)"
        }
    }
}
