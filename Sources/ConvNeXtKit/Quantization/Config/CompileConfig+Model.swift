import Foundation

/// A config checked against the loaded model: the deployed preprocessing, the per-layer precision
/// overrides from node_info and run_on_cpu, and warnings about names and variants.
public struct CompilePlan: Sendable {
    public var preprocessing: DeployedPreprocessing
    /// Per fused layer; layers not listed are left to the quantizer.
    public var layerOverrides: [LayerID: CompileConfig.Precision]
    /// Every node name that matched, with its layer and what it asked for.
    public var nodeAssignments: [NodeAssignment]
    /// node_info / run_on_cpu names that match no node of the recognised layers.
    public var unmatchedNodes: [String]
    public var warnings: [String]

    public struct NodeAssignment: Sendable, Equatable {
        public var node: String
        public var layer: LayerID
        public var precision: CompileConfig.Precision
        /// `node_info` or `run_on_cpu`.
        public var origin: String
    }

    /// Overrides keyed by layer name, for metadata and reports.
    public var layerOverrideNames: [String: String] {
        Dictionary(layerOverrides.map { ($0.key.description, $0.value.rawValue) }, uniquingKeysWith: { a, _ in a })
    }
}

extension CompileConfig {
    /// Checks input shape, channels and mean/scale against `model`, maps node names onto the
    /// model's layers (through `sourceNodes`) and warns about unmatched names and variant slips.
    public func resolve(against model: ConvNeXtModel) throws -> CompilePlan {
        func fail(_ key: String, _ message: String) -> ConvNeXtError {
            .invalidConfig(path: path, reason: "\(located(key)): \(message)")
        }
        var warnings: [String] = []
        let cfg = model.config
        let shapeText = cfg.inputShape.map(String.init).joined(separator: "x")

        // Input shape and channels.
        if let shape = input.inputShape, shape != cfg.inputShape {
            throw fail("input_parameters.input_shape", "\(shape.map(String.init).joined(separator: "x")) differs from the model's input \(shapeText)")
        }
        let trainChannels = input.inputTypeTrain.channels
        if input.inputTypeRT != .featuremap, trainChannels != cfg.inputChannels {
            throw fail("input_parameters.input_type_train", "\(input.inputTypeTrain.rawValue) has \(trainChannels) channels, the model takes \(cfg.inputChannels)")
        }
        if input.inputTypeRT == .nv12, cfg.inputHeight % 2 != 0 || cfg.inputWidth % 2 != 0 {
            throw fail("input_parameters.input_type_rt", "nv12 needs an even input height and width, the model takes \(shapeText)")
        }
        func perChannel(_ values: [Float]?, _ key: String, default value: Float) throws -> [Float] {
            guard let values else { return [Float](repeating: value, count: cfg.inputChannels) }
            if values.count == 1 { return [Float](repeating: values[0], count: cfg.inputChannels) }
            guard values.count == cfg.inputChannels else {
                throw fail("input_parameters.\(key)", "has \(values.count) values, the model input has \(cfg.inputChannels) channels")
            }
            return values
        }
        let preprocessing = DeployedPreprocessing(
            inputTypeRT: input.inputTypeRT, inputTypeTrain: input.inputTypeTrain, inputLayoutTrain: input.inputLayoutTrain,
            colourRange: input.colourRange, normType: input.normType,
            mean: try perChannel(input.meanValue, "mean_value", default: 0),
            scale: try perChannel(input.scaleValue, "scale_value", default: 1),
            inputHeight: cfg.inputHeight, inputWidth: cfg.inputWidth)

        // Node names -> layers.
        var layerOfNode: [String: LayerID] = [:]
        for (layer, nodes) in model.sourceNodes {
            for n in nodes { layerOfNode[n] = layer }
        }
        var overrides: [LayerID: Precision] = [:]
        var assignments: [CompilePlan.NodeAssignment] = []
        var unmatched: [String] = []
        let requests = self.model.nodeInfo.map { ($0.node, $0.requestedPrecision, "node_info") }
            + calibration.runOnCPU.map { ($0, Precision.float, "run_on_cpu") }
        for (node, precision, origin) in requests {
            guard let layer = layerOfNode[node] else {
                unmatched.append(node)
                continue
            }
            assignments.append(.init(node: node, layer: layer, precision: precision, origin: origin))
            overrides[layer] = max(overrides[layer] ?? precision, precision)
        }
        if !unmatched.isEmpty {
            let why = model.sourceNodes.isEmpty
                ? "the model carries no ONNX node names"
                : "they match no node of the recognised layers (node names look like /stages/stages.3/downsample/downsample.0/ReduceMean)"
            warnings.append("\(path): \(located("model_parameters.node_info")): \(unmatched.count) node name\(unmatched.count == 1 ? "" : "s") ignored, \(why): \(unmatched.joined(separator: ", "))")
        }

        warnings += variantWarnings(model: model)
        return CompilePlan(preprocessing: preprocessing, layerOverrides: overrides, nodeAssignments: assignments,
                           unmatchedNodes: unmatched, warnings: warnings)
    }

    /// The variant a file or folder name claims, written as timm and the zoo write it:
    /// `convnext_femto.onnx`, `ConvNeXt-atto_224x224` (a bare `tiny` or `small` claims nothing).
    public static func variantMentioned(in name: String) -> String? {
        let text = Array(name.lowercased().unicodeScalars)
        let marker = Array("convnext".unicodeScalars)
        var i = 0
        while i + marker.count <= text.count {
            if Array(text[i..<(i + marker.count)]) == marker {
                var j = i + marker.count
                if j < text.count, ["_", "-", ".", " "].contains(String(text[j])) { j += 1 }
                for spec in ConvNeXtSpec.all {
                    let v = Array(spec.name.unicodeScalars)
                    let end = j + v.count
                    if end <= text.count, Array(text[j..<end]) == v,
                       end == text.count || !CharacterSet.letters.contains(text[end]) {
                        return spec.name
                    }
                }
            }
            i += 1
        }
        return nil
    }

    /// Warnings when names in the config (model file, output prefix, working dir, the YAML's own
    /// name) say one variant and the model is another: the zoo's atto YAML names the femto file.
    func variantWarnings(model: ConvNeXtModel) -> [String] {
        let actual = model.config.variantName
        let description = actual == "custom"
            ? "a custom ConvNeXt (depths \(model.config.depths.map(String.init).joined(separator: ",")), dims \(model.config.dims.map(String.init).joined(separator: ",")))"
            : "ConvNeXt \(actual)"
        let names: [(String, String)] = [
            (self.model.modelOrigin, URL(fileURLWithPath: self.model.modelPath).lastPathComponent),
            (located("model_parameters.output_model_file_prefix"), self.model.outputPrefix),
            (located("model_parameters.working_dir"), URL(fileURLWithPath: self.model.workingDir).lastPathComponent),
            ("the config file name", URL(fileURLWithPath: path).lastPathComponent),
        ]
        var out: [String] = []
        for (origin, name) in names {
            if let said = Self.variantMentioned(in: name), said != actual {
                out.append("\(path): \(origin): '\(name)' says \(said) but the model is \(description); continuing with the model as recognised")
            }
        }
        return out
    }
}
