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
            """
    )

    @Argument(help: "Model file (.onnx).")
    var model: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        try reportingErrors {
            let m = try ModelLoader.load(path: model)
            let report = ModelReport(model: m)
            print(json ? report.json() : report.text())
        }
    }
}
