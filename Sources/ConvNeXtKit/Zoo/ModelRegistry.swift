import Foundation

/// The models `convnext download` knows: the built-in timm weights, extended or overridden by a
/// registry file (`--registry FILE` or `$CONVNEXT_REGISTRY`; schema in docs/zoo.md).
public struct ModelRegistry: Sendable, Equatable {
    /// Entries in display order; `name.tag` is unique.
    public private(set) var entries: [ZooEntry]

    public init(entries: [ZooEntry]) {
        var seen: [String: Int] = [:]
        var unique: [ZooEntry] = []
        for entry in entries {
            if let i = seen[entry.id] {
                unique[i] = entry
            } else {
                seen[entry.id] = unique.count
                unique.append(entry)
            }
        }
        self.entries = unique
    }

    /// The environment variable naming a registry file.
    public static let environmentVariable = "CONVNEXT_REGISTRY"

    /// The built-in registry, extended by `file` when given, else by `$CONVNEXT_REGISTRY` when set.
    public static func standard(file: String? = nil,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelRegistry {
        let path = file ?? environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let path else { return builtIn }
        return try builtIn.merging(file: path)
    }

    /// The entry a name means: `convnext_atto.d2_in1k`, `convnext_atto` or `atto` (default tag),
    /// `atto.d2_in1k`. Nil when the registry has no such model.
    public func entry(named query: String) -> ZooEntry? {
        let parts = query.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let base = parts.first, !base.isEmpty, !base.contains("/") else { return nil }
        let names = base.hasPrefix("convnext_") ? [base] : [base, "convnext_" + base]
        for name in names {
            if parts.count == 2 {
                if let hit = entries.first(where: { $0.name == name && $0.tag == parts[1] }) { return hit }
            } else if let hit = defaultEntry(name: name) {
                return hit
            }
        }
        return nil
    }

    /// The default tag of `name`: the entry marked default (the last one marked, so a registry file
    /// can move the default), else the first entry of that name.
    public func defaultEntry(name: String) -> ZooEntry? {
        let all = entries.filter { $0.name == name }
        return all.last(where: \.isDefault) ?? all.first
    }

    /// Adds or replaces an entry. Marking it default clears the mark on the other tags of its name.
    public mutating func insert(_ entry: ZooEntry) {
        if entry.isDefault {
            for i in entries.indices where entries[i].name == entry.name && entries[i].tag != entry.tag {
                entries[i].isDefault = false
            }
        }
        if let i = entries.firstIndex(where: { $0.id == entry.id }) {
            entries[i] = entry
        } else {
            entries.append(entry)
        }
    }

    /// This registry with a registry file's entries applied (see ``merging(json:path:)``).
    public func merging(file path: String) throws -> ModelRegistry {
        let data = try FileIO.read(path: path, maxBytes: 16 << 20)
        return try merging(json: data, path: path)
    }

    /// This registry with the entries of a registry file applied: an entry naming an existing
    /// `name.tag` changes only the fields it gives (sources merge per source, and per field within
    /// a source); a new `name.tag` is added, and must give at least one source URL.
    public func merging(json data: Data, path: String) throws -> ModelRegistry {
        let file = try RegistryFile.decode(data, path: path)
        var result = self
        for (index, patch) in file.models.enumerated() {
            let label = "models[\(index)] (\(patch.name).\(patch.tag))"
            func fail(_ reason: String) -> ConvNeXtError { .invalidConfig(path: path, reason: "\(label): \(reason)") }
            var entry = result.entries.first { $0.id == "\(patch.name).\(patch.tag)" }
                ?? ZooEntry(name: patch.name, tag: patch.tag, isDefault: false, sources: [:], parameterCount: nil,
                            classes: nil)
            if let value = patch.isDefault { entry.isDefault = value }
            for (source, filePatch) in patch.sources ?? [:] {
                guard let filePatch else {
                    entry.sources[source] = nil  // `"github": null` removes a source
                    continue
                }
                let old = entry.sources[source]
                guard let url = filePatch.url ?? old?.url else { throw fail("source '\(source)' needs a url") }
                let format = filePatch.format ?? old?.format ?? Self.guessFormat(url: url)
                // A new URL means a new file: an old digest or size no longer describes it.
                let sameFile = filePatch.url == nil || filePatch.url == old?.url
                entry.sources[source] = ZooFile(url: url, sha256: filePatch.sha256 ?? (sameFile ? old?.sha256 : nil),
                                                size: filePatch.size ?? (sameFile ? old?.size : nil), format: format)
            }
            if let v = patch.params { entry.parameterCount = v }
            if let v = patch.classes { entry.classes = v }
            if let v = patch.inputSize { entry.inputSize = v }
            if let v = patch.cropPct { entry.preprocessing.cropPct = v }
            if let v = patch.interpolation { entry.preprocessing.interpolation = v }
            if let v = patch.mean { entry.preprocessing.mean = v }
            if let v = patch.std { entry.preprocessing.std = v }
            if let v = patch.ours { entry.ours = v }
            try Self.validate(entry, fail: fail)
            result.insert(entry)
        }
        return result
    }

    /// Checks everything the downloader and the cache rely on, so a bad registry fails at load.
    static func validate(_ entry: ZooEntry, fail: (String) -> ConvNeXtError) throws {
        guard !entry.sources.isEmpty else { throw fail("no sources: give at least one source with a url") }
        for (source, file) in entry.sources {
            guard isSafeName(source) else { throw fail("source name '\(source)' may only use letters, digits, '_' and '-'") }
            guard let url = URL(string: file.url), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  url.host != nil else {
                throw fail("source '\(source)': url '\(file.url)' is not an http(s) URL")
            }
            let name = file.fileName
            guard isSafeName(name.replacingOccurrences(of: ".", with: "_")), !name.hasPrefix(".") else {
                throw fail("source '\(source)': url '\(file.url)' does not end in a usable file name")
            }
            if let sha = file.sha256, !SHA256.isValidExpectation(sha) {
                throw fail("source '\(source)': sha256 '\(sha)' must be 8 to 64 hex digits (a full digest or its start)")
            }
            if let size = file.size, size <= 0 { throw fail("source '\(source)': size must be positive") }
            guard ZooFile.formats.contains(file.format) else {
                throw fail("source '\(source)': format '\(file.format)' must be one of \(ZooFile.formats.joined(separator: ", "))")
            }
        }
        if let p = entry.parameterCount, p <= 0 { throw fail("params must be positive") }
        if let c = entry.classes, c <= 0 { throw fail("classes must be positive") }
        guard entry.inputSize >= 32, entry.inputSize <= 8192, entry.inputSize % 32 == 0 else {
            throw fail("input_size \(entry.inputSize) must be a multiple of 32 between 32 and 8192")
        }
        let pre = entry.preprocessing
        guard pre.cropPct > 0, pre.cropPct <= 1 else { throw fail("crop_pct \(pre.cropPct) must be in (0, 1]") }
        guard interpolations.contains(pre.interpolation) else {
            throw fail("interpolation '\(pre.interpolation)' must be one of \(interpolations.joined(separator: ", "))")
        }
        guard pre.mean.count == 3, pre.std.count == 3 else { throw fail("mean and std need 3 values (R, G, B)") }
        guard pre.std.allSatisfy({ $0 > 0 && $0.isFinite }), pre.mean.allSatisfy(\.isFinite) else {
            throw fail("std must be positive and mean finite")
        }
    }

    /// Resampling filters the preprocessing understands.
    public static let interpolations = ["bicubic", "bilinear", "nearest"]

    /// Names and tags become folder names in the cache: keep them plain.
    static func isSafeName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 200
            && text.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "-" }
    }

    static func guessFormat(url: String) -> String {
        let ext = URL(string: url)?.pathExtension.lowercased() ?? ""
        return ZooFile.formats.contains(ext) ? ext : "safetensors"
    }
}
