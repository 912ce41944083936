import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext merge`: sums the shard results of `convnext eval --shard I/N --output` into the whole set's.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Sum the JSON results of sharded `convnext eval --shard I/N` runs into the result of the whole set.",
        discussion: """
            Every shard 0..N-1 must be given exactly once, and all of them must come from the same \\
            models (SHA-256), preprocessing, image set, label files and N; otherwise one error line \\
            and exit 1. Counts add (top-1/top-5 hits, per class, ReaL, agreement, failures); rates are \\
            recomputed, so the merged counts equal those of one unsharded run. See docs/scale-out.md.

            Examples:
              convnext merge shard-*.json
              convnext merge shard-*.json --output merged.json --results-file merged.csv
            """
    )

    @Argument(help: "Shard results written by `convnext eval --output` (or --json).")
    var shards: [String] = []

    @Option(name: .shortAndLong, help: "Write the merged JSON result (schema 1) to this file.")
    var output: String?

    @Option(name: .customLong("results-file"), help: "Write timm validate.py's result row(s) to FILE.csv or FILE.json.")
    var resultsFile: String?

    @Flag(help: "Print the merged JSON result instead of text.")
    var json = false

    func run() throws {
        try reportingErrors {
            guard !shards.isEmpty else { throw ConvNeXtError.usage("merge needs the shard result files (SHARD.json ...)") }
            if let resultsFile, !(resultsFile.lowercased().hasSuffix(".csv") || resultsFile.lowercased().hasSuffix(".json")) {
                throw ConvNeXtError.usage("--results-file \(resultsFile): the name must end in .csv or .json")
            }
            let merged = try EvalReport.merge(try shards.map { ($0, try EvalReport.read(path: $0)) })
            var files: [(path: String, data: Data)] = []
            if let output { files.append((output, try merged.jsonData())) }
            if let resultsFile { files.append((resultsFile, try merged.timmResultsFile(json: resultsFile.lowercased().hasSuffix(".json")))) }
            try FileIO.writeAllAtomically(files)
            print(json ? String(decoding: try merged.jsonData(), as: UTF8.self).trimmingCharacters(in: .newlines) : merged.text())
        }
    }
}
