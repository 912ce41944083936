import ArgumentParser
import ConvNeXtKit
import Foundation

/// The `convnext` command-line tool.
@main
struct ConvNeXtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convnext",
        abstract: "Import, run, quantize and benchmark timm ConvNeXt classifiers on CPUs.",
        discussion: """
            Examples:
              convnext info convnext_atto.onnx
              convnext infer convnext_atto.onnx --input-tensor in.f32 --output-tensor logits.f32
              convnext download atto && convnext info atto
              convnext preprocess chelsea.jpg --output-tensor chelsea.f32
              convnext classify convnext_atto.onnx chelsea.jpg rocket.png --top 5
              convnext pack convnext_atto.onnx --output convnext_atto.cnxk
              convnext compile convnext_atto.yaml
              convnext bench convnext_atto.onnx --threads 1,2 --concurrency 1,2
            """,
        subcommands: [InfoCommand.self, InferCommand.self, ZooCommand.self, DownloadCommand.self,
                      PreprocessCommand.self, ClassifyCommand.self, EvalCommand.self, TableCommand.self,
                      PackCommand.self, CompileCommand.self, BenchCommand.self, DemoCommand.self]
    )
}

/// Runs a command body, turning library errors into one line on stderr and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ConvNeXtError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}
