import Foundation
import SwiftProtobuf

/// A decoded ONNX graph: nodes with Identity aliases resolved, constants, and use lists.
///
/// Everything read from the file is validated here before use: tensor sizes against
/// their dims, dangling inputs, and attribute types.
struct ONNXGraph {
    let path: String
    let opset: Int
    let nodes: [Onnx_NodeProto]
    /// Initializers and Constant-node outputs, decoded to float.
    let constants: [String: ConstantTensor]
    /// Node indices that read each tensor.
    let consumers: [String: [Int]]
    let inputName: String
    let inputShape: [Int?]
    let outputNames: [String]
    /// Number of float elements in all initializers, as the zoo counts parameters.
    let initializerElementCount: Int

    /// ai.onnx opsets read: 7 (the oldest ONNX Runtime runs) to 23 (the newest this reader knows).
    static let opsetRange = 7...23

    /// Largest tensor accepted from a file (element count); protects against absurd dims.
    static let maxTensorElements = 1 << 28

    init(path: String, data: Data) throws {
        self.path = path
        let model: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw ConvNeXtError.invalidModel(path: path, reason: "not an ONNX protobuf (\(error))")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw ConvNeXtError.invalidModel(path: path, reason: "no graph or no nodes (truncated or not ONNX)")
        }
        let graph = model.graph
        guard let declared = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" })?.version else {
            throw ConvNeXtError.invalidModel(path: path, reason: "the model imports no ai.onnx opset")
        }
        guard declared >= Int64(Self.opsetRange.lowerBound), declared <= Int64(Self.opsetRange.upperBound) else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "opset \(declared) is outside the supported \(Self.opsetRange.lowerBound)...\(Self.opsetRange.upperBound)")
        }
        opset = Int(declared)

        var constants: [String: ConstantTensor] = [:]
        var initializerCount = 0
        for tensor in graph.initializer {
            // ONNX Runtime uses the first of two same-named initializers, a last-wins reader the other:
            // refuse, as onnx.checker does.
            guard constants[tensor.name] == nil else {
                throw ConvNeXtError.invalidModel(path: path, reason: "initializer '\(tensor.name)' is defined twice")
            }
            let decoded = try ConstantTensor(tensor, path: path)
            constants[tensor.name] = decoded
            if decoded.isFloat { initializerCount += decoded.values.count }
        }
        initializerElementCount = initializerCount

        // Identity nodes become aliases; Constant nodes become constants.
        var alias: [String: String] = [:]
        func resolve(_ name: String) -> String {
            var name = name
            var hops = 0
            while let next = alias[name], hops < 10_000 {
                name = next
                hops += 1
            }
            return name
        }
        var kept: [Onnx_NodeProto] = []
        for node in graph.node {
            switch node.opType {
            case "Identity":
                guard node.input.count == 1, node.output.count == 1 else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "Identity node '\(node.name)' needs one input and one output")
                }
                alias[node.output[0]] = resolve(node.input[0])
            case "Constant":
                guard node.output.count == 1 else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "Constant node '\(node.name)' needs one output")
                }
                guard constants[node.output[0]] == nil else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "Constant node '\(node.name)' redefines '\(node.output[0])'")
                }
                var constant = try ConstantTensor(constantNode: node, path: path)
                constant.name = node.output[0]
                constants[node.output[0]] = constant
            default:
                var node = node
                node.input = node.input.map(resolve)
                kept.append(node)
            }
        }
        nodes = kept
        for (name, target) in alias where constants[name] == nil {
            if let c = constants[resolve(target)] { constants[name] = c }
        }
        self.constants = constants

        let graphInputs = graph.input.filter { constants[$0.name] == nil }
        guard graphInputs.count == 1, let input = graphInputs.first else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "expected one image input, found \(graphInputs.count)")
        }
        inputName = input.name
        // Symbolic dims (dim_param or none) are free; a fixed dim must be a usable size (ONNX Runtime
        // refuses 0-sized inputs; reading them as "unknown" would silently run at 224).
        inputShape = try input.type.tensorType.shape.dim.enumerated().map { index, dim -> Int? in
            guard case .dimValue(let v)? = dim.value else { return nil }
            guard v > 0, v < 1 << 20 else {
                throw ConvNeXtError.invalidModel(path: path, reason: "input '\(input.name)' dimension \(index) is \(v); it must be between 1 and \(1 << 20)")
            }
            return Int(v)
        }
        outputNames = graph.output.map { resolve($0.name) }

        var consumers: [String: [Int]] = [:]
        var produced: Set<String> = [inputName]
        for node in kept { node.output.forEach { produced.insert($0) } }
        for (i, node) in kept.enumerated() {
            for name in node.input where !name.isEmpty {
                guard produced.contains(name) || constants[name] != nil else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "node '\(node.name)' reads '\(name)', which nothing produces")
                }
                consumers[name, default: []].append(i)
            }
        }
        self.consumers = consumers
    }

    func constant(_ name: String) -> ConstantTensor? { constants[name] }

    /// Uses hidden while a residual branch is walked (the branch's own Add).
    var hiddenUses: Set<HiddenUse> = []

    /// Node indices reading `name`, without hidden uses.
    func uses(of name: String) -> [Int] {
        let all = consumers[name] ?? []
        if hiddenUses.isEmpty { return all }
        return all.filter { !hiddenUses.contains(HiddenUse(tensor: name, node: $0)) }
    }
}

/// One (tensor, reader) edge of the graph.
struct HiddenUse: Hashable {
    var tensor: String
    var node: Int
}

/// A constant tensor from an initializer or a Constant node, as float values.
struct ConstantTensor {
    /// The initializer's or Constant node's name, for messages.
    var name = ""
    var dims: [Int]
    var values: [Float]
    /// False for integer tensors (shapes, axes), which are not parameters.
    var isFloat: Bool

    init(dims: [Int], values: [Float], isFloat: Bool) {
        self.dims = dims
        self.values = values
        self.isFloat = isFloat
    }

    init(_ t: Onnx_TensorProto, path: String) throws {
        let name = t.name
        self.name = name
        if t.dataLocation == 1 {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "tensor '\(name)' uses external data files, which are not supported")
        }
        var count = 1
        var dims: [Int] = []
        for d in t.dims {
            guard d >= 0, d <= Int64(ONNXGraph.maxTensorElements) else {
                throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' has dimension \(d)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, product <= ONNXGraph.maxTensorElements else {
                throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' has an absurd element count")
            }
            count = product
            dims.append(Int(d))
        }
        self.dims = dims
        func check(_ n: Int, _ what: String) throws {
            guard n == count else {
                throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' has \(n) \(what) values, dims say \(count)")
            }
        }
        switch t.dataType {
        case 1:  // FLOAT
            isFloat = true
            if t.hasRawData {
                guard t.rawData.count == count * 4 else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' raw_data is \(t.rawData.count) bytes, dims need \(count * 4)")
                }
                values = floatsFromLittleEndian(t.rawData)
            } else {
                try check(t.floatData.count, "float")
                values = t.floatData
            }
        case 7:  // INT64
            isFloat = false
            if t.hasRawData {
                guard t.rawData.count == count * 8 else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' raw_data is \(t.rawData.count) bytes, dims need \(count * 8)")
                }
                values = t.rawData.withUnsafeBytes { raw in
                    (0..<count).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
                }
            } else {
                try check(t.int64Data.count, "int64")
                values = t.int64Data.map { Float($0) }
            }
        case 6:  // INT32
            isFloat = false
            if t.hasRawData {
                guard t.rawData.count == count * 4 else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' raw_data is \(t.rawData.count) bytes, dims need \(count * 4)")
                }
                values = t.rawData.withUnsafeBytes { raw in
                    (0..<count).map { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
                }
            } else {
                try check(t.int32Data.count, "int32")
                values = t.int32Data.map { Float($0) }
            }
        case 11:  // DOUBLE
            isFloat = true
            if t.hasRawData {
                guard t.rawData.count == count * 8 else {
                    throw ConvNeXtError.invalidModel(path: path, reason: "tensor '\(name)' raw_data is \(t.rawData.count) bytes, dims need \(count * 8)")
                }
                values = t.rawData.withUnsafeBytes { raw in
                    (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
                }
            } else {
                try check(t.doubleData.count, "double")
                values = t.doubleData.map { Float($0) }
            }
        default:
            throw ConvNeXtError.unsupportedModel(path: path, reason: "tensor '\(name)' has data type \(t.dataType); only float32, float64, int32 and int64 are read")
        }
    }

    init(constantNode node: Onnx_NodeProto, path: String) throws {
        guard let attr = node.attribute.first else {
            throw ConvNeXtError.invalidModel(path: path, reason: "Constant node '\(node.name)' has no value")
        }
        switch attr.name {
        case "value":
            guard attr.hasT else {
                throw ConvNeXtError.invalidModel(path: path, reason: "Constant node '\(node.name)' value is not a tensor")
            }
            self = try ConstantTensor(attr.t, path: path)
        case "value_float": self.init(dims: [], values: [attr.f], isFloat: true)
        case "value_floats": self.init(dims: [attr.floats.count], values: attr.floats, isFloat: true)
        case "value_int": self.init(dims: [], values: [Float(attr.i)], isFloat: false)
        case "value_ints": self.init(dims: [attr.ints.count], values: attr.ints.map { Float($0) }, isFloat: false)
        default:
            throw ConvNeXtError.unsupportedModel(path: path, reason: "Constant node '\(node.name)' uses attribute '\(attr.name)'")
        }
    }

    /// The single value of a scalar (or all-equal) tensor.
    var scalar: Float? {
        guard let first = values.first, values.allSatisfy({ $0 == first }) else { return nil }
        return first
    }
}

extension Onnx_NodeProto {
    func attribute(_ name: String) -> Onnx_AttributeProto? { attribute.first { $0.name == name } }

    /// An INTS attribute, or `defaultValue` when absent.
    func ints(_ name: String, default defaultValue: [Int]? = nil, path: String) throws -> [Int]? {
        guard let a = attribute(name) else { return defaultValue }
        guard a.type == .ints || (a.type == .undefined && !a.ints.isEmpty) else {
            throw ConvNeXtError.invalidModel(path: path, reason: "attribute '\(name)' of node '\(self.name)' is not a list of ints")
        }
        return a.ints.map { Int(clamping: $0) }
    }

    func int(_ name: String, default defaultValue: Int, path: String) throws -> Int {
        guard let a = attribute(name) else { return defaultValue }
        guard a.type == .int || a.type == .undefined else {
            throw ConvNeXtError.invalidModel(path: path, reason: "attribute '\(name)' of node '\(self.name)' is not an int")
        }
        return Int(clamping: a.i)
    }

    func float(_ name: String, default defaultValue: Float, path: String) throws -> Float {
        guard let a = attribute(name) else { return defaultValue }
        guard a.type == .float || a.type == .undefined else {
            throw ConvNeXtError.invalidModel(path: path, reason: "attribute '\(name)' of node '\(self.name)' is not a float")
        }
        return a.f
    }
}
