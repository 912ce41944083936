import Foundation

/// Class names, index i naming class i, with optional ids (WordNet ids for ImageNet).
public struct LabelSet: Sendable, Equatable {
    public var names: [String]
    /// One per name; empty strings when the source had no ids.
    public var ids: [String]

    public init(names: [String], ids: [String]? = nil) {
        precondition(ids == nil || ids?.count == names.count, "ids and names differ in count")
        self.names = names
        self.ids = ids ?? [String](repeating: "", count: names.count)
    }

    public var count: Int { names.count }

    /// The 1000 ImageNet-1k classes in timm's order, built in.
    public static let imagenet1k: LabelSet = {
        var names: [String] = [], ids: [String] = []
        for line in imagenet1kTable.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            ids.append(String(parts[0]))
            names.append(parts.count > 1 ? String(parts[1]) : "")
        }
        return LabelSet(names: names, ids: ids)
    }()

    /// The short name of class `index`: the text before the first comma ("tabby" for "tabby, tabby cat").
    public func shortName(_ index: Int) -> String {
        guard names.indices.contains(index) else { return "class \(index)" }
        return names[index].split(separator: ",", maxSplits: 1).first.map(String.init) ?? names[index]
    }

    /// Reads a labels file: either one name per line (line i names class i), or
    /// `index<TAB>id<TAB>name` lines covering indices 0..<n exactly once, in any order.
    public static func read(path: String) throws -> LabelSet {
        let data = try FileIO.read(path: path, maxBytes: 16 << 20)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConvNeXtError.invalidInput(path: path, reason: "labels file is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Parses labels text (see `read(path:)`); `path` names the source in errors.
    public static func parse(_ text: String, path: String) throws -> LabelSet {
        // isNewline covers "\n", "\r" and the single Character "\r\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard !lines.isEmpty else { throw ConvNeXtError.invalidInput(path: path, reason: "labels file has no labels") }

        let tabular = lines.allSatisfy { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            return f.count == 3 && Int(f[0]) != nil
        }
        if tabular {
            var names = [String?](repeating: nil, count: lines.count)
            var ids = [String](repeating: "", count: lines.count)
            for (n, line) in lines.enumerated() {
                let f = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard let index = Int(f[0]), names.indices.contains(index) else {
                    throw ConvNeXtError.invalidInput(path: path,
                        reason: "line \(n + 1): index \(f[0]) is outside 0..<\(lines.count) (one line per class)")
                }
                guard names[index] == nil else {
                    throw ConvNeXtError.invalidInput(path: path, reason: "line \(n + 1): index \(index) appears twice")
                }
                names[index] = String(f[2])
                ids[index] = String(f[1])
            }
            return LabelSet(names: names.map { $0 ?? "" }, ids: ids)
        }
        if let bad = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ConvNeXtError.invalidInput(path: path, reason: "line \(bad + 1) is empty (expected one class name per line)")
        }
        return LabelSet(names: lines.map { String($0) })
    }
}
