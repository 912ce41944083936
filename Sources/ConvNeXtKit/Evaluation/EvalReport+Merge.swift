import Foundation

extension EvalReport {
    /// Sums shard reports into the report of the whole set: counts add, rates are recomputed.
    ///
    /// Refused, with one line naming the files: reports of other models, preprocessing, image sets,
    /// label files or shard counts than the first, and shard sets that leave a shard out or give one twice.
    public static func merge(_ inputs: [(path: String, report: EvalReport)]) throws -> EvalReport {
        guard let (firstPath, first) = inputs.first else { throw ConvNeXtError.usage("merge needs at least one shard result") }
        var owner: [Int: String] = [:]
        for (path, r) in inputs {
            try checkCompatible(r, path: path, with: first, firstPath: firstPath)
            for index in r.shard.indices {
                guard index >= 0, index < first.shard.count else {
                    throw ConvNeXtError.invalidInput(path: path, reason: "names shard \(index) of \(first.shard.count), outside 0...\(first.shard.count - 1)")
                }
                if let earlier = owner[index] {
                    throw ConvNeXtError.usage("shard \(index)/\(first.shard.count) is given twice (\(earlier) and \(path))")
                }
                owner[index] = path
            }
        }
        let missing = (0..<first.shard.count).filter { owner[$0] == nil }
        if !missing.isEmpty {
            let shown = missing.prefix(8).map { "\($0)/\(first.shard.count)" }.joined(separator: ", ")
            throw ConvNeXtError.usage("shard\(missing.count > 1 ? "s" : "") \(shown)\(missing.count > 8 ? ", ..." : "") missing: \(owner.count) of \(first.shard.count) shards given")
        }
        var merged = first
        merged.shard = ShardSet(count: first.shard.count, indices: Array(0..<first.shard.count))
        for (_, r) in inputs.dropFirst() {
            merged.images += r.images
            merged.failures += r.failures
            merged.seconds += r.seconds
            if let a = r.agreementCount { merged.agreementCount = (merged.agreementCount ?? 0) + a }
            if let s = r.cosineSum { merged.cosineSum = (merged.cosineSum ?? 0) + s }
            for m in merged.models.indices { merged.models[m] = merged.models[m].adding(r.models[m]) }
        }
        merged.failures.sort { $0.path < $1.path }
        return merged
    }

    /// Throws when `r` cannot be summed with `first` (another model, preprocessing, set, label file or N).
    static func checkCompatible(_ r: EvalReport, path: String, with first: EvalReport, firstPath: String) throws {
        func refuse(_ what: String) -> ConvNeXtError {
            .usage("\(path) and \(firstPath) differ in \(what): only shards of one evaluation can be merged")
        }
        guard r.shard.count == first.shard.count else {
            throw ConvNeXtError.usage("\(path) is a shard of \(r.shard.count), \(firstPath) of \(first.shard.count): every shard must use the same --shard N")
        }
        guard r.models.map(\.sha256) == first.models.map(\.sha256) else {
            let a = r.models.map { "\($0.model) \($0.sha256.prefix(12))" }.joined(separator: " + ")
            let b = first.models.map { "\($0.model) \($0.sha256.prefix(12))" }.joined(separator: " + ")
            throw ConvNeXtError.usage("\(path) evaluated \(a), \(firstPath) evaluated \(b): shards of different models cannot be merged")
        }
        guard r.preprocessing == first.preprocessing else {
            let keys = Set(r.preprocessing.keys).union(first.preprocessing.keys).sorted().filter { r.preprocessing[$0] != first.preprocessing[$0] }
            throw refuse("preprocessing (" + keys.map { "\($0) \(r.preprocessing[$0] ?? "-") vs \(first.preprocessing[$0] ?? "-")" }.joined(separator: ", ") + ")")
        }
        guard r.dataset.sha256 == first.dataset.sha256, r.dataset.images == first.dataset.images else {
            throw refuse("image set (\(r.dataset.images) vs \(first.dataset.images) images, list digest \(r.dataset.sha256.prefix(12)) vs \(first.dataset.sha256.prefix(12)))")
        }
        guard r.validLabels?.sha256 == first.validLabels?.sha256 else { throw refuse("--valid-labels") }
        guard r.realLabels?.sha256 == first.realLabels?.sha256 else { throw refuse("--real-labels") }
    }
}

extension EvalReport.ModelCounts {
    /// These counts plus `other`'s (same model), per class and ReaL included.
    func adding(_ other: EvalReport.ModelCounts) -> EvalReport.ModelCounts {
        var sum = self
        sum.correctTop1 += other.correctTop1
        sum.correctTop5 += other.correctTop5
        var classes: [Int: EvalReport.ClassCounts] = [:]
        for c in perClass + other.perClass {
            let earlier = classes[c.classIndex]?.hits ?? EvalReport.HitCounts()
            classes[c.classIndex] = EvalReport.ClassCounts(classIndex: c.classIndex, hits: earlier + c.hits)
        }
        sum.perClass = classes.values.sorted { $0.classIndex < $1.classIndex }
        if let a = real, let b = other.real { sum.real = a + b }
        return sum
    }
}
