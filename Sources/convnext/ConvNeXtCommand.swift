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
              convnext cpu
            """,
        subcommands: [InfoCommand.self, InferCommand.self, ZooCommand.self, DownloadCommand.self,
                      PreprocessCommand.self, ClassifyCommand.self, EvalCommand.self, TableCommand.self,
                      PackCommand.self, CompileCommand.self, BenchCommand.self, DemoCommand.self, CPUCommand.self,
                      MergeCommand.self, ServeCommand.self]
    )
}

/// Runs a command body, turning any error into one line on stderr and exit code 1.
///
/// Library errors print their own message; anything else (Foundation, decoding errors) prints its
/// description. Argument-parser outcomes (exit codes, validation and clean exits) pass through unchanged.
func reportingErrors(_ body: () throws -> Void) throws {
    // Ctrl-C and SIGTERM remove the temporary files of unfinished writes before the process ends.
    TemporaryFiles.installSignalHandlers()
    do {
        try body()
    } catch let error as ConvNeXtError {
        printErrorLine(error.description)
        throw ExitCode(1)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        printErrorLine(oneLineDescription(of: error))
        throw ExitCode(1)
    }
}

/// Writes `message` to stderr as a single line prefixed with `error: `.
func printErrorLine(_ message: String) {
    var line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: " ")
    if line.isEmpty { line = "failed" }
    FileHandle.standardError.write(Data("error: \(line)\n".utf8))
}

/// A readable description of a non-library error (Foundation errors carry theirs in `localizedDescription`).
func oneLineDescription(of error: Error) -> String {
    let nsError = error as NSError
    if nsError.domain == NSCocoaErrorDomain || nsError.domain == NSPOSIXErrorDomain {
        return FileIO.describe(error)
    }
    return String(describing: error)
}
