import Foundation

/// One labelled image of an evaluation set.
public struct EvalSample: Sendable, Equatable {
    public var path: String
    public var label: Int
    public init(path: String, label: Int) {
        self.path = path
        self.label = label
    }
}

/// Finds the images of an evaluation set and their class indices.
///
/// Two layouts: `DIR/<class>/<image>` where `<class>` is a WordNet id (n01440764), a class
/// index, or a class name; or a list file of `relative/path index` lines (ImageNet's val.txt).
public enum EvalDataset {
    /// Image file extensions that are evaluated; other files are ignored.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "JPEG", "JPG", "PNG"]

    /// Scans `DIR/<class>/<image>`, mapping each folder name through `classes`.
    public static func scanFolders(_ dir: String, classes: ClassNameResolver) throws -> [EvalSample] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ConvNeXtError.invalidInput(path: dir, reason: "is not a folder of class folders")
        }
        let classDirs = try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        var samples: [EvalSample] = []
        var unknown: [String] = []
        for name in classDirs {
            let classPath = (dir as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: classPath, isDirectory: &isDir), isDir.boolValue else { continue }
            guard let label = classes.index(of: name) else {
                unknown.append(name)
                continue
            }
            let files = try fm.contentsOfDirectory(atPath: classPath).filter { !$0.hasPrefix(".") }.sorted()
            for file in files where imageExtensions.contains((file as NSString).pathExtension) {
                samples.append(EvalSample(path: (classPath as NSString).appendingPathComponent(file), label: label))
            }
        }
        if !unknown.isEmpty {
            let shown = unknown.prefix(5).joined(separator: ", ")
            throw ConvNeXtError.invalidInput(path: dir,
                reason: "class folder(s) \(shown)\(unknown.count > 5 ? ", ..." : "") match no class index, WordNet id or class name (give --labels)")
        }
        guard !samples.isEmpty else {
            throw ConvNeXtError.invalidInput(path: dir, reason: "no .jpg/.jpeg/.png images in <class>/ folders")
        }
        return samples
    }

    /// Reads `relative/path index` lines; paths are relative to `root`.
    public static func readList(_ listPath: String, root: String, numClasses: Int) throws -> [EvalSample] {
        let data = try FileIO.read(path: listPath, maxBytes: 256 << 20)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConvNeXtError.invalidInput(path: listPath, reason: "is not UTF-8 text")
        }
        var samples: [EvalSample] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let label = Int(parts[parts.count - 1]), label >= 0, label < numClasses else {
                throw ConvNeXtError.invalidInput(path: listPath, reason: "line \(n + 1): expected `relative/path index` with an index below \(numClasses)")
            }
            let rel = parts.dropLast().joined(separator: " ")
            samples.append(EvalSample(path: (root as NSString).appendingPathComponent(rel), label: label))
        }
        guard !samples.isEmpty else { throw ConvNeXtError.invalidInput(path: listPath, reason: "lists no images") }
        return samples
    }
}

/// Maps a class folder name to a class index: an index, a WordNet id, or a class name.
public struct ClassNameResolver: Sendable {
    public var numClasses: Int
    private var byKey: [String: Int] = [:]

    /// `ids` (e.g. WordNet ids) and `names` are in class-index order; either may be empty.
    public init(numClasses: Int, ids: [String], names: [String]) {
        self.numClasses = numClasses
        for (i, id) in ids.enumerated() where i < numClasses && !id.isEmpty { byKey[Self.key(id)] = byKey[Self.key(id)] ?? i }
        for (i, name) in names.enumerated() where i < numClasses {
            // ImageNet names like "tench, Tinca tinca": the whole name and its first synonym.
            let first = name.split(separator: ",").first.map(String.init) ?? name
            for candidate in [name, first] where !candidate.isEmpty {
                byKey[Self.key(candidate)] = byKey[Self.key(candidate)] ?? i
            }
        }
    }

    private static func key(_ s: String) -> String {
        s.lowercased().replacingOccurrences(of: "_", with: " ").trimmingCharacters(in: .whitespaces)
    }

    public func index(of folder: String) -> Int? {
        if let i = Int(folder), i >= 0, i < numClasses { return i }
        return byKey[Self.key(folder)]
    }
}
