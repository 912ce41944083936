import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext pack`: a float model into the single-file deployable format.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack a float model into the deployable single-file format (.cnxk).",
        discussion: """
            The file holds every weight (float32), the ONNX node names, the source file's SHA-256 and \
            how the model is fed. By default the model takes its float input tensor as is \
            (featuremap, no_preprocess); --config takes input_parameters (input_type_rt, norm_type, \
            mean_value, scale_value, ...) from an hb_mapper YAML instead. The file is checksummed: \
            a damaged or truncated copy is refused when loaded.

            Examples:
              convnext pack convnext_atto.onnx --output convnext_atto.cnxk
              convnext pack convnext_atto.onnx --output atto_nv12.cnxk --config convnext_atto.yaml
              convnext pack convnext_atto.onnx --output atto_bf16.cnxk --precision bf16

            --precision bf16 records float_precision "bf16" in the metadata, so the deployed model \
            runs in bf16 (where the CPU has AVX512-BF16 or AMX-BF16); the weights stay float32 \
            arrays (the format has no bf16 array type), so the file is not smaller.
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors, .pth, or a float .cnxk to re-pack).")
    var model: String

    @Option(name: .shortAndLong, help: "The .cnxk file to write.")
    var output: String

    @Option(help: "A YAML config whose input_parameters describe how the deployed model is fed.")
    var config: String?

    @Option(help: "The precision the deployed model runs in: f32 (default) or bf16 (recorded in the metadata; weights stay float32).")
    var precision: FloatPrecision = .f32

    func run() throws {
        try reportingErrors {
            let m = try ModelLoader.load(path: model)
            var preprocessing: DeployedPreprocessing?
            if let config {
                let parsed = try CompileConfig.parse(yaml: try Self.readText(config), path: config,
                                                     overrides: .init(model: model))
                for warning in parsed.warnings { printToStandardError("warning: \(warning)") }
                let plan = try parsed.resolve(against: m)
                for warning in plan.warnings { printToStandardError("warning: \(warning)") }
                preprocessing = plan.preprocessing
            }
            let packed = DeployableModel(float: m, preprocessing: preprocessing, source: try .describing(m.source),
                                         createdBy: "\(DeploymentMetadata.toolVersion) (convnext pack)",
                                         precision: precision)
            try packed.write(to: output)
            print("wrote \(output) (\(m.config.variantName), \(m.parameterCount) parameters, input \(packed.metadata.preprocessing.inputTypeRT.rawValue), precision \(precision.rawValue))")
        }
    }

    static func readText(_ path: String) throws -> String {
        let data = try FileIO.read(path: path, maxBytes: 4 << 20)
        guard let text = String(data: data, encoding: .utf8) else { throw ConvNeXtError.invalidConfig(path: path, reason: "not UTF-8 text") }
        return text
    }
}
