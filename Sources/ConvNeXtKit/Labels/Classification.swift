import Foundation

/// One class of a top-k list.
public struct ClassScore: Sendable, Equatable, Codable {
    public var index: Int
    public var probability: Float
    public init(index: Int, probability: Float) {
        self.index = index
        self.probability = probability
    }
}

/// Logits to probabilities and ranked classes.
public enum Classification {
    /// Softmax, stable: the largest logit is subtracted first and sums are taken in Double,
    /// so large logits neither overflow nor lose the small classes. Non-finite input yields NaN.
    public static func softmax(_ logits: [Float]) -> [Float] {
        guard logits.allSatisfy(\.isFinite), let top = logits.max() else {
            return [Float](repeating: .nan, count: logits.count)
        }
        let exps = logits.map { exp(Double($0) - Double(top)) }
        let total = exps.reduce(0, +)
        return exps.map { Float($0 / total) }
    }

    /// The `k` highest scores, highest first; equal scores keep the lower index first.
    /// NaNs rank last.
    public static func topK(_ scores: [Float], k: Int) -> [ClassScore] {
        let order = scores.indices.sorted { a, b in
            let x = scores[a], y = scores[b]
            if x.isNaN != y.isNaN { return y.isNaN }
            if x != y && !x.isNaN { return x > y }
            return a < b
        }
        return order.prefix(max(k, 0)).map { ClassScore(index: $0, probability: scores[$0]) }
    }
}
