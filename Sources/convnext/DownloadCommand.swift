import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext download`: fetch pretrained weights into the cache, verified.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download pretrained ConvNeXt weights into the cache, verified.",
        discussion: """
            Each file is written to a temporary file in the cache, checked (size and SHA-256 where \
            the registry knows them; that it loads as the expected model with the expected parameter \
            count), then renamed into <cache>/<name>.<tag>/. A model already downloaded and verified \
            is not fetched again. Afterwards every command accepts the name in place of a file.

            Names: convnext_atto.d2_in1k, convnext_atto or atto (the default tag); `convnext zoo` lists them.

            Examples:
              convnext download atto
              convnext download convnext_nano.d1h_in1k --source github
              convnext download --all
              convnext download atto --base-url http://mirror.example:8080/models
            """
    )

    @Argument(help: "Models to download (see `convnext zoo`).")
    var names: [String] = []

    @Flag(help: "Download every model of the registry.")
    var all = false

    @Flag(help: "Download again even when a verified copy is cached.")
    var force = false

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var sources: DownloadSourceOptions

    func validate() throws {
        if all, !names.isEmpty { throw ValidationError("give model names or --all, not both") }
        if !all, names.isEmpty { throw ValidationError("give at least one model name (see `convnext zoo`), or --all") }
    }

    func run() throws {
        var failed = false
        try reportingErrors {
            let models = try registry.registry()
            let cache = registry.cache()
            let options = sources.downloadOptions(force: force)
            var entries: [ZooEntry] = []
            if all {
                entries = models.entries
            } else {
                for name in names {
                    guard let entry = models.entry(named: name) else {
                        throw ConvNeXtError.usage("unknown model '\(name)' (`convnext zoo` lists the registry)")
                    }
                    if !entries.contains(where: { $0.id == entry.id }) { entries.append(entry) }
                }
            }
            for entry in entries {
                if all, let source = sources.source, entry.sources[source] == nil {
                    print("\(entry.id): skipped (no \(source) source)")
                    continue
                }
                do {
                    let result = try ModelDownloader.download(entry, cache: cache, options: options)
                    print(Self.describe(result))
                } catch let error as ConvNeXtError {
                    // Keep going with the other models; the exit status reports the failure.
                    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                    failed = true
                }
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func describe(_ r: DownloadResult) -> String {
        if r.wasCached { return "\(r.entry.id): already downloaded and verified: \(r.path)" }
        let mb = String(format: "%.1f MB", Double(r.bytes) / 1e6)
        let pinned = r.entry.sources[r.source]?.sha256.map { " matches \($0)" } ?? ""
        return "\(r.entry.id): downloaded from \(r.source) (\(mb), sha256 \(r.sha256.prefix(16))…\(pinned), "
            + "\(ModelReport.grouped(r.parameterCount)) parameters): \(r.path)"
    }
}
