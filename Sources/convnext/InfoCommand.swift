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

    func run() throws {
        try reportingErrors {
            let m = try lookup.load(model, inputSize: size)
            let report = ModelReport(model: m)
            print(json ? report.json() : report.text())
        }
    }
}
