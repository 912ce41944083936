import Foundation

/// How `ModelDownloader` fetches.
public struct DownloadOptions: Sendable {
    /// Source to fetch from (`hub`, `github`, ...); nil for the entry's default source.
    public var source: String?
    /// Replaces scheme, host and port of the source URL, and prefixes its path (mirrors, tests).
    public var baseURL: String?
    /// Download again even when a verified file is cached.
    public var force: Bool
    /// Seconds without data before giving up.
    public var timeout: TimeInterval
    /// Called as the download goes (on a background queue).
    public var progress: (@Sendable (DownloadProgress) -> Void)?
    /// Called with one line when the default source failed and the next one is tried.
    public var notice: (@Sendable (String) -> Void)?
    /// Proxies, the hub endpoint and its token (default: this process's environment).
    public var network: NetworkEnvironment

    public init(source: String? = nil, baseURL: String? = nil, force: Bool = false, timeout: TimeInterval = 60,
                network: NetworkEnvironment = .current, progress: (@Sendable (DownloadProgress) -> Void)? = nil,
                notice: (@Sendable (String) -> Void)? = nil) {
        self.source = source
        self.baseURL = baseURL
        self.force = force
        self.timeout = timeout
        self.network = network
        self.progress = progress
        self.notice = notice
    }
}

/// Where a download is.
public struct DownloadProgress: Sendable {
    public enum Phase: Sendable { case downloading, verifying, done, failed }
    /// `name.tag` of the entry.
    public var label: String
    public var phase: Phase
    public var bytes: Int64
    /// Total bytes, when the server or the registry says.
    public var total: Int64?
    /// Seconds since the request.
    public var elapsed: Double

    public init(label: String, phase: Phase, bytes: Int64, total: Int64?, elapsed: Double) {
        self.label = label
        self.phase = phase
        self.bytes = bytes
        self.total = total
        self.elapsed = elapsed
    }
}

/// What `download` did.
public struct DownloadResult: Sendable {
    public var entry: ZooEntry
    public var source: String
    /// The verified file in the cache.
    public var path: String
    /// The URL fetched (after `baseURL`), or the registry URL when nothing was fetched.
    public var url: String
    /// True when a verified copy was already cached and nothing was fetched.
    public var wasCached: Bool
    public var sha256: String
    public var bytes: Int64
    public var parameterCount: Int
    /// How often a dropped transfer was continued with a Range request.
    public var resumes = 0
}

/// Fetches registry entries into the cache: to a temporary file beside the final one, verified
/// (size, SHA-256, loads as the expected model), then renamed into place.
public enum ModelDownloader {
    /// Largest file accepted when the registry gives neither a size nor a parameter count (the model
    /// loader's own limit).
    public static let maxUnsizedBytes: Int64 = 2 << 30

    /// The most bytes accepted for `file` of `entry`: its size when the registry gives one; else 8 bytes
    /// per parameter (float64 weights) plus 16 MiB of container and metadata when the parameter count is
    /// known (the built-in hub entries: about 46 MB for atto instead of 2 GiB); else `maxUnsizedBytes`.
    public static func maximumBytes(entry: ZooEntry, file: ZooFile) -> Int64 {
        if let size = file.size { return size }
        if let parameters = entry.parameterCount, parameters > 0 {
            return Swift.min(maxUnsizedBytes, Int64(parameters) * 8 + (16 << 20))
        }
        return maxUnsizedBytes
    }

    /// Downloads and verifies `entry` unless a verified copy is cached.
    ///
    /// With no source asked for, the entry's sources are tried in order (`sourceNames`): when one
    /// fails, `options.notice` hears why and the next is tried; the last failure is thrown.
    public static func download(_ entry: ZooEntry, cache: ModelCache, options: DownloadOptions = DownloadOptions()) throws -> DownloadResult {
        let first = try chooseSource(entry, requested: options.source)
        if options.source == nil {
            // A verified copy from any source counts: no fallback download when one is cached.
            for source in entry.sourceNames where !options.force {
                if let file = entry.sources[source], let cached = cachedResult(entry, source: source, file: file, cache: cache) {
                    return cached
                }
            }
        }
        let candidates = options.source == nil ? entry.sourceNames : [first]
        for (position, source) in candidates.enumerated() {
            do {
                return try download(entry, source: source, cache: cache, options: options)
            } catch let error as ConvNeXtError where position + 1 < candidates.count {
                options.notice?("\(entry.id): the \(source) source failed (\(error.description)); trying \(candidates[position + 1])")
            }
        }
        throw ConvNeXtError.usage("\(entry.id) has no sources")
    }

    /// The cached, verified file of `entry` from `source`, if there is one.
    private static func cachedResult(_ entry: ZooEntry, source: String, file: ZooFile, cache: ModelCache) -> DownloadResult? {
        let final = cache.path(for: entry, file: file)
        guard cache.isVerified(path: final, entry: entry, file: file),
              let marker = VerificationMarker.read(from: ModelCache.markerPath(for: final)) else { return nil }
        return DownloadResult(entry: entry, source: source, path: final.path, url: file.url, wasCached: true,
                              sha256: marker.sha256, bytes: marker.size, parameterCount: marker.params)
    }

    /// Downloads and verifies `entry` from one source unless a verified copy is cached.
    private static func download(_ entry: ZooEntry, source: String, cache: ModelCache, options: DownloadOptions) throws -> DownloadResult {
        guard let file = entry.sources[source] else { throw ConvNeXtError.usage("\(entry.id) has no source '\(source)'") }
        let final = cache.path(for: entry, file: file)
        if !options.force, let cached = cachedResult(entry, source: source, file: file, cache: cache) { return cached }
        // HF_ENDPOINT moves the hub (as for huggingface_hub); --base-url then moves any source.
        let sourceURL = source == "hub" ? options.network.hubURL(file.url) : file.url
        let url = try options.baseURL.map { try rebase(sourceURL, onto: $0) } ?? URL(string: sourceURL)
        guard let url else { throw ConvNeXtError.usage("\(entry.id): '\(sourceURL)' is not a URL") }
        let headers = source == "hub" ? options.network.hubHeaders(for: url) : [:]

        let folder = final.deletingLastPathComponent()
        // Folders this download creates, deepest first, removed again if it fails.
        var created: [String] = []
        var missing = folder.path
        while !missing.isEmpty, missing != "/", missing != ".", !FileManager.default.fileExists(atPath: missing) {
            created.append(missing)
            missing = FileIO.folderPart(of: missing)
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ConvNeXtError.io(path: folder.path, reason: "cannot create the cache folder: \(FileIO.describe(error))")
        }
        ModelCache.removeStaleTemporaryFiles(in: folder)

        let temp = ModelCache.temporaryPath(for: final)
        let slot = TemporaryFiles.register(temp.path)
        defer {
            // Gone already when renamed into place; on any failure this removes the partial file.
            unlink(temp.path)
            TemporaryFiles.unregister(slot)
        }
        let started = Date()
        let label = entry.id
        let report = options.progress
        func phase(_ p: DownloadProgress.Phase, _ bytes: Int64, _ total: Int64?, elapsed: Double? = nil) {
            report?(DownloadProgress(label: label, phase: p, bytes: bytes, total: total,
                                     elapsed: elapsed ?? Date().timeIntervalSince(started)))
        }
        phase(.downloading, 0, file.size)
        let knownSize = file.size
        var onBytes: (@Sendable (Int64, Int64?) -> Void)?
        if let report {
            onBytes = { bytes, total in
                report(DownloadProgress(label: label, phase: .downloading, bytes: bytes, total: total ?? knownSize,
                                        elapsed: Date().timeIntervalSince(started)))
            }
        }
        let fetched: HTTPFileFetcher.Fetched
        var transferSeconds = 0.0
        let marker: VerificationMarker
        do {
            fetched = try HTTPFileFetcher.fetch(url: url, to: temp.path, maxBytes: maximumBytes(entry: entry, file: file),
                                                timeout: options.timeout, headers: headers, network: options.network,
                                                progress: onBytes)
            transferSeconds = Date().timeIntervalSince(started)
            phase(.verifying, fetched.bytes, fetched.bytes, elapsed: transferSeconds)
            marker = try ModelVerifier.verify(path: temp.path, entry: entry, file: file, displayName: url.absoluteString,
                                              digest: fetched.sha256)
        } catch {
            phase(.failed, 0, nil)
            unlink(temp.path)
            // rmdir only succeeds on empty folders: a failed first download leaves no trace.
            for path in created { rmdir(path) }
            throw error
        }
        // The old marker describes the old file: drop it before the new file takes its place.
        unlink(ModelCache.markerPath(for: final).path)
        guard rename(temp.path, final.path) == 0 else {
            let reason = String(cString: strerror(errno))
            phase(.failed, 0, nil)
            throw ConvNeXtError.io(path: final.path, reason: "cannot move the download into place: \(reason)")
        }
        try marker.write(besides: final)
        // The rate shown is the transfer's, without the verification time.
        phase(.done, fetched.bytes, fetched.bytes, elapsed: transferSeconds)
        return DownloadResult(entry: entry, source: source, path: final.path, url: url.absoluteString, wasCached: false,
                              sha256: fetched.sha256, bytes: fetched.bytes, parameterCount: marker.params, resumes: fetched.resumes)
    }

    /// The requested source, or the entry's default; a clear error when the entry lacks it.
    public static func chooseSource(_ entry: ZooEntry, requested: String?) throws -> String {
        if let requested {
            guard entry.sources[requested] != nil else {
                throw ConvNeXtError.usage("\(entry.id) has no \(requested) source (it has: \(entry.sourceNames.joined(separator: ", ")))")
            }
            return requested
        }
        guard let source = entry.defaultSource else { throw ConvNeXtError.usage("\(entry.id) has no sources") }
        return source
    }

    /// `url` with scheme, host and port taken from `base`, and `base`'s path put before its path:
    /// `https://github.com/a/b.pth` onto `http://127.0.0.1:8080/mirror` is `http://127.0.0.1:8080/mirror/a/b.pth`.
    public static func rebase(_ url: String, onto base: String) throws -> URL {
        guard let baseComponents = URLComponents(string: base), let scheme = baseComponents.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = baseComponents.host, !host.isEmpty else {
            throw ConvNeXtError.usage("--base-url '\(base)' is not an http(s) URL with a host")
        }
        guard var components = URLComponents(string: url) else { throw ConvNeXtError.usage("'\(url)' is not a URL") }
        components.scheme = scheme
        components.host = host
        components.port = baseComponents.port
        components.user = nil
        components.password = nil
        var prefix = baseComponents.percentEncodedPath
        while prefix.hasSuffix("/") { prefix.removeLast() }
        components.percentEncodedPath = prefix + components.percentEncodedPath
        guard let result = components.url else { throw ConvNeXtError.usage("cannot combine '\(base)' with '\(url)'") }
        return result
    }
}
