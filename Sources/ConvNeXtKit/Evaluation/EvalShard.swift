import Foundation

/// Which part of an evaluation set one process evaluates: shard `index` of `count`.
///
/// Shard I of N takes the images at positions i of the sorted sample list with i % N == I
/// (strided, not contiguous: class folders are listed class by class, so every shard gets a
/// share of every class and shards take about equally long).
public struct EvalShard: Sendable, Equatable, Codable {
    public var index: Int
    public var count: Int

    /// The whole set: shard 0 of 1.
    public static let whole = EvalShard(index: 0, count: 1)

    /// The largest shard count accepted.
    public static let maxCount = 1_000_000

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N`, or `/N` with I from `environment["JOB_COMPLETION_INDEX"]` (what a Kubernetes
    /// Indexed Job sets). Errors are one line naming `--shard`.
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> EvalShard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[1]), count >= 1, count <= maxCount else {
            throw ConvNeXtError.usage("--shard expects I/N (0 <= I < N, N from 1 to \(maxCount)) or /N, got '\(text)'")
        }
        let index: Int
        if parts[0].isEmpty {
            guard let value = environment["JOB_COMPLETION_INDEX"] else {
                throw ConvNeXtError.usage("--shard /\(count) takes the shard index from $JOB_COMPLETION_INDEX, which is not set")
            }
            guard let parsed = Int(value.trimmingCharacters(in: .whitespaces)) else {
                throw ConvNeXtError.usage("--shard /\(count): $JOB_COMPLETION_INDEX is '\(value)', not a whole number")
            }
            index = parsed
        } else {
            guard let parsed = Int(parts[0]) else {
                throw ConvNeXtError.usage("--shard expects I/N (0 <= I < N) or /N, got '\(text)'")
            }
            index = parsed
        }
        guard index >= 0, index < count else {
            throw ConvNeXtError.usage("--shard \(index)/\(count): the index must be from 0 to \(count - 1)")
        }
        return EvalShard(index: index, count: count)
    }

    /// The positions (into a list of `total` samples) this shard evaluates, ascending.
    public func positions(total: Int) -> [Int] {
        guard index < total else { return [] }
        return Array(stride(from: index, to: total, by: count))
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }
}
