import Foundation

/// What the compile pipeline asks of the quantizer.
public struct QuantizationRequest: Sendable {
    /// `calibration_type` (never `load`: refused before the quantizer is called).
    public var calibrationType: CompileConfig.CalibrationType
    /// `max_percentile`, when given (with `max`).
    public var maxPercentile: Double?
    /// `per_channel` (activations per channel; weights are always per output channel).
    public var perChannel: Bool
    /// Per-layer precision from node_info (InputType/OutputType int16 -> int16, ON: CPU -> float)
    /// and run_on_cpu (float). Layers not listed are the quantizer's choice.
    public var layerOverrides: [LayerID: CompileConfig.Precision]
    /// `optimization: set_model_output_int8|int16`.
    public var modelOutputPrecision: CompileConfig.Precision?
    /// `layer_out_dump`: return every layer's float and quantized output for the first sample.
    public var dumpLayerOutputs: Bool
    /// How the deployed model is fed (the quantizer may fold the normalisation into the stem).
    public var preprocessing: DeployedPreprocessing

    public init(calibrationType: CompileConfig.CalibrationType, maxPercentile: Double? = nil, perChannel: Bool = false,
                layerOverrides: [LayerID: CompileConfig.Precision] = [:], modelOutputPrecision: CompileConfig.Precision? = nil,
                dumpLayerOutputs: Bool = false, preprocessing: DeployedPreprocessing) {
        self.calibrationType = calibrationType
        self.maxPercentile = maxPercentile
        self.perChannel = perChannel
        self.layerOverrides = layerOverrides
        self.modelOutputPrecision = modelOutputPrecision
        self.dumpLayerOutputs = dumpLayerOutputs
        self.preprocessing = preprocessing
    }
}

/// What the quantizer returns: the deployable arrays and metadata, and its report.
public struct QuantizationOutcome: Sendable {
    /// `QuantizedModel.serialize()`'s arrays.
    public var arrays: [NamedArray]
    /// `QuantizedModel.serialize()`'s metadata, as JSON.
    public var metadata: JSONValue
    /// Per-layer table (layer, ONNX nodes, precision, cosine, threshold) and the output cosine.
    public var reportText: String
    public var reportJSON: JSONValue
    /// For `default`: which method won (`max`, `max-percentile`, `kl`); else the method used.
    public var calibrationMethodUsed: String?
    /// Filled when `dumpLayerOutputs` was asked: one entry per layer, in forward order.
    public var layerDumps: [LayerOutputDump]

    public init(arrays: [NamedArray], metadata: JSONValue, reportText: String, reportJSON: JSONValue,
                calibrationMethodUsed: String?, layerDumps: [LayerOutputDump] = []) {
        self.arrays = arrays
        self.metadata = metadata
        self.reportText = reportText
        self.reportJSON = reportJSON
        self.calibrationMethodUsed = calibrationMethodUsed
        self.layerDumps = layerDumps
    }
}

/// One layer's float and quantized output, written as `.f32` files by `layer_out_dump`.
public struct LayerOutputDump: Sendable {
    public var layer: LayerID
    public var float: Tensor
    public var quantized: Tensor
    public init(layer: LayerID, float: Tensor, quantized: Tensor) {
        self.layer = layer
        self.float = float
        self.quantized = quantized
    }
}

/// Quantizes a float model from calibration data. The pipeline calls it exactly once.
public protocol ModelQuantizing: Sendable {
    func quantize(model: ConvNeXtModel, calibration: [Tensor], request: QuantizationRequest,
                  progress: @escaping @Sendable (String) -> Void) throws -> QuantizationOutcome
}

/// Stands in until the int8 quantizer is connected: refuses with a clear error, so a compile
/// validates its config and data and then writes nothing.
public struct UnavailableQuantizer: ModelQuantizing {
    public init() {}
    public func quantize(model: ConvNeXtModel, calibration: [Tensor], request: QuantizationRequest,
                         progress: @escaping @Sendable (String) -> Void) throws -> QuantizationOutcome {
        throw ConvNeXtError.usage("the int8 quantizer is not part of this build; the config and calibration data are valid (nothing was written)")
    }
}

/// What a compile wrote.
public struct CompileResult: Sendable {
    public var modelPath: String
    public var reportTextPath: String
    public var reportJSONPath: String
    public var layerDumpDirectory: String?
    public var plan: CompilePlan
    public var calibrationCount: Int
    /// The full report (header + the quantizer's table), as written.
    public var reportText: String
    /// Config warnings and data warnings, in the order found.
    public var warnings: [String]
}

/// `convnext compile`: config -> model -> calibration data -> quantizer -> deployable file + report.
/// Nothing is written until the quantizer has succeeded; every file is written atomically and the
/// model file last, so a failed compile leaves no model file.
public enum CompilePipeline {
    public static func run(config: CompileConfig, quantizer: ModelQuantizing,
                           imageLoader: CalibrationData.ImageLoader? = nil,
                           imageOptions: (PreprocessOptions) throws -> PreprocessOptions = { $0 },
                           log: @escaping @Sendable (String) -> Void) throws -> CompileResult {
        if config.calibration.calibrationType == .load {
            throw ConvNeXtError.invalidConfig(path: config.path, reason: "\(config.located("calibration_parameters.calibration_type")): 'load' takes scales from a quantization-aware-trained model, which this tool does not read; use default, max, kl or mix")
        }
        var warnings = config.warnings
        log("loading model \(config.model.modelPath)")
        let model = try ModelLoader.load(path: config.model.modelPath)
        let plan = try config.resolve(against: model)
        warnings += plan.warnings
        for w in plan.warnings { log("warning: \(w)") }

        let source = try CalibrationSource.detect(config)
        let calibration = try CalibrationData.load(
            source, inputShape: model.config.inputShape, preprocessing: plan.preprocessing,
            imageLoader: try imageLoader ?? CalibrationData.imageLoader(options: imageOptions(PreprocessOptions(model: model))),
            progress: { done, total in
                if done == total || done % 10 == 0 { log("calibration data: \(done)/\(total)") }
            })
        warnings += calibration.warnings
        for w in calibration.warnings { log("warning: \(w)") }

        let request = QuantizationRequest(
            calibrationType: config.calibration.calibrationType, maxPercentile: config.calibration.maxPercentile,
            perChannel: config.calibration.perChannel, layerOverrides: plan.layerOverrides,
            modelOutputPrecision: config.calibration.modelOutputPrecision, dumpLayerOutputs: config.model.layerOutDump,
            preprocessing: plan.preprocessing)
        // The one call into the quantizer.
        let outcome = try quantizer.quantize(model: model, calibration: calibration.tensors, request: request, progress: log)

        let sourceRecord = try DeploymentMetadata.SourceRecord.describing(model.source)
        let record = DeploymentMetadata.CompileRecord(
            configPath: config.path, configYAML: config.yamlText, calibrationType: config.calibration.calibrationType.rawValue,
            calibrationMethodUsed: outcome.calibrationMethodUsed, calibrationDataDir: config.calibration.dataDir,
            calibrationDataType: calibration.kind, calibrationDataCount: calibration.tensors.count,
            layerOverrides: plan.layerOverrideNames)
        let deployable = DeployableModel(quantizedArrays: outcome.arrays, quantization: outcome.metadata, floatModel: model,
                                         preprocessing: plan.preprocessing, source: sourceRecord,
                                         createdBy: "\(DeploymentMetadata.toolVersion) (convnext compile)", compile: record)
        // Encode before creating anything on disk: an encoding failure writes nothing.
        let modelBytes = try deployable.encoded()
        let header = reportHeader(config: config, model: model, source: sourceRecord, plan: plan, calibration: calibration,
                                  outcome: outcome, warnings: warnings)
        let reportText = header + "\n" + outcome.reportText + (outcome.reportText.hasSuffix("\n") ? "" : "\n")
        let reportJSON = JSONValue.object([
            "compile": .object([
                "config": .string(config.path),
                "model": .string(config.model.modelPath),
                "model_sha256": sourceRecord.sha256.map(JSONValue.string) ?? .null,
                "variant": .string(model.config.variantName),
                "calibration_type": .string(config.calibration.calibrationType.rawValue),
                "calibration_method_used": outcome.calibrationMethodUsed.map(JSONValue.string) ?? .null,
                "calibration_data_count": .number(Double(calibration.tensors.count)),
                "layer_overrides": .object(plan.layerOverrideNames.mapValues(JSONValue.string)),
                "unmatched_nodes": .array(plan.unmatchedNodes.map(JSONValue.string)),
                "warnings": .array(warnings.map(JSONValue.string)),
                "output": .string(config.outputModelPath),
            ]),
            "quantization": outcome.reportJSON,
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let reportJSONData = try encoder.encode(reportJSON)

        // All outputs are written together: temporary files first, renamed only when every one of them
        // succeeded, so a failing compile (full disk, bad path) writes nothing. Folders this compile
        // created are removed again on failure.
        var createdFolders: [String] = []
        var outputs: [(path: String, data: Data)] = []
        var dumpDirectory: String?
        do {
            try createDirectory(config.model.workingDir, origin: config.located("model_parameters.working_dir"),
                                configPath: config.path, created: &createdFolders)
            if config.model.layerOutDump, !outcome.layerDumps.isEmpty {
                let dir = config.layerDumpDirectory
                try createDirectory(dir, origin: "layer_out_dump", configPath: config.path, created: &createdFolders)
                for (i, dump) in outcome.layerDumps.enumerated() {
                    let stem = String(format: "%03d_", i) + dump.layer.description
                    outputs.append(("\(dir)/\(stem)_float.f32", littleEndianBytes(dump.float.data)))
                    outputs.append(("\(dir)/\(stem)_quantized.f32", littleEndianBytes(dump.quantized.data)))
                }
                dumpDirectory = dir
            }
            outputs.append((config.reportTextPath, Data(reportText.utf8)))
            outputs.append((config.reportJSONPath, reportJSONData))
            outputs.append((config.outputModelPath, modelBytes))
            try FileIO.writeAllAtomically(outputs)
        } catch {
            for folder in createdFolders.reversed() { rmdir(folder) }
            throw error
        }
        return CompileResult(modelPath: config.outputModelPath, reportTextPath: config.reportTextPath,
                             reportJSONPath: config.reportJSONPath, layerDumpDirectory: dumpDirectory, plan: plan,
                             calibrationCount: calibration.tensors.count, reportText: reportText, warnings: warnings)
    }

    /// Creates `dir` and any missing parents, appending each folder it created to `created`.
    private static func createDirectory(_ dir: String, origin: String, configPath: String, created: inout [String]) throws {
        var missing: [String] = []
        var current = dir
        while current.count > 1, current.hasSuffix("/") { current.removeLast() }
        var isDir: ObjCBool = false
        while !current.isEmpty, current != "/", current != ".", !FileManager.default.fileExists(atPath: current, isDirectory: &isDir) {
            missing.append(current)
            current = FileIO.folderPart(of: current)
        }
        for folder in missing.reversed() {
            if mkdir(folder, 0o777) != 0, errno != EEXIST {
                throw ConvNeXtError.invalidConfig(path: configPath, reason: "\(origin): cannot create folder \(folder): \(FileIO.describeErrno(errno))")
            }
            created.append(folder)
        }
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
            throw ConvNeXtError.invalidConfig(path: configPath, reason: "\(origin): \(dir) is a file, expected a folder")
        }
    }

    /// The report's first part: what was compiled, from what, with which settings.
    static func reportHeader(config: CompileConfig, model: ConvNeXtModel, source: DeploymentMetadata.SourceRecord,
                             plan: CompilePlan, calibration: CalibrationSet, outcome: QuantizationOutcome,
                             warnings: [String]) -> String {
        let p = plan.preprocessing
        func list(_ v: [Float]) -> String { v.map { String($0) }.joined(separator: " ") }
        var lines: [String] = []
        lines.append("convnext compile \(config.path)")
        lines.append("model:        \(source.path) (\(model.config.variantName), \(source.format)\(source.opset.map { " opset \($0)" } ?? ""))")
        if let sha = source.sha256 { lines.append("model sha256: \(sha)") }
        var input = "input:        \(p.inputTypeRT.rawValue)"
        if p.inputTypeRT != .featuremap { input += " (model trained on \(p.inputTypeTrain.rawValue))" }
        input += ", \(model.config.inputShape.map(String.init).joined(separator: "x")), \(p.normType.rawValue)"
        if p.normType.usesMean { input += ", mean \(list(p.mean))" }
        if p.normType.usesScale { input += ", scale \(list(p.scale))" }
        if p.inputTypeRT == .nv12 || p.inputTypeRT == .yuv444 { input += ", range \(p.colourRange.rawValue)" }
        lines.append(input)
        var cal = "calibration:  \(calibration.tensors.count) \(calibration.kind) samples"
        if let dir = config.calibration.dataDir, calibration.kind != "random" { cal += " from \(dir)" }
        cal += ", calibration_type \(config.calibration.calibrationType.rawValue)"
        if let used = outcome.calibrationMethodUsed, used != config.calibration.calibrationType.rawValue { cal += " (chosen: \(used))" }
        lines.append(cal)
        if plan.nodeAssignments.isEmpty {
            lines.append("overrides:    none")
        } else {
            lines.append("overrides:    \(plan.nodeAssignments.count) node names -> \(plan.layerOverrides.count) layers")
            let order = LayerCatalog.layers(of: model.config)
            for layer in order where plan.layerOverrides[layer] != nil {
                let nodes = plan.nodeAssignments.filter { $0.layer == layer }.map(\.node)
                lines.append("  \(layer): \(plan.layerOverrides[layer]?.rawValue ?? "") (\(nodes.joined(separator: ", ")))")
            }
        }
        if !plan.unmatchedNodes.isEmpty { lines.append("unmatched:    \(plan.unmatchedNodes.joined(separator: ", "))") }
        var ignored = config.compiler.values.map { "\($0.key)=\($0.value)" }
        if let march = config.model.march { ignored.insert("march=\(march)", at: 0) }
        if !ignored.isEmpty { lines.append("no effect on a CPU: \(ignored.joined(separator: ", "))") }
        lines.append("output:       \(config.outputModelPath)")
        if !warnings.isEmpty {
            lines.append("warnings:")
            lines += warnings.map { "  \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
