import Foundation

/// The JSON messages of the Open Inference Protocol v2 (KServe's REST form), as far as a batch-1
/// classifier needs them.
enum OpenInference {
    /// Input and output names.
    static let floatInputName = "input"
    static let nv12InputName = "nv12"
    static let outputName = "logits"

    /// `GET /v2`: the server's name, version and protocol extensions.
    struct ServerMetadata: Encodable {
        var name = "convnext"
        var version: String
        var extensions = ["classification"]
    }

    /// A tensor's name, datatype and shape, as listed in model metadata.
    struct TensorMetadata: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
    }

    /// `GET /v2/models/{name}`.
    struct ModelMetadata: Encodable {
        var name: String
        var versions: [String]
        var platform: String
        var inputs: [TensorMetadata]
        var outputs: [TensorMetadata]
        /// Not in the protocol's core: the architecture, precision, input format and the other accepted input.
        var parameters: ModelParameters
    }

    /// Facts about the model beyond tensor shapes, and the other input it accepts.
    struct ModelParameters: Encodable {
        var facts: ModelFacts
        /// The input also accepted besides `inputs[0]` (an NV12 frame for float models, a float tensor for NV12 models).
        var alternativeInput: TensorMetadata

        enum CodingKeys: String, CodingKey {
            case alternativeInput = "alternative_input"
        }

        func encode(to encoder: any Encoder) throws {
            try facts.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(alternativeInput, forKey: .alternativeInput)
        }
    }

    /// `POST /v2/models/{name}/infer` body.
    struct InferenceRequest: Decodable {
        var id: String?
        var inputs: [InputTensor]
        var outputs: [RequestedOutput]?
    }

    /// One input tensor; `data` is flat or nested (row-major), decoded as its datatype says.
    struct InputTensor: Decodable {
        var name: String
        var shape: [Int]
        var datatype: String
        var data: TensorValues

        enum CodingKeys: String, CodingKey { case name, shape, datatype, data }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            shape = try container.decode([Int].self, forKey: .shape)
            datatype = try container.decode(String.self, forKey: .datatype)
            switch datatype {
            case "FP32": data = .float32(try container.decode(FlatArray<Float>.self, forKey: .data).values)
            case "UINT8": data = .uint8(try container.decode(FlatArray<UInt8>.self, forKey: .data).values)
            default:
                throw ServiceError.unprocessable("input '\(name)': datatype \(datatype) is not supported; send FP32 (a float tensor) or UINT8 (an NV12 frame)")
            }
        }
    }

    /// Decoded tensor contents.
    enum TensorValues {
        case float32([Float])
        case uint8([UInt8])

        var count: Int {
            switch self {
            case .float32(let values): return values.count
            case .uint8(let values): return values.count
            }
        }
    }

    /// An output the client asks for, optionally as classification strings.
    struct RequestedOutput: Decodable {
        var name: String
        var parameters: OutputParameters?
    }

    /// Output parameters: `classification: K` turns the logits into the top-K `"value:index:label"` strings.
    struct OutputParameters: Decodable {
        var classification: Int?
    }

    /// `POST /v2/models/{name}/infer` answer.
    struct InferenceResponse: Encodable {
        var modelName: String
        var modelVersion: String
        var id: String?
        var outputs: [OutputTensor]

        enum CodingKeys: String, CodingKey {
            case id, outputs
            case modelName = "model_name", modelVersion = "model_version"
        }
    }

    /// An output tensor: FP32 logits, or BYTES classification strings.
    struct OutputTensor: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
        var data: OutputValues
    }

    /// Output contents.
    enum OutputValues: Encodable {
        case float32([Float])
        case strings([String])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .float32(let values): try container.encode(values)
            case .strings(let values): try container.encode(values)
            }
        }
    }
}

/// The numbers of a JSON array, flat or nested to any depth, in row-major order.
struct FlatArray<Element: Decodable>: Decodable {
    var values: [Element]

    init(from decoder: any Decoder) throws {
        // Flat arrays are the common case and decode in one call.
        if let flat = try? decoder.singleValueContainer().decode([Element].self) {
            values = flat
            return
        }
        var container = try decoder.unkeyedContainer()
        var values: [Element] = []
        try Self.append(&container, into: &values, depth: 1)
        self.values = values
    }

    private static func append(_ container: inout any UnkeyedDecodingContainer, into values: inout [Element], depth: Int) throws {
        guard depth <= 8 else {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath, debugDescription: "tensor data is nested more than 8 deep"))
        }
        while !container.isAtEnd {
            if let value = try? container.decode(Element.self) {
                values.append(value)
            } else {
                var nested = try container.nestedUnkeyedContainer()
                try append(&nested, into: &values, depth: depth + 1)
            }
        }
    }
}
