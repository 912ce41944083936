import Foundation
import Yams

extension CompileConfig {
    /// Parses YAML text; `path` locates relative paths and names the file in messages.
    /// Checks keys, types and values, not files (see `checkFiles()`).
    public static func parse(yaml: String, path: String, overrides: Overrides = Overrides()) throws -> CompileConfig {
        var reader = YAMLConfigReader(path: path)
        // The YAML composer recurses once per nesting level: bound the depth before it runs.
        if let line = nestingLimitExceeded(yaml, limit: maxNestingDepth) {
            throw ConvNeXtError.invalidConfig(path: path, reason: "line \(line): nesting deeper than \(maxNestingDepth) levels; a config needs a handful")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw reader.syntaxError(error)
        }
        guard let root else { throw ConvNeXtError.invalidConfig(path: path, reason: "the file is empty; expected model_parameters, input_parameters, calibration_parameters") }
        let top = try reader.entries(root, section: "the file")
        var sections: [String: YAMLEntry] = [:]
        for entry in top {
            switch entry.key {
            case "model_parameters", "input_parameters", "calibration_parameters", "compiler_parameters":
                sections[entry.key] = entry
            case "custom_op":
                reader.warn(entry.keyLine, entry.key, "custom operators are not supported; ignored")
            default:
                reader.warn(entry.keyLine, entry.key, "unknown section, ignored")
            }
        }
        let baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let model = try reader.modelParameters(sections["model_parameters"], base: baseDirectory, overrides: overrides)
        let input = try reader.inputParameters(sections["input_parameters"])
        let calibration = try reader.calibrationParameters(sections["calibration_parameters"], base: baseDirectory, overrides: overrides)
        let compiler = try reader.compilerParameters(sections["compiler_parameters"])
        return CompileConfig(path: path, yamlText: yaml, model: model, input: input, calibration: calibration,
                             compiler: compiler, warnings: reader.warnings, keyLines: reader.lines)
    }

    /// Checks the files the config names: the model exists, and the calibration folder exists
    /// and holds at least one file (not needed with `calibration_type: skip`).
    public func checkFiles() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: model.modelPath, isDirectory: &isDir) else {
            throw ConvNeXtError.invalidConfig(path: path, reason: "\(model.modelOrigin): model file \(model.modelPath) does not exist")
        }
        guard !isDir.boolValue else {
            throw ConvNeXtError.invalidConfig(path: path, reason: "\(model.modelOrigin): \(model.modelPath) is a folder, expected a model file")
        }
        if calibration.calibrationType == .skip { return }
        guard let dir = calibration.dataDir else {
            throw ConvNeXtError.invalidConfig(path: path, reason: "calibration_parameters.cal_data_dir is missing (needed unless calibration_type is skip)")
        }
        guard fm.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw ConvNeXtError.invalidConfig(path: path, reason: "\(calibration.dataDirOrigin): calibration folder \(dir) does not exist")
        }
        guard isDir.boolValue else {
            throw ConvNeXtError.invalidConfig(path: path, reason: "\(calibration.dataDirOrigin): \(dir) is a file, expected a folder of calibration data")
        }
        if try CalibrationData.listFiles(directory: dir).isEmpty {
            throw ConvNeXtError.invalidConfig(path: path, reason: "\(calibration.dataDirOrigin): calibration folder \(dir) holds no files")
        }
    }
}

/// One `key: value` pair of a YAML mapping, with the key's line.
struct YAMLEntry {
    let key: String
    let keyLine: Int?
    let value: Node
    /// Line of the value, else of the key.
    var line: Int? { value.mark?.line ?? keyLine }
}

/// Reads the hb_mapper sections from Yams nodes, collecting warnings; errors name key and line.
struct YAMLConfigReader {
    let path: String
    var warnings: [String] = []
    /// Line of every key read, by full dotted name (`input_parameters.input_shape`).
    var lines: [String: Int] = [:]

    init(path: String) { self.path = path }

    // MARK: Messages

    private func prefix(_ line: Int?, _ key: String) -> String { (line.map { "line \($0): " } ?? "") + key }

    func error(_ line: Int?, _ key: String, _ message: String) -> ConvNeXtError {
        .invalidConfig(path: path, reason: "\(prefix(line, key)): \(message)")
    }

    mutating func warn(_ line: Int?, _ key: String, _ message: String) {
        warnings.append("\(path): \(prefix(line, key)): \(message)")
    }

    func syntaxError(_ error: YamlError) -> ConvNeXtError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return .invalidConfig(path: path, reason: "line \(mark.line) column \(mark.column): YAML syntax error: \(problem)")
        case .reader(let problem, _, _, _):
            return .invalidConfig(path: path, reason: "YAML cannot be read: \(problem)")
        default:
            return .invalidConfig(path: path, reason: "YAML error: \(error)")
        }
    }

    // MARK: Node access

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// The pairs of a mapping (null counts as empty); duplicate keys are an error.
    mutating func entries(_ node: Node, section: String) throws -> [YAMLEntry] {
        if Self.isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            throw error(node.mark?.line, section, "expected a mapping of keys, found \(Self.describe(node))")
        }
        var seen = Set<String>()
        var out: [YAMLEntry] = []
        for (k, v) in mapping {
            guard case .scalar(let keyScalar) = k else { throw error(k.mark?.line, section, "keys must be names, found \(Self.describe(k))") }
            let name = keyScalar.string
            let full = section == "the file" ? name : "\(section).\(name)"
            guard seen.insert(name).inserted else { throw error(k.mark?.line, full, "key appears twice") }
            if let line = k.mark?.line { lines[full] = line }
            out.append(YAMLEntry(key: name, keyLine: k.mark?.line, value: v))
        }
        return out
    }

    func scalarText(_ e: YAMLEntry, _ key: String) throws -> String? {
        if Self.isNull(e.value) { return nil }
        guard case .scalar(let s) = e.value else { throw error(e.line, key, "expected a single value, found \(Self.describe(e.value))") }
        return s.string
    }

    func string(_ e: YAMLEntry, _ key: String) throws -> String? {
        try scalarText(e, key).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func bool(_ e: YAMLEntry, _ key: String) throws -> Bool? {
        guard let text = try string(e, key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(e.line, key, "expected True or False, found '\(text)'")
        }
    }

    func number(_ e: YAMLEntry, _ key: String) throws -> Double? {
        guard let text = try string(e, key) else { return nil }
        guard let v = Double(text), v.isFinite else { throw error(e.line, key, "expected a number, found '\(text)'") }
        return v
    }

    func integer(_ e: YAMLEntry, _ key: String) throws -> Int? {
        guard let text = try string(e, key) else { return nil }
        guard let v = Int(text) else { throw error(e.line, key, "expected a whole number, found '\(text)'") }
        return v
    }

    /// One of `T`'s raw values, case-insensitively.
    func choice<T: RawRepresentable & CaseIterable>(_ e: YAMLEntry, _ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = try string(e, key), !text.isEmpty else { return nil }
        if text.contains(";") { throw error(e.line, key, "'\(text)' lists several inputs; this tool compiles single-input models") }
        if let match = T.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return match }
        throw error(e.line, key, "'\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// Numbers written as `1 2 3`, `1,2,3`, a list `[1, 2, 3]` or one number.
    func numbers(_ e: YAMLEntry, _ key: String) throws -> [Double]? {
        var texts: [String] = []
        switch e.value {
        case .sequence(let seq):
            for item in seq {
                guard case .scalar(let s) = item else { throw error(item.mark?.line ?? e.line, key, "expected numbers, found \(Self.describe(item))") }
                texts.append(s.string)
            }
        case .scalar:
            guard let text = try string(e, key), !text.isEmpty else { return nil }
            if text.contains(";") { throw error(e.line, key, "'\(text)' lists several inputs; this tool compiles single-input models") }
            texts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
        case .mapping:
            throw error(e.line, key, "expected numbers, found a mapping")
        }
        return try texts.map { t in
            guard let v = Double(t.trimmingCharacters(in: .whitespaces)), v.isFinite else { throw error(e.line, key, "'\(t)' is not a number") }
            return v
        }
    }

    /// Names written as `a;b`, `a,b` or a list.
    func names(_ e: YAMLEntry, _ key: String) throws -> [String] {
        switch e.value {
        case .sequence(let seq):
            return try seq.map { item in
                guard case .scalar(let s) = item else { throw error(item.mark?.line ?? e.line, key, "expected names, found \(Self.describe(item))") }
                return s.string.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
        case .scalar:
            guard let text = try string(e, key) else { return [] }
            return text.split(whereSeparator: { $0 == ";" || $0 == "," }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .mapping:
            throw error(e.line, key, "expected names, found a mapping")
        }
    }

    static func resolve(_ path: String, base: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL.path }
        return URL(fileURLWithPath: base).appendingPathComponent(expanded).standardizedFileURL.path
    }

    static func resolveFromCurrentDirectory(_ path: String) -> String {
        resolve(path, base: FileManager.default.currentDirectoryPath)
    }

    // MARK: model_parameters

    mutating func modelParameters(_ section: YAMLEntry?, base: String, overrides: CompileConfig.Overrides) throws -> CompileConfig.ModelParameters {
        let s = "model_parameters"
        var modelPath: String?
        var modelOrigin = "\(s).onnx_model"
        var caffeLine: Int?
        var march: String?
        var workingDir = "model_output"
        var outputPrefix = "model"
        var prefixOrigin = "\(s).output_model_file_prefix"
        var prefixLine: Int?
        var dump = false
        var nodeInfo: [CompileConfig.NodeInfo] = []
        for e in try section.map({ try entries($0.value, section: s) }) ?? [] {
            let key = "\(s).\(e.key)"
            switch e.key {
            case "onnx_model":
                if let p = try string(e, key), !p.isEmpty {
                    modelPath = Self.resolve(p, base: base)
                    modelOrigin = prefix(e.line, key)
                }
            case "caffe_model", "prototxt":
                caffeLine = caffeLine ?? e.keyLine
            case "march":
                march = try string(e, key)
            case "working_dir":
                if let d = try string(e, key), !d.isEmpty { workingDir = d }
            case "output_model_file_prefix":
                if let p = try string(e, key), !p.isEmpty {
                    outputPrefix = p
                    prefixLine = e.line
                }
            case "layer_out_dump":
                dump = try bool(e, key) ?? false
            case "node_info":
                nodeInfo = try self.nodeInfo(e, key)
            case "log_level":
                break
            case "output_nodes", "remove_node_type", "remove_node_name", "set_node_data_type", "debug_mode":
                warn(e.keyLine, key, "not supported here, ignored (the deployed model always takes the model input and returns float logits)")
            default:
                warn(e.keyLine, key, "unknown key, ignored")
            }
        }
        if let m = overrides.model {
            modelPath = Self.resolveFromCurrentDirectory(m)
            modelOrigin = "--model"
        }
        guard let modelPath else {
            if caffeLine != nil { throw error(caffeLine, "\(s).caffe_model", "Caffe models are not supported; give onnx_model") }
            throw error(section?.keyLine, "\(s).onnx_model", "is missing: the model to compile (or pass --model)")
        }
        if caffeLine != nil { warn(caffeLine, "\(s).caffe_model", "ignored: onnx_model is used") }
        let resolvedWorkingDir = overrides.workingDir.map(Self.resolveFromCurrentDirectory) ?? Self.resolve(workingDir, base: base)
        if let p = overrides.outputPrefix {
            outputPrefix = p
            prefixOrigin = "--output-prefix"
            prefixLine = nil
        }
        guard !outputPrefix.contains("/"), outputPrefix != ".", outputPrefix != ".." else {
            throw error(prefixLine, prefixOrigin, "'\(outputPrefix)' must be a file name prefix, not a path (working_dir sets the folder)")
        }
        return .init(modelPath: modelPath, modelOrigin: modelOrigin, march: march, workingDir: resolvedWorkingDir,
                     outputPrefix: outputPrefix, layerOutDump: dump, nodeInfo: nodeInfo)
    }

    mutating func nodeInfo(_ e: YAMLEntry, _ key: String) throws -> [CompileConfig.NodeInfo] {
        var result: [CompileConfig.NodeInfo] = []
        for item in try entries(e.value, section: key) {
            let itemKey = "\(key)['\(item.key)']"
            var info = CompileConfig.NodeInfo(node: item.key, line: item.keyLine)
            if case .scalar = item.value, let text = try string(item, itemKey) {
                // Shorthand: a precision or a unit for the whole node.
                if let t = CompileConfig.NodeDataType.allCases.first(where: { $0.rawValue == text.lowercased() }) {
                    info.inputType = t
                    info.outputType = t
                } else if let u = CompileConfig.ExecutionUnit.allCases.first(where: { $0.rawValue == text.uppercased() }) {
                    info.runOn = u
                } else {
                    throw error(item.line, itemKey, "'\(text)' is not int8, int16, BPU or CPU; expected {'ON': 'BPU', 'InputType': 'int16', 'OutputType': 'int16'}")
                }
                result.append(info)
                continue
            }
            for field in try entries(item.value, section: itemKey) {
                let fieldKey = "\(itemKey).\(field.key)"
                switch field.key {
                case "ON":
                    info.runOn = try choice(field, fieldKey, CompileConfig.ExecutionUnit.self)
                case "InputType":
                    info.inputType = try choice(field, fieldKey, CompileConfig.NodeDataType.self)
                case "OutputType":
                    info.outputType = try choice(field, fieldKey, CompileConfig.NodeDataType.self)
                default:
                    if field.key.hasPrefix("InputType"), let index = Int(field.key.dropFirst("InputType".count)), (0...15).contains(index) {
                        info.inputTypeByIndex[index] = try choice(field, fieldKey, CompileConfig.NodeDataType.self)
                    } else {
                        warn(field.keyLine, fieldKey, "unknown node_info field, ignored (known: ON, InputType, OutputType, InputType0, InputType1, ...)")
                    }
                }
            }
            result.append(info)
        }
        return result
    }

    // MARK: input_parameters

    mutating func inputParameters(_ section: YAMLEntry?) throws -> CompileConfig.InputParameters {
        let s = "input_parameters"
        typealias P = DeployedPreprocessing
        var name: String?
        var rt: (P.InputType, Int?)?
        var train: (P.InputType, Int?)?
        var layout = P.Layout.nchw
        var shape: [Int]?
        var range = P.ColourRange.regular
        var rangeLine: Int?
        var norm = P.NormType.noPreprocess
        var normLine: Int?
        var mean: ([Float], Int?)?
        var scale: ([Float], Int?)?
        for e in try section.map({ try entries($0.value, section: s) }) ?? [] {
            let key = "\(s).\(e.key)"
            switch e.key {
            case "input_name":
                name = try string(e, key)
                if let n = name, n.split(separator: ";").count > 1 {
                    throw error(e.line, key, "'\(n)' names several inputs; this tool compiles single-input models")
                }
            case "input_type_rt":
                if let v = try choice(e, key, P.InputType.self) { rt = (v, e.line) }
            case "input_type_train":
                if let v = try choice(e, key, P.InputType.self) { train = (v, e.line) }
            case "input_layout_train":
                if let v = try choice(e, key, P.Layout.self) {
                    guard v == .nchw else { throw error(e.line, key, "NHWC is not supported: the ConvNeXt models take NCHW input") }
                    layout = v
                }
            case "input_layout_rt":
                _ = try choice(e, key, P.Layout.self)
            case "input_shape":
                shape = try inputShape(e, key)
            case "input_batch":
                if let b = try integer(e, key), b != 1 { warn(e.line, key, "batch \(b) ignored: the deployed model runs one image per call (batch by calling it concurrently)") }
            case "input_space_and_range":
                if let v = try choice(e, key, P.ColourRange.self) {
                    range = v
                    rangeLine = e.line
                }
            case "norm_type":
                if let v = try choice(e, key, P.NormType.self) {
                    norm = v
                    normLine = e.line
                }
            case "mean_value":
                if let v = try numbers(e, key) { mean = (v.map(Float.init), e.line) }
            case "scale_value":
                if let v = try numbers(e, key) {
                    guard v.allSatisfy({ $0 != 0 }) else { throw error(e.line, key, "a scale of 0 would erase the input") }
                    scale = (v.map(Float.init), e.line)
                }
            default:
                warn(e.keyLine, key, "unknown key, ignored")
            }
        }
        let rtType = rt?.0 ?? .featuremap
        let trainType = train?.0 ?? (rtType == .featuremap ? .featuremap : (rtType == .gray ? .gray : .rgb))
        if trainType == .nv12 {
            throw error(train?.1, "\(s).input_type_train", "a float model is not trained on nv12; use rgb or bgr (the deployed model converts NV12)")
        }
        if rtType != .featuremap, trainType == .featuremap {
            throw error(train?.1, "\(s).input_type_train", "featuremap cannot be fed from input_type_rt \(rtType.rawValue) images")
        }
        if (rtType == .gray) != (trainType == .gray), rtType != .featuremap {
            throw error(rt?.1, "\(s).input_type_rt", "\(rtType.rawValue) input cannot feed a model trained on \(trainType.rawValue)")
        }
        if rtType == .featuremap, trainType != .featuremap {
            warn(rt?.1, "\(s).input_type_rt", "featuremap input is fed to the model as is; input_type_train \(trainType.rawValue) has no effect")
        }
        if range == .bt601Video, rtType != .nv12, rtType != .yuv444 {
            warn(rangeLine, "\(s).input_space_and_range", "only affects nv12 and yuv444 input; ignored for \(rtType.rawValue)")
        }
        for (values, line, uses, key) in [(mean, normLine, norm.usesMean, "mean_value"), (scale, normLine, norm.usesScale, "scale_value")] {
            if uses, values == nil {
                throw error(line, "\(s).\(key)", "is missing: norm_type \(norm.rawValue) needs it")
            }
            if !uses, let v = values {
                warn(v.1, "\(s).\(key)", "ignored: norm_type \(norm.rawValue) does not use it")
            }
            if let v = values, v.0.count != 1, v.0.count != 3 {
                throw error(v.1, "\(s).\(key)", "has \(v.0.count) values; give 1 or one per channel (3)")
            }
        }
        return .init(inputName: name, inputTypeRT: rtType, inputTypeTrain: trainType, inputLayoutTrain: layout, inputShape: shape,
                     colourRange: range, normType: norm, meanValue: mean?.0, scaleValue: scale?.0)
    }

    func inputShape(_ e: YAMLEntry, _ key: String) throws -> [Int]? {
        var dims: [String] = []
        switch e.value {
        case .sequence(let seq):
            dims = try seq.map { item in
                guard case .scalar(let v) = item else { throw error(e.line, key, "expected dimensions, found \(Self.describe(item))") }
                return v.string
            }
        case .scalar:
            guard let text = try string(e, key), !text.isEmpty else { return nil }
            if text.contains(";") { throw error(e.line, key, "'\(text)' lists several inputs; this tool compiles single-input models") }
            dims = text.lowercased().split(separator: "x").map { $0.trimmingCharacters(in: .whitespaces) }
        case .mapping:
            throw error(e.line, key, "expected a shape like 1x3x224x224, found a mapping")
        }
        let written = dims.joined(separator: "x")
        guard dims.count == 4, let values = Optional(dims.compactMap { Int($0) }), values.count == 4, values.allSatisfy({ $0 > 0 && $0 <= 16384 }) else {
            throw error(e.line, key, "'\(written)' is not an NCHW shape like 1x3x224x224")
        }
        guard values[0] == 1 else { throw error(e.line, key, "batch \(values[0]): the deployed model runs batch 1") }
        return values
    }

    // MARK: calibration_parameters

    mutating func calibrationParameters(_ section: YAMLEntry?, base: String, overrides: CompileConfig.Overrides) throws -> CompileConfig.CalibrationParameters {
        let s = "calibration_parameters"
        var dir: String?
        var dirOrigin = "\(s).cal_data_dir"
        var dataType = CompileConfig.CalibrationDataType.float32
        var type = CompileConfig.CalibrationType.default
        var percentile: (Double, Int?)?
        var perChannel = false
        var runOnCPU: [String] = []
        var outputPrecision: CompileConfig.Precision?
        for e in try section.map({ try entries($0.value, section: s) }) ?? [] {
            let key = "\(s).\(e.key)"
            switch e.key {
            case "cal_data_dir":
                if let d = try string(e, key), !d.isEmpty {
                    if d.contains(";") { throw error(e.line, key, "'\(d)' lists several inputs; this tool compiles single-input models") }
                    dir = Self.resolve(d, base: base)
                    dirOrigin = prefix(e.line, key)
                }
            case "cal_data_type":
                dataType = try choice(e, key, CompileConfig.CalibrationDataType.self) ?? dataType
            case "calibration_type":
                type = try choice(e, key, CompileConfig.CalibrationType.self) ?? type
            case "max_percentile":
                if let p = try number(e, key) {
                    guard p > 0, p <= 1 else { throw error(e.line, key, "\(p) is not a fraction in (0, 1], e.g. 0.99995") }
                    percentile = (p, e.line)
                }
            case "per_channel":
                perChannel = try bool(e, key) ?? false
            case "run_on_cpu":
                runOnCPU = try names(e, key)
            case "optimization":
                for value in try names(e, key) {
                    switch value.lowercased() {
                    case "set_model_output_int8": outputPrecision = .int8
                    case "set_model_output_int16": outputPrecision = .int16
                    default: warn(e.line, key, "'\(value)' is not supported here, ignored (supported: set_model_output_int8, set_model_output_int16)")
                    }
                }
            case "preprocess_on":
                if try bool(e, key) == true { warn(e.line, key, "ignored: image calibration data is preprocessed as the model's input") }
            case "run_on_bpu":
                if !(try names(e, key)).isEmpty { warn(e.line, key, "ignored: every layer is quantized unless node_info or run_on_cpu keeps it in float") }
            default:
                warn(e.keyLine, key, "unknown key, ignored")
            }
        }
        if let t = overrides.calibrationType {
            guard let v = CompileConfig.CalibrationType.allCases.first(where: { $0.rawValue == t.lowercased() }) else {
                throw ConvNeXtError.invalidConfig(path: path, reason: "--calibration-type: '\(t)' is not one of \(CompileConfig.CalibrationType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            type = v
        }
        if let d = overrides.calDataDir {
            dir = Self.resolveFromCurrentDirectory(d)
            dirOrigin = "--cal-data-dir"
        }
        if let p = percentile, type != .max, type != .default {
            warn(p.1, "\(s).max_percentile", "used with calibration_type max only; ignored for \(type.rawValue)")
        }
        return .init(dataDir: dir, dataDirOrigin: dirOrigin, dataType: dataType, calibrationType: type,
                     maxPercentile: percentile?.0, perChannel: perChannel, runOnCPU: runOnCPU, modelOutputPrecision: outputPrecision)
    }

    // MARK: compiler_parameters

    mutating func compilerParameters(_ section: YAMLEntry?) throws -> CompileConfig.CompilerParameters {
        let s = "compiler_parameters"
        var values: [(key: String, value: String)] = []
        for e in try section.map({ try entries($0.value, section: s) }) ?? [] {
            let key = "\(s).\(e.key)"
            switch e.key {
            case "compile_mode":
                guard let v = try string(e, key) else { continue }
                guard ["latency", "bandwidth", "balance"].contains(v.lowercased()) else { throw error(e.line, key, "'\(v)' is not one of latency, bandwidth, balance") }
                values.append((e.key, v))
            case "optimize_level":
                guard let v = try string(e, key) else { continue }
                guard ["o0", "o1", "o2", "o3"].contains(v.lowercased()) else { throw error(e.line, key, "'\(v)' is not one of O0, O1, O2, O3") }
                values.append((e.key, v))
            case "debug":
                if let v = try bool(e, key) { values.append((e.key, v ? "True" : "False")) }
            case "core_num", "max_time_per_fc", "jobs", "balance_factor":
                if let v = try integer(e, key) {
                    guard v >= 0 else { throw error(e.line, key, "\(v) is negative") }
                    values.append((e.key, String(v)))
                }
            case "input_source", "advice":
                values.append((e.key, Self.describe(e.value)))
            default:
                warn(e.keyLine, key, "unknown key, ignored")
            }
        }
        return .init(values: values)
    }
}
