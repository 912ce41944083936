import Foundation

/// Turns what a user typed where a model is expected into a model: an existing file, or a
/// registry name (`convnext_atto.d2_in1k`, `convnext_atto`, `atto`) meaning its cached download.
///
/// Order: an existing file at that path wins; then a registry name whose verified file is cached
/// (its registry preprocessing becomes the model's default); then, with `download`, the name is
/// downloaded first; then, when `allowRandomVariants` (bench), a bare variant name gives random
/// weights of that shape; otherwise an error saying how to download it.
public struct ModelResolver: Sendable {
    public var registry: ModelRegistry
    public var cache: ModelCache
    public var options: DownloadOptions

    public init(registry: ModelRegistry, cache: ModelCache, options: DownloadOptions = DownloadOptions()) {
        self.registry = registry
        self.cache = cache
        self.options = options
    }

    /// The registry of `registryFile` (or `$CONVNEXT_REGISTRY`) over the built-ins, and the cache
    /// of `cacheDirectory` (or `$CONVNEXT_CACHE`, or `~/.cache/convnext`).
    public static func standard(registryFile: String? = nil, cacheDirectory: String? = nil,
                                options: DownloadOptions = DownloadOptions(),
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelResolver {
        ModelResolver(registry: try ModelRegistry.standard(file: registryFile, environment: environment),
                      cache: ModelCache.standard(override: cacheDirectory, environment: environment), options: options)
    }

    /// What a name or path refers to, without loading anything.
    public enum Target: Sendable {
        /// A file on disk.
        case file(String)
        /// A registry entry with a verified cached file.
        case cached(ZooEntry, source: String, path: String)
        /// A registry entry not downloaded yet.
        case notDownloaded(ZooEntry)
        /// A bare variant name with no cached weights, read as random weights of that shape.
        case randomVariant(ConvNeXtSpec)
        /// Neither a file nor a registry name.
        case unknown
    }

    /// Classifies `nameOrPath` (see the type's order).
    public func locate(_ nameOrPath: String, allowRandomVariants: Bool = false) -> Target {
        if FileManager.default.fileExists(atPath: nameOrPath) { return .file(nameOrPath) }
        if let entry = registry.entry(named: nameOrPath) {
            if let hit = cache.verifiedFile(for: entry, preferring: options.source) {
                return .cached(entry, source: hit.source, path: hit.path.path)
            }
            if allowRandomVariants, let spec = ConvNeXtSpec.named(nameOrPath) { return .randomVariant(spec) }
            return .notDownloaded(entry)
        }
        if allowRandomVariants, let spec = ConvNeXtSpec.named(nameOrPath) { return .randomVariant(spec) }
        return .unknown
    }

    /// The file `nameOrPath` means (downloading it first when `download`), or nil for a random
    /// variant. For commands that need a path rather than a model (e.g. a YAML `onnx_model`).
    public func resolvePath(_ nameOrPath: String, download: Bool = false,
                            allowRandomVariants: Bool = false) throws -> (path: String, entry: ZooEntry?)? {
        switch locate(nameOrPath, allowRandomVariants: allowRandomVariants) {
        case .file(let path):
            return (path, nil)
        case .cached(let entry, _, let path):
            return (path, entry)
        case .notDownloaded(let entry):
            guard download else {
                throw ConvNeXtError.usage("\(nameOrPath): \(entry.id) is not downloaded yet; run `convnext download \(nameOrPath)` or add --download")
            }
            let result = try ModelDownloader.download(entry, cache: cache, options: options)
            return (result.path, entry)
        case .randomVariant:
            if download, let entry = registry.entry(named: nameOrPath) {
                let result = try ModelDownloader.download(entry, cache: cache, options: options)
                return (result.path, entry)
            }
            return nil
        case .unknown:
            let looksLikePath = nameOrPath.contains("/") || ["onnx", "pth", "pt", "safetensors", "cnxk"]
                .contains(URL(fileURLWithPath: nameOrPath).pathExtension.lowercased())
            throw ConvNeXtError.io(path: nameOrPath, reason: looksLikePath ? "no such file"
                : "no such file, and no model of that name in the registry (`convnext zoo` lists them)")
        }
    }

    /// Loads the model `nameOrPath` means. Registry models get the entry's preprocessing
    /// (crop_pct, interpolation, mean, std) and input size unless `inputSize` is given.
    public func resolve(_ nameOrPath: String, download: Bool = false, allowRandomVariants: Bool = false,
                        inputSize: Int? = nil) throws -> ConvNeXtModel {
        guard let (path, entry) = try resolvePath(nameOrPath, download: download, allowRandomVariants: allowRandomVariants) else {
            return try ModelLoader.load(path: nameOrPath, allowRandomVariants: true, inputSize: inputSize)
        }
        var model = try ModelLoader.load(path: path, inputSize: inputSize ?? entry?.inputSize)
        if let entry { model.preprocessing = entry.preprocessing }
        return model
    }

    /// ``resolve(_:download:allowRandomVariants:inputSize:)`` with an explicit registry and cache.
    public static func resolve(_ nameOrPath: String, registry: ModelRegistry, cache: ModelCache, download: Bool,
                               allowRandomVariants: Bool = false, inputSize: Int? = nil,
                               options: DownloadOptions = DownloadOptions()) throws -> ConvNeXtModel {
        try ModelResolver(registry: registry, cache: cache, options: options)
            .resolve(nameOrPath, download: download, allowRandomVariants: allowRandomVariants, inputSize: inputSize)
    }
}
