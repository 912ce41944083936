import Foundation

/// Downloaded weights on disk: `<cache>/<name>.<tag>/<file>`, each verified file beside a
/// `<file>.verified` marker recording what was checked.
///
/// Files appear only by rename after verification, so a file at its final path is complete.
/// A marker lets later runs trust the file without re-hashing it; it is trusted only while the
/// file keeps the size and modification time it recorded and the registry still expects its digest.
public struct ModelCache: Sendable, Equatable {
    /// The cache root.
    public var directory: URL

    public init(directory: String) {
        self.directory = URL(fileURLWithPath: (directory as NSString).expandingTildeInPath, isDirectory: true)
    }

    /// The environment variable naming the cache folder.
    public static let environmentVariable = "CONVNEXT_CACHE"

    /// `override` (the `--cache` option), else `$CONVNEXT_CACHE`, else `$XDG_CACHE_HOME/convnext`,
    /// else `~/.cache/convnext`.
    public static func standard(override: String? = nil,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelCache {
        if let override, !override.isEmpty { return ModelCache(directory: override) }
        if let dir = environment[environmentVariable], !dir.isEmpty { return ModelCache(directory: dir) }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return ModelCache(directory: xdg + "/convnext")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return ModelCache(directory: home + "/.cache/convnext")
    }

    /// The folder of one entry.
    public func folder(for entry: ZooEntry) -> URL {
        directory.appendingPathComponent(entry.id, isDirectory: true)
    }

    /// Where an entry's file from one source is stored.
    public func path(for entry: ZooEntry, file: ZooFile) -> URL {
        folder(for: entry).appendingPathComponent(file.fileName)
    }

    /// The marker recording a file's verification.
    static func markerPath(for file: URL) -> URL {
        file.deletingLastPathComponent().appendingPathComponent(file.lastPathComponent + ".verified")
    }

    /// A verified cached file of `entry`, trying `preferred` first, then the entry's sources in order.
    /// Files whose marker is missing or stale are checked again (hash, load) by `verifyLocal` and
    /// get a fresh marker when they pass.
    public func verifiedFile(for entry: ZooEntry, preferring preferred: String? = nil) -> (source: String, path: URL)? {
        var order = entry.sourceNames
        if let preferred, let i = order.firstIndex(of: preferred) {
            order.remove(at: i)
            order.insert(preferred, at: 0)
        }
        for source in order {
            guard let file = entry.sources[source] else { continue }
            let path = path(for: entry, file: file)
            if isVerified(path: path, entry: entry, file: file) { return (source, path) }
        }
        return nil
    }

    /// Whether the file at `path` is present and known good for `entry`'s `file`.
    public func isVerified(path: URL, entry: ZooEntry, file: ZooFile) -> Bool {
        guard let stat = Self.fileStat(path.path) else { return false }
        if let marker = VerificationMarker.read(from: Self.markerPath(for: path)),
           marker.size == stat.size, marker.modified == stat.modified, marker.matches(file) {
            return true
        }
        // No marker, or the file changed since: check it like a fresh download.
        guard let record = try? ModelVerifier.verify(path: path.path, entry: entry, file: file, displayName: path.path) else {
            return false
        }
        try? record.write(besides: path)
        return true
    }

    /// Size and modification time (seconds since 1970) of a regular file.
    static func fileStat(_ path: String) -> (size: Int64, modified: Double)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) == .typeRegular,
              let size = (attributes[.size] as? NSNumber)?.int64Value,
              let date = attributes[.modificationDate] as? Date else { return nil }
        return (size, date.timeIntervalSince1970)
    }

    // MARK: - Temporary files

    /// Temporary download files are named `.<file>.partial-<pid>-<random>` in the entry's folder.
    static func temporaryPath(for final: URL) -> URL {
        final.deletingLastPathComponent()
            .appendingPathComponent(".\(final.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Removes temporary files left in `folder` by processes that no longer run (killed mid-download).
    /// Files of live processes are left alone: they may be downloading right now.
    @discardableResult
    static func removeStaleTemporaryFiles(in folder: URL) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: ".partial-", options: .backwards) else { continue }
            let pidText = name[range.upperBound...].split(separator: "-").first.map(String.init) ?? ""
            guard let pid = Int32(pidText), pid > 0 else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                if unlink(folder.appendingPathComponent(name).path) == 0 { removed.append(name) }
            }
        }
        return removed
    }
}

/// What was checked about a cached file, stored beside it as JSON.
struct VerificationMarker: Codable, Equatable {
    var sha256: String
    var size: Int64
    var modified: Double
    var params: Int
    var format: String
    var url: String

    /// Whether the marked file is still the one the registry describes.
    func matches(_ file: ZooFile) -> Bool {
        if let expected = file.sha256, !SHA256.matches(digest: sha256, expected: expected) { return false }
        if let expected = file.size, expected != size { return false }
        // Without a pinned digest the URL is what names the file: a new URL means new weights.
        if file.sha256 == nil, url != file.url { return false }
        return format == file.format
    }

    static func read(from url: URL) -> VerificationMarker? {
        guard let data = try? FileIO.read(path: url.path, maxBytes: 1 << 16) else { return nil }
        return try? JSONDecoder().decode(VerificationMarker.self, from: data)
    }

    /// Writes the marker for `file`, taking size and time from the file as it is now.
    func write(besides file: URL) throws {
        var marker = self
        if let stat = ModelCache.fileStat(file.path) {
            marker.size = stat.size
            marker.modified = stat.modified
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try FileIO.writeAtomically(path: ModelCache.markerPath(for: file).path, data: try encoder.encode(marker))
    }
}
