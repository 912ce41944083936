import Foundation

/// timm validate.py's label files: `--valid-labels` (a class subset) and `--real-labels` (ReaL).
public enum EvalLabelFiles {
    /// Reads a `--valid-labels` file: one class index per line, as timm's
    /// `[int(line.rstrip()) for line in f]` (blank lines are skipped). Every index must be below
    /// `numClasses`, and none may repeat.
    public static func readValidLabels(path: String, numClasses: Int) throws -> (classes: [Int], sha256: String) {
        let data = try FileIO.read(path: path, maxBytes: 16 << 20)
        guard let text = String(data: data, encoding: .utf8) else { throw ConvNeXtError.invalidInput(path: path, reason: "is not UTF-8 text") }
        var classes: [Int] = []
        var seen = Set<Int>()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            guard let index = Int(line), index >= 0, index < numClasses else {
                throw ConvNeXtError.invalidInput(path: path, reason: "line \(n + 1): '\(line.prefix(40))' is not a class index below \(numClasses)")
            }
            guard seen.insert(index).inserted else {
                throw ConvNeXtError.invalidInput(path: path, reason: "line \(n + 1): class \(index) is listed twice")
            }
            classes.append(index)
        }
        guard !classes.isEmpty else { throw ConvNeXtError.invalidInput(path: path, reason: "lists no class index") }
        return (classes, SHA256.hex(data))
    }

    /// Reads a ReaL labels JSON (`real.json`): a list with, per image, the list of its valid class
    /// indices (possibly empty: such an image is left out of the ReaL accuracy, as in timm).
    public static func readRealLabels(path: String, numClasses: Int) throws -> (labels: [[Int]], sha256: String) {
        let data = try FileIO.read(path: path, maxBytes: 256 << 20)
        let labels: [[Int]]
        do {
            labels = try JSONDecoder().decode([[Int]].self, from: data)
        } catch {
            throw ConvNeXtError.invalidInput(path: path, reason: "is not a JSON list of lists of class indices (the form of real.json)")
        }
        for (i, row) in labels.enumerated() {
            if let bad = row.first(where: { $0 < 0 || $0 >= numClasses }) {
                throw ConvNeXtError.invalidInput(path: path, reason: "entry \(i): \(bad) is not a class index below \(numClasses)")
            }
        }
        guard !labels.isEmpty else { throw ConvNeXtError.invalidInput(path: path, reason: "lists no image") }
        return (labels, SHA256.hex(data))
    }

    /// Gives each sample its ReaL labels: entry k of `labels` belongs to the k-th image in file-name
    /// order (`ILSVRC2012_val_00000001.JPEG` first), as timm's `RealLabelsImagenet` maps them.
    /// `samples` is the whole set (before `--limit` and `--shard`); the counts must match.
    public static func assignRealLabels(_ labels: [[Int]], to samples: [EvalSample], path: String) throws -> [[Int]] {
        guard labels.count == samples.count else {
            throw ConvNeXtError.invalidInput(path: path, reason: "has \(labels.count) entries for \(samples.count) images (one list per image, in file-name order)")
        }
        let order = samples.indices.sorted {
            let a = FileIO.namePart(of: samples[$0].path), b = FileIO.namePart(of: samples[$1].path)
            return a != b ? a < b : samples[$0].path < samples[$1].path
        }
        var assigned = [[Int]](repeating: [], count: samples.count)
        for (k, i) in order.enumerated() { assigned[i] = labels[k] }
        return assigned
    }
}
