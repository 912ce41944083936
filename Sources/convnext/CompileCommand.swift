import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext compile`: quantize a model from an hb_mapper-style YAML config into one deployable file.
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Quantize a model as a vendor (hb_mapper) YAML config describes, into one deployable .cnxk file.",
        discussion: """
            Reads model_parameters, input_parameters, calibration_parameters and compiler_parameters \
            (docs/config.md lists every key). Paths in the YAML are relative to the YAML file; paths \
            given on the command line are relative to the current folder. Writes \
            WORKING_DIR/PREFIX.cnxk, PREFIX_quant_report.txt, PREFIX_quant_report.json and \
            PREFIX_quant_report.svg (per-layer cosine, overrides marked; written last). Warnings \
            (unknown keys, node names that match no node, a model file named after another variant) \
            go to stderr; any error writes nothing and exits 1.

            Examples:
              convnext compile convnext_atto.yaml
              convnext compile convnext_atto.yaml --model convnext_atto.onnx --cal-data-dir cal_f32 --working-dir out
            """
    )

    @Argument(help: "The YAML config (hb_mapper schema).")
    var config: String

    @Option(help: "Model file, replacing model_parameters.onnx_model.")
    var model: String?

    @Option(name: .customLong("working-dir"), help: "Output folder, replacing model_parameters.working_dir.")
    var workingDir: String?

    @Option(name: .customLong("calibration-type"), help: "default, max, kl, mix or skip, replacing calibration_parameters.calibration_type.")
    var calibrationType: String?

    @Option(name: .customLong("cal-data-dir"), help: "Calibration folder, replacing calibration_parameters.cal_data_dir.")
    var calDataDir: String?

    @Option(name: .customLong("output-prefix"), help: "Output file name prefix, replacing model_parameters.output_model_file_prefix.")
    var outputPrefix: String?

    @Option(name: .customLong("crop-pct"), help: "For calibration images: timm crop_pct (default: the model's, 0.875 for timm ImageNet models; 1 = no crop).")
    var cropPct: Double?

    @Option(help: "For calibration images: bicubic | bilinear (default: the model's).")
    var interpolation: Interpolation?

    @Option(name: .customLong("resize-mode"), help: "For calibration images: crop | letterbox (default crop).")
    var resizeMode: ResizeMode?

    @OptionGroup var isaOptions: ISAOptions

    func validate() throws {
        try OptionValidation.check(cropPct, "--crop-pct", in: 0...1, lowerOpen: true)
    }

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            let overrides = CompileConfig.Overrides(model: model, workingDir: workingDir, calibrationType: calibrationType,
                                                    calDataDir: calDataDir, outputPrefix: outputPrefix)
            let parsed = try CompileConfig.load(path: config, overrides: overrides)
            // On a terminal, progress is live on stderr. Otherwise progress and warnings wait until
            // the end (stderr on success, stdout on failure), so a failed compile prints exactly one
            // line, its error, on stderr.
            let live = isatty(STDERR_FILENO) != 0
            let warnings = WarningCollector()
            parsed.warnings.forEach { warnings.add("warning: \($0)") }
            let quantizer: ModelQuantizing = Int8Quantizer()
            let result: CompileResult
            do {
                result = try CompilePipeline.run(config: parsed, quantizer: quantizer, imageOptions: { defaults in
                    var o = defaults
                    if let cropPct { o.cropPct = cropPct }
                    if let interpolation { o.interpolation = interpolation }
                    if let resizeMode { o.resizeMode = resizeMode }
                    try o.validate(source: "compile flags")
                    return o
                }, log: { line in
                    if live && !line.hasPrefix("warning: ") { printToStandardError(line) } else { warnings.add(line) }
                })
            } catch {
                warnings.lines.forEach { print($0) }
                throw error
            }
            warnings.lines.forEach { printToStandardError($0) }
            print(result.reportText, terminator: "")
            print("wrote \(result.modelPath)")
            print("wrote \(result.reportTextPath)")
            print("wrote \(result.reportJSONPath)")
            if let svg = try writeCosineChart(result) { print("wrote \(svg)") }
            if let dir = result.layerDumpDirectory { print("wrote layer outputs to \(dir)") }
        }
    }
}

extension CompileCommand {
    /// Writes PREFIX_quant_report.svg beside the text report: the per-layer cosine chart of the
    /// report JSON just written, with the config's overrides marked. Nil when the quantizer
    /// reported no layers (calibration_type skip).
    func writeCosineChart(_ result: CompileResult) throws -> String? {
        let report = try QuantizationReport.read(compileReportJSON: try FileIO.read(path: result.reportJSONPath, maxBytes: 256 << 20))
        guard !report.rows.isEmpty else { return nil }
        let base = result.reportTextPath.hasSuffix(".txt") ? String(result.reportTextPath.dropLast(4)) : result.reportTextPath
        let path = base + ".svg"
        let chart = report.cosineChart(title: "convnext compile: \(FileIO.namePart(of: result.modelPath))",
                                       overrides: result.plan.layerOverrideNames)
        try FileIO.writeAtomically(path: path, data: chart.data)
        return path
    }
}

/// Warnings gathered during a compile (the pipeline logs from worker threads).
final class WarningCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func add(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }

    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}

/// One line on stderr.
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
