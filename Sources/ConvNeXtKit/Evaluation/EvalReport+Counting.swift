import Foundation

extension EvalReport {
    /// What was evaluated, besides the records: the facts a report keeps so that shards can be checked and merged.
    public struct Context: Sendable {
        public var shard: EvalShard
        public var dataset: Dataset
        public var preprocessing: [String: String]
        public var validLabels: LabelFile?
        public var realLabels: LabelFile?
        /// Per model: the name given, the model file's SHA-256 and the parameter count when known.
        public var models: [(name: String, sha256: String, parameters: Int?)]

        public init(shard: EvalShard, dataset: Dataset, preprocessing: [String: String], validLabels: LabelFile?,
                    realLabels: LabelFile?, models: [(name: String, sha256: String, parameters: Int?)]) {
            self.shard = shard
            self.dataset = dataset
            self.preprocessing = preprocessing
            self.validLabels = validLabels
            self.realLabels = realLabels
            self.models = models
        }
    }

    /// Counts `result` (whose records are those of `samples`, in order). `realLabels`, when given,
    /// holds each sample's ReaL label list.
    public static func counting(_ result: EvalResult, samples: [EvalSample], realLabels: [[Int]]?, context: Context) -> EvalReport {
        let modelCount = result.metrics.count
        var models = (0..<modelCount).map { m in
            ModelCounts(model: context.models[m].name, sha256: context.models[m].sha256, engine: result.metrics[m].engine,
                        real: realLabels == nil ? nil : RealCounts(), parameters: context.models[m].parameters)
        }
        var perClass = [[Int: ClassCounts]](repeating: [:], count: modelCount)
        var images = 0, agreements = 0
        var cosineSum = 0.0
        var failures: [Failure] = []
        for (i, record) in result.records.enumerated() {
            let sample = samples[i]
            if let failure = record.failure {
                failures.append(Failure(path: sample.path, error: failure))
                continue
            }
            images += 1
            let real = realLabels?[i]
            for (m, prediction) in record.predictions.enumerated() {
                let hit1 = prediction.hitTop1(sample.label), hit5 = prediction.hitTop5(sample.label)
                if hit1 { models[m].correctTop1 += 1 }
                if hit5 { models[m].correctTop5 += 1 }
                perClass[m][sample.label, default: ClassCounts(classIndex: sample.label)].hits.add(top1: hit1, top5: hit5)
                // timm's RealLabelsImagenet: images without ReaL labels are left out.
                if let real, !real.isEmpty {
                    models[m].real?.add(top1: prediction.top5.first.map { real.contains($0.index) } ?? false,
                                        top5: prediction.top5.contains { real.contains($0.index) })
                }
            }
            if record.predictions.count == 2, record.predictions[0].top5.first?.index == record.predictions[1].top5.first?.index {
                agreements += 1
            }
            cosineSum += record.cosine ?? 0
        }
        for m in 0..<modelCount { models[m].perClass = perClass[m].values.sorted { $0.classIndex < $1.classIndex } }
        return EvalReport(shard: ShardSet(count: context.shard.count, indices: [context.shard.index]), dataset: context.dataset,
                          preprocessing: context.preprocessing, validLabels: context.validLabels, realLabels: context.realLabels,
                          models: models, images: images, failures: failures.sorted { $0.path < $1.path },
                          agreementCount: modelCount == 2 ? agreements : nil, cosineSum: modelCount == 2 ? cosineSum : nil,
                          seconds: result.seconds)
    }
}
