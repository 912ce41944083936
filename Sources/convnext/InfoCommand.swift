import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext info`: variant, input, classes, parameters, MACs and a per-stage table.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model: variant, input shape, classes, parameters, MACs, stages.",
        discussion: """
            Examples:
              convnext info convnext_atto.onnx
              convnext info convnext_atto.onnx --json
              convnext info convnext_atto.safetensors
              convnext info model.pth --size 288
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors or PyTorch .pth), or a registry name (atto, convnext_atto.d2_in1k; see `convnext zoo`).")
    var model: String

    @Option(help: "Square input size, a multiple of 32 (default: 224 for checkpoints, the graph's for ONNX).")
    var size: Int?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var lookup: ModelLookupOptions

    func validate() throws {
        try OptionValidation.modelSize(size, "--size")
    }

    func run() throws {
        try reportingErrors {
            if FileManager.default.fileExists(atPath: model), let deployable = try readDeployable(model),
               case .quantized = deployable.payload {
                // Shapes (and so params and MACs per stage) follow from the architecture alone.
                let meta = deployable.metadata
                _ = try deployable.quantizedModel(path: model)
                var report = ModelReport(model: ConvNeXtModel.random(config: meta.model.config))
                report.file = model
                report.format = "cnxk (quantized)"
                report.opset = nil
                if let params = meta.model.parameters { report.params = params }
                report.deployedInput = Self.deployedInput(meta)
                print(json ? report.json() : report.text())
                if !json, let compile = meta.compile {
                    print("\nquantized: calibration \(compile.calibrationMethodUsed ?? compile.calibrationType) on \(compile.calibrationDataCount) samples; "
                          + "input \(meta.preprocessing.inputTypeRT.rawValue) (\(meta.preprocessing.normType.rawValue)); "
                          + "\(compile.layerOverrides.count) layer override(s)")
                }
                return
            }
            let m = try lookup.load(model, inputSize: size)
            let report = ModelReport(model: m)
            print(json ? report.json() : report.text())
        }
    }

    /// The input a compiled model takes, in the user's terms: an NV12 frame or a float tensor, its size
    /// and value range, what the model does to it, and the image preprocessing defaults.
    static func deployedInput(_ meta: DeploymentMetadata) -> String {
        let pre = meta.preprocessing
        let w = pre.inputWidth, h = pre.inputHeight
        func numbers(_ values: [Float]) -> String { values.map { String(format: "%g", $0) }.joined(separator: " ") }
        let normalisation = pre.normType == .noPreprocess
            ? "used as is"
            : "normalised in the model: (x - mean) * scale, mean \(numbers(pre.effectiveMean)), scale \(numbers(pre.effectiveScale))"
        let images = "images: crop_pct \(meta.imageDefaults.cropPct), \(meta.imageDefaults.interpolation)"
        if pre.inputTypeRT == .nv12 {
            let range = pre.colourRange == .bt601Video ? "BT.601 video range (Y 16..235)" : "full range (0..255)"
            return "NV12 \(w)x\(h) (\(w * h * 3 / 2) bytes: Y plane, then interleaved UV), \(range); converted to \(pre.inputTypeTrain.rawValue) and \(normalisation); \(images)"
        }
        let domain = pre.normType == .noPreprocess ? "float32" : "float32 pixels 0..255 (\(pre.inputTypeTrain.rawValue))"
        return "1x\(pre.mean.count)x\(h)x\(w) (NCHW \(domain), \(normalisation)); \(images)"
    }
}
