import ArgumentParser
import ConvNeXtKit
import Foundation

/// `--registry` and `--cache`: which models exist and where downloads live.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("registry"), help: ArgumentHelp(
        "JSON file adding or overriding registry models (default: $CONVNEXT_REGISTRY; schema in docs/zoo.md).",
        valueName: "file"))
    var registryFile: String?

    @Option(name: .customLong("cache"), help: ArgumentHelp(
        "Download cache folder (default: $CONVNEXT_CACHE, else $XDG_CACHE_HOME/convnext, else ~/.cache/convnext).",
        valueName: "dir"))
    var cacheDirectory: String?

    func registry() throws -> ModelRegistry { try ModelRegistry.standard(file: registryFile) }
    func cache() -> ModelCache { ModelCache.standard(override: cacheDirectory) }
}

/// `--source` and `--base-url`: where downloads come from.
struct DownloadSourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Where to download from: hub or github (default: the source whose SHA-256 the registry pins, i.e. github "
            + "for the four timm release files; otherwise hub); without it, a failed source falls back to the next.",
        valueName: "hub|github"))
    var source: String?

    @Option(name: .customLong("base-url"), help: ArgumentHelp(
        "Replace scheme, host and port of the download URL, and prefix its path (a mirror, or a local test server).",
        valueName: "url"))
    var baseURL: String?

    func validate() throws {
        try OptionValidation.choice(source, "--source", ["hub", "github"])
    }

    /// Options drawing a progress bar on stderr when it is a terminal.
    func downloadOptions(force: Bool = false) -> DownloadOptions {
        let bar = DownloadProgressBar()
        return DownloadOptions(source: source, baseURL: baseURL, force: force, progress: { progress in
            // Reported before the partial file is created: from here on Ctrl-C must clean up.
            if progress.phase == .downloading, progress.bytes == 0 { TemporaryFiles.installSignalHandlers() }
            bar.update(progress)
        }, notice: { printToStandardError("note: \($0)") })
    }
}

/// For every command that takes a model: a file, or a registry name resolved to its cached download.
struct ModelLookupOptions: ParsableArguments {
    @Flag(help: "Download a registry model (e.g. atto) that is not in the cache yet, instead of failing.")
    var download = false

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var sources: DownloadSourceOptions

    /// The resolver these options describe.
    func resolver() throws -> ModelResolver {
        ModelResolver(registry: try registry.registry(), cache: registry.cache(), options: sources.downloadOptions())
    }

    /// Loads `nameOrPath`: a model file, or a registry name (its preprocessing becomes the model's default).
    func load(_ nameOrPath: String, inputSize: Int? = nil, allowRandomVariants: Bool = false) throws -> ConvNeXtModel {
        try resolver().resolve(nameOrPath, download: download, allowRandomVariants: allowRandomVariants,
                               inputSize: inputSize)
    }
}
