import Foundation

/// The registry file as written: `{"models": [...]}` (or a bare array of entries), every field
/// but `name` and `tag` optional because an entry may change only part of a built-in one.
///
/// Unknown keys are errors: a misspelt `sha256` must not silently turn verification off.
struct RegistryFile: Decodable {
    var models: [EntryPatch]

    static func decode(_ data: Data, path: String) throws -> RegistryFile {
        do {
            if let first = data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }), first == UInt8(ascii: "[") {
                return RegistryFile(models: try JSONDecoder().decode([EntryPatch].self, from: data))
            }
            return try JSONDecoder().decode(RegistryFile.self, from: data)
        } catch let error as DecodingError {
            throw ConvNeXtError.invalidConfig(path: path, reason: "not a valid registry file: \(Self.describe(error))")
        } catch let error as ConvNeXtError {
            throw error
        } catch {
            throw ConvNeXtError.invalidConfig(path: path, reason: "not a valid registry file: \(error.localizedDescription)")
        }
    }

    init(models: [EntryPatch]) { self.models = models }

    init(from decoder: Decoder) throws {
        try AnyKey.check(decoder, allowed: ["models", "version", "comment", "cache"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        if let version = try c.decodeIfPresent(Int.self, forKey: AnyKey("version")), version != 1 {
            throw DecodingError.dataCorruptedError(forKey: AnyKey("version"), in: c,
                                                   debugDescription: "version \(version) is not supported (expected 1)")
        }
        models = try c.decode([EntryPatch].self, forKey: AnyKey("models"))
    }

    /// One line saying where in the JSON the problem is.
    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            let text = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "" : " at \(text.hasPrefix(".") ? String(text.dropFirst()) : text)"
        }
        switch error {
        case .typeMismatch(let type, let context): return "wrong type\(at(context.codingPath)) (expected \(type))"
        case .valueNotFound(_, let context): return "missing value\(at(context.codingPath))"
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)'\(at(context.codingPath))"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?).map { " (\($0.localizedDescription))" } ?? ""
            return "\(context.debugDescription)\(at(context.codingPath))\(underlying)"
        @unknown default: return "\(error)"
        }
    }
}

/// One entry of a registry file (all fields but the key optional).
struct EntryPatch: Decodable {
    var name: String
    var tag: String
    var isDefault: Bool?
    var sources: [String: FilePatch?]?
    var params: Int?
    var classes: Int?
    var inputSize: Int?
    var cropPct: Double?
    var interpolation: String?
    var mean: [Float]?
    var std: [Float]?
    var ours: MeasuredFigures?

    /// Keys `convnext zoo --json` writes for people, ignored on reading so its output is a valid file.
    static let informational = ["board", "downloaded", "id", "default_source"]

    init(from decoder: Decoder) throws {
        try AnyKey.check(decoder, allowed: ["name", "tag", "default", "sources", "params", "classes", "input_size",
                                            "crop_pct", "interpolation", "mean", "std", "ours"] + Self.informational)
        let c = try decoder.container(keyedBy: AnyKey.self)
        name = try c.decode(String.self, forKey: AnyKey("name"))
        tag = try c.decode(String.self, forKey: AnyKey("tag"))
        for (key, value) in [("name", name), ("tag", tag)] where !ModelRegistry.isSafeName(value) {
            throw DecodingError.dataCorruptedError(forKey: AnyKey(key), in: c,
                debugDescription: "\(key) '\(value)' may only use letters, digits, '_' and '-'")
        }
        isDefault = try c.decodeIfPresent(Bool.self, forKey: AnyKey("default"))
        sources = try c.decodeIfPresent([String: FilePatch?].self, forKey: AnyKey("sources"))
        params = try c.decodeIfPresent(Int.self, forKey: AnyKey("params"))
        classes = try c.decodeIfPresent(Int.self, forKey: AnyKey("classes"))
        inputSize = try c.decodeIfPresent(Int.self, forKey: AnyKey("input_size"))
        cropPct = try c.decodeIfPresent(Double.self, forKey: AnyKey("crop_pct"))
        interpolation = try c.decodeIfPresent(String.self, forKey: AnyKey("interpolation"))
        mean = try c.decodeIfPresent([Float].self, forKey: AnyKey("mean"))
        std = try c.decodeIfPresent([Float].self, forKey: AnyKey("std"))
        ours = try c.decodeIfPresent(MeasuredFigures.self, forKey: AnyKey("ours"))
    }
}

/// One source of a registry file entry.
struct FilePatch: Decodable {
    var url: String?
    var sha256: String?
    var size: Int64?
    var format: String?

    init(from decoder: Decoder) throws {
        try AnyKey.check(decoder, allowed: ["url", "sha256", "size", "format"])
        let c = try decoder.container(keyedBy: AnyKey.self)
        url = try c.decodeIfPresent(String.self, forKey: AnyKey("url"))
        sha256 = try c.decodeIfPresent(String.self, forKey: AnyKey("sha256"))?.lowercased()
        size = try c.decodeIfPresent(Int64.self, forKey: AnyKey("size"))
        format = try c.decodeIfPresent(String.self, forKey: AnyKey("format"))
    }
}

/// A coding key for any string, to list and check an object's keys.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }

    /// Throws when the object being decoded has a key outside `allowed`.
    static func check(_ decoder: Decoder, allowed: [String]) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = c.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) }) {
            throw DecodingError.dataCorruptedError(forKey: AnyKey(unknown), in: c,
                debugDescription: "unknown key '\(unknown)' (allowed: \(allowed.joined(separator: ", ")))")
        }
    }
}

extension ZooEntry: Encodable {
    /// Encodes as a registry file entry (the schema of docs/zoo.md).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(name, forKey: AnyKey("name"))
        try c.encode(tag, forKey: AnyKey("tag"))
        try c.encode(isDefault, forKey: AnyKey("default"))
        try c.encode(sources, forKey: AnyKey("sources"))
        try c.encodeIfPresent(parameterCount, forKey: AnyKey("params"))
        try c.encodeIfPresent(classes, forKey: AnyKey("classes"))
        try c.encode(inputSize, forKey: AnyKey("input_size"))
        try c.encode(preprocessing.cropPct, forKey: AnyKey("crop_pct"))
        try c.encode(preprocessing.interpolation, forKey: AnyKey("interpolation"))
        // Through the shortest Float text, so 0.485 is written as 0.485 and not 0.48500001430511475.
        let shortest = { (v: Float) in Double(String(v)) ?? Double(v) }
        try c.encode(preprocessing.mean.map(shortest), forKey: AnyKey("mean"))
        try c.encode(preprocessing.std.map(shortest), forKey: AnyKey("std"))
        try c.encodeIfPresent(ours, forKey: AnyKey("ours"))
    }
}
