import Foundation

/// A `QuantizedModel` as plain parts a file container can store: one Codable metadata value
/// (JSON-encodable) and named typed arrays (little-endian when written; any order).
///
/// Array names follow the layers: `stem.conv.weight` (i8, or f32 when the layer's input is float),
/// `stem.conv.weight_scale` (f32, int layers only), `stem.conv.bias`, `stem.norm.weight|bias`,
/// `stages.S.downsample.norm.weight|bias`, `stages.S.downsample.conv.*`,
/// `stages.S.blocks.B.conv_dw.weight` (f32 [7][7][C]) and `.conv_dw.bias`, `.norm.weight|bias`,
/// `.fc1.*`, `.fc2.*`, `head.norm.weight|bias`, `head.fc.*`. Shapes and quantisation parameters are
/// in the metadata.
public struct SerializedQuantizedModel: Sendable {
    public var metadata: QuantizedModelMetadata
    public var arrays: [SerializedArray]

    public init(metadata: QuantizedModelMetadata, arrays: [SerializedArray]) {
        self.metadata = metadata
        self.arrays = arrays
    }
}

/// One named array.
public struct SerializedArray: Sendable {
    public var name: String
    public var data: ArrayData
    public init(name: String, data: ArrayData) {
        self.name = name
        self.data = data
    }
}

/// Typed array contents.
public enum ArrayData: Sendable, Equatable {
    case f32([Float])
    case i8([Int8])
    case i16([Int16])
    case i32([Int32])

    /// `f32`, `i8`, `i16` or `i32`.
    public var kind: String {
        switch self {
        case .f32: return "f32"
        case .i8: return "i8"
        case .i16: return "i16"
        case .i32: return "i32"
        }
    }

    public var count: Int {
        switch self {
        case .f32(let v): return v.count
        case .i8(let v): return v.count
        case .i16(let v): return v.count
        case .i32(let v): return v.count
        }
    }
}

/// Everything but the arrays: architecture, per-layer shapes and activation quantisation.
public struct QuantizedModelMetadata: Sendable, Codable, Equatable {
    /// Bumped when the meaning of any field or array changes.
    public static let currentVersion = 1

    public struct LinearInfo: Sendable, Codable, Equatable {
        public var name: String
        public var outFeatures: Int
        public var inFeatures: Int
        public var input: ActivationQuantization
    }
    public struct BlockInfo: Sendable, Codable, Equatable {
        public var normEpsilon: Float
        public var hasLayerScale: Bool
    }
    public struct StageInfo: Sendable, Codable, Equatable {
        public var downsampleEpsilon: Float?
        public var blocks: [BlockInfo]
    }
    public struct NodeEntry: Sendable, Codable, Equatable {
        public var layer: LayerID
        public var nodes: [String]
    }

    public var version: Int
    public var config: ConvNeXtConfig
    public var stemKernel: Int
    public var stemNormEpsilon: Float
    public var headNormEpsilon: Float
    public var stages: [StageInfo]
    public var linears: [LinearInfo]
    public var calibration: CalibrationSummary
    public var sourceNodes: [NodeEntry]

    /// Compact JSON of the metadata.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Parses `jsonString()` output.
    public static func fromJSON(_ text: String) throws -> QuantizedModelMetadata {
        do {
            return try JSONDecoder().decode(QuantizedModelMetadata.self, from: Data(text.utf8))
        } catch {
            throw ConvNeXtError.invalidModel(path: "quantized model", reason: "metadata is not valid: \(error)")
        }
    }
}

extension QuantizedModel {
    /// Splits the model into metadata and named arrays (see `SerializedQuantizedModel`).
    public func serialize() -> SerializedQuantizedModel {
        var arrays: [SerializedArray] = []
        var linears: [QuantizedModelMetadata.LinearInfo] = []
        func add(_ name: String, _ data: ArrayData) { arrays.append(SerializedArray(name: name, data: data)) }
        func linear(_ name: String, _ l: QuantizedLinear) {
            linears.append(.init(name: name, outFeatures: l.outFeatures, inFeatures: l.inFeatures, input: l.input))
            if l.input.precision == .float {
                add(name + ".weight", .f32(l.floatWeights))
            } else {
                add(name + ".weight", .i8(l.weights))
                add(name + ".weight_scale", .f32(l.weightScales))
            }
            add(name + ".bias", .f32(l.bias))
        }
        linear("stem.conv", stemConv)
        add("stem.norm.weight", .f32(stemNorm.weight))
        add("stem.norm.bias", .f32(stemNorm.bias))
        var stageInfos: [QuantizedModelMetadata.StageInfo] = []
        for (s, stage) in stages.enumerated() {
            if let d = stage.downsample {
                add("stages.\(s).downsample.norm.weight", .f32(d.normWeight))
                add("stages.\(s).downsample.norm.bias", .f32(d.normBias))
                linear("stages.\(s).downsample.conv", d.conv)
            }
            for (b, block) in stage.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                add(p + ".conv_dw.weight", .f32(block.dwWeights))
                add(p + ".conv_dw.bias", .f32(block.dwBias))
                add(p + ".norm.weight", .f32(block.normWeight))
                add(p + ".norm.bias", .f32(block.normBias))
                linear(p + ".fc1", block.fc1)
                linear(p + ".fc2", block.fc2)
            }
            stageInfos.append(.init(downsampleEpsilon: stage.downsample?.normEpsilon,
                                    blocks: stage.blocks.map { .init(normEpsilon: $0.normEpsilon, hasLayerScale: $0.hasLayerScale) }))
        }
        add("head.norm.weight", .f32(headNormWeight))
        add("head.norm.bias", .f32(headNormBias))
        linear("head.fc", head)
        let nodes = sourceNodes.keys.sorted { $0.description < $1.description }.map {
            QuantizedModelMetadata.NodeEntry(layer: $0, nodes: sourceNodes[$0] ?? [])
        }
        let metadata = QuantizedModelMetadata(version: QuantizedModelMetadata.currentVersion, config: config,
                                              stemKernel: stemKernel, stemNormEpsilon: stemNorm.epsilon,
                                              headNormEpsilon: headNormEpsilon, stages: stageInfos, linears: linears,
                                              calibration: calibration, sourceNodes: nodes)
        return SerializedQuantizedModel(metadata: metadata, arrays: arrays)
    }

    /// Rebuilds a model from `serialize()` output, checking every array's presence, type and size.
    /// Throws `ConvNeXtError.invalidModel` naming the first problem.
    public init(deserializing s: SerializedQuantizedModel) throws {
        let m = s.metadata
        func fail(_ reason: String) -> ConvNeXtError { .invalidModel(path: "quantized model", reason: reason) }
        guard m.version == QuantizedModelMetadata.currentVersion else {
            throw fail("quantized model version \(m.version), this build reads version \(QuantizedModelMetadata.currentVersion)")
        }
        let cfg = m.config
        guard cfg.dims.count == cfg.depths.count, m.stages.count == cfg.depths.count, cfg.dims.allSatisfy({ $0 > 0 && $0 <= 65536 }),
              cfg.numClasses > 0, cfg.inputChannels > 0, m.stemKernel > 0, m.stemKernel <= 64,
              cfg.inputHeight >= m.stemKernel, cfg.inputWidth >= m.stemKernel, cfg.inputHeight <= 16384, cfg.inputWidth <= 16384 else {
            throw fail("inconsistent architecture in the metadata")
        }
        var byName: [String: ArrayData] = [:]
        for a in s.arrays { byName[a.name] = a.data }
        let infos = Dictionary(m.linears.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        func floats(_ name: String, _ count: Int) throws -> [Float] {
            guard case .f32(let v)? = byName[name] else { throw fail("array \(name) (f32) is missing") }
            guard v.count == count else { throw fail("array \(name) has \(v.count) values, expected \(count)") }
            if let bad = v.firstIndex(where: { !$0.isFinite }) { throw fail("array \(name) holds \(v[bad]) at element \(bad); values must be finite") }
            return v
        }
        func linear(_ name: String, out: Int, inputs: Int) throws -> QuantizedLinear {
            guard let info = infos[name] else { throw fail("layer \(name) is missing from the metadata") }
            guard info.outFeatures == out, info.inFeatures == inputs else {
                throw fail("layer \(name) is \(info.outFeatures)x\(info.inFeatures), expected \(out)x\(inputs)")
            }
            let q = info.input
            guard q.precision == .float || (q.scale > 0 && q.scale.isFinite && q.zeroPoint >= 0 && q.zeroPoint <= q.maxLevel) else {
                throw fail("layer \(name) has invalid input quantisation")
            }
            let bias = try floats(name + ".bias", out)
            if q.precision == .float {
                return QuantizedLinear(outFeatures: out, inFeatures: inputs, input: q, weights: [], weightScales: [],
                                       floatWeights: try floats(name + ".weight", out * inputs), bias: bias)
            }
            guard case .i8(let w)? = byName[name + ".weight"] else { throw fail("array \(name).weight (i8) is missing") }
            guard w.count == out * inputs else { throw fail("array \(name).weight has \(w.count) values, expected \(out * inputs)") }
            let scales = try floats(name + ".weight_scale", out)
            return QuantizedLinear(outFeatures: out, inFeatures: inputs, input: q, weights: w, weightScales: scales,
                                   floatWeights: [], bias: bias)
        }
        let k = m.stemKernel
        config = cfg
        stemKernel = k
        stemConv = try linear("stem.conv", out: cfg.dims[0], inputs: k * k * cfg.inputChannels)
        stemNorm = LayerNorm(weight: try floats("stem.norm.weight", cfg.dims[0]), bias: try floats("stem.norm.bias", cfg.dims[0]),
                             epsilon: m.stemNormEpsilon)
        var qStages: [QuantizedStage] = []
        for (s, info) in m.stages.enumerated() {
            let c = cfg.dims[s]
            var down: QuantizedDownsample?
            if let eps = info.downsampleEpsilon {
                guard s > 0 else { throw fail("stage 0 cannot have a downsample") }
                let cPrev = cfg.dims[s - 1]
                down = QuantizedDownsample(normEpsilon: eps,
                                           normWeight: try floats("stages.\(s).downsample.norm.weight", cPrev),
                                           normBias: try floats("stages.\(s).downsample.norm.bias", cPrev),
                                           conv: try linear("stages.\(s).downsample.conv", out: c, inputs: 4 * cPrev))
            }
            guard info.blocks.count == cfg.depths[s] else { throw fail("stage \(s) has \(info.blocks.count) blocks, expected \(cfg.depths[s])") }
            var blocks: [QuantizedBlock] = []
            for (b, bi) in info.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                guard let fc1Info = infos[p + ".fc1"], fc1Info.outFeatures > 0, fc1Info.outFeatures <= 1 << 20 else {
                    throw fail("layer \(p).fc1 is missing from the metadata")
                }
                let hidden = fc1Info.outFeatures
                blocks.append(QuantizedBlock(dwKernel: 7, dwWeights: try floats(p + ".conv_dw.weight", 49 * c),
                                             dwBias: try floats(p + ".conv_dw.bias", c), normEpsilon: bi.normEpsilon,
                                             normWeight: try floats(p + ".norm.weight", c), normBias: try floats(p + ".norm.bias", c),
                                             fc1: try linear(p + ".fc1", out: hidden, inputs: c),
                                             fc2: try linear(p + ".fc2", out: c, inputs: hidden), hasLayerScale: bi.hasLayerScale))
            }
            qStages.append(QuantizedStage(downsample: down, blocks: blocks))
        }
        stages = qStages
        let last = cfg.dims[cfg.dims.count - 1]
        let epsilons = [m.stemNormEpsilon, m.headNormEpsilon] + m.stages.flatMap { stage in
            (stage.downsampleEpsilon.map { [$0] } ?? []) + stage.blocks.map(\.normEpsilon)
        }
        guard epsilons.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw fail("a LayerNorm epsilon in the metadata is negative or not finite (\(epsilons.filter { !($0.isFinite && $0 >= 0) }))")
        }
        headNormEpsilon = m.headNormEpsilon
        headNormWeight = try floats("head.norm.weight", last)
        headNormBias = try floats("head.norm.bias", last)
        head = try linear("head.fc", out: cfg.numClasses, inputs: last)
        var nodes: [LayerID: [String]] = [:]
        for e in m.sourceNodes { nodes[e.layer] = e.nodes }
        sourceNodes = nodes
        calibration = m.calibration
    }
}
