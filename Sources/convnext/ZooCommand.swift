import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext zoo`: the registry, with the RDK X5 model zoo's board figures beside ours.
struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "List the pretrained models `download` knows, with board figures beside ours.",
        discussion: """
            The built-in models are timm's ImageNet-1k ConvNeXt weights; a registry file \
            (--registry or $CONVNEXT_REGISTRY) adds or overrides entries. `--json` prints a valid \
            registry file (plus informational keys).

            Examples:
              convnext zoo
              convnext zoo --json
              convnext zoo --registry my-models.json
            """
    )

    @Flag(help: "Print JSON (a registry file with download state and board figures) instead of a table.")
    var json = false

    @OptionGroup var registry: RegistryOptions

    func run() throws {
        try reportingErrors {
            let models = try registry.registry()
            let cache = registry.cache()
            let rows = models.entries.map { entry in
                ZooRow(entry: entry, board: BoardFigures.figures(for: entry),
                       downloaded: cache.verifiedFile(for: entry)?.path.path)
            }
            print(json ? try Self.json(rows, cache: cache) : Self.table(rows, cache: cache))
        }
    }

    struct ZooRow {
        var entry: ZooEntry
        var board: MeasuredFigures?
        var downloaded: String?
    }

    static func table(_ rows: [ZooRow], cache: ModelCache) -> String {
        func num(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
        func pair(_ board: Double?, _ ours: Double?, _ format: String) -> String {
            "\(num(board, format)) / \(num(ours, format))"
        }
        var lines = [
            "| model | params | input | crop | sources | downloaded | float top-1 board / ours | int8 top-1 board / ours | latency ms (1 thread) board / ours | FPS board / ours |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows {
            let e = row.entry
            let name = e.id + (e.isDefault ? " (default)" : "")
            let params = e.parameterCount.map(ModelReport.grouped) ?? "?"
            let sources = e.sourceNames.enumerated().map { i, s in i == 0 ? "\(s)*" : s }.joined(separator: ", ")
            let b = row.board, o = e.ours
            lines.append("| \(name) | \(params) | \(e.inputSize) | \(e.preprocessing.cropPct) | \(sources) | \(row.downloaded == nil ? "no" : "yes") "
                + "| \(pair(b?.floatTop1, o?.floatTop1, "%.2f")) | \(pair(b?.int8Top1, o?.int8Top1, "%.2f")) "
                + "| \(pair(b?.latencyMs, o?.latencyMs, "%.2f")) | \(pair(b?.fps, o?.fps, "%.0f")) |")
        }
        let allImagenet = rows.allSatisfy {
            $0.entry.preprocessing.interpolation == "bicubic" && $0.entry.preprocessing.mean == PreprocessingDefaults.imagenet.mean
                && $0.entry.preprocessing.std == PreprocessingDefaults.imagenet.std
        }
        lines.append("")
        if allImagenet { lines.append("All: bicubic resize, ImageNet mean/std (--json lists every field).") }
        lines.append("sources: * is what `convnext download` uses by default (a source with a pinned SHA-256 first, then hub).")
        lines.append("board: the RDK X5 model zoo's figures per variant (float top-1, int8 top-1 on the NPU, 1-thread latency, FPS);")
        lines.append("       the RDK X5 model zoo does not say which tag it exported, so they stand beside every tag of a variant.")
        if rows.allSatisfy({ $0.entry.ours == nil }) {
            lines.append("ours: not measured yet; the columns fill from a registry file's `ours` figures (docs/zoo.md).")
        } else {
            lines.append("ours: from the registry file's `ours` figures; '-' where not measured.")
        }
        lines.append("cache: \(cache.directory.path)")
        return lines.joined(separator: "\n")
    }

    static func json(_ rows: [ZooRow], cache: ModelCache) throws -> String {
        struct Row: Encodable {
            var entry: ZooEntry
            var board: MeasuredFigures?
            var downloaded: String?
            func encode(to encoder: Encoder) throws {
                try entry.encode(to: encoder)
                var c = encoder.container(keyedBy: Key.self)
                try c.encode(entry.id, forKey: .id)
                try c.encodeIfPresent(entry.defaultSource, forKey: .defaultSource)
                try c.encode(board, forKey: .board)
                try c.encode(downloaded, forKey: .downloaded)
            }
            enum Key: String, CodingKey { case id, defaultSource = "default_source", board, downloaded }
        }
        struct File: Encodable {
            var version = 1
            var cache: String
            var models: [Row]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let file = File(cache: cache.directory.path,
                        models: rows.map { Row(entry: $0.entry, board: $0.board, downloaded: $0.downloaded) })
        return String(decoding: try encoder.encode(file), as: UTF8.self)
    }
}
