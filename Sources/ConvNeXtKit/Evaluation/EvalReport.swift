import Foundation

/// The mergeable result of `convnext eval` (JSON `"schema": 1`): raw counts, never only rates, so
/// that shards evaluated on different machines sum to exactly the counts of one unsharded run.
///
/// Rates (`top1`, `top5`, `agreement`, `mean_cosine`, per-class accuracy) are written next to the
/// counts for people and older readers, and recomputed from the counts when a report is read.
public struct EvalReport: Sendable, Equatable {
    /// The version of this JSON form; `convnext merge` refuses any other.
    public static let schemaVersion = 1

    /// Images counted and how many of them a model got right at top-1 and top-5 (rates written
    /// beside them, never read back).
    public struct HitCounts: Sendable, Equatable, Codable {
        public var images: Int
        public var correctTop1: Int
        public var correctTop5: Int

        public init(images: Int = 0, correctTop1: Int = 0, correctTop5: Int = 0) {
            self.images = images
            self.correctTop1 = correctTop1
            self.correctTop5 = correctTop5
        }

        /// Counts one more image.
        public mutating func add(top1: Bool, top5: Bool) {
            images += 1
            if top1 { correctTop1 += 1 }
            if top5 { correctTop5 += 1 }
        }

        /// Both counts summed.
        public static func + (a: HitCounts, b: HitCounts) -> HitCounts {
            HitCounts(images: a.images + b.images, correctTop1: a.correctTop1 + b.correctTop1, correctTop5: a.correctTop5 + b.correctTop5)
        }

        enum CodingKeys: String, CodingKey { case images, correctTop1 = "correct_top1", correctTop5 = "correct_top5", top1, top5 }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(images: try c.decode(Int.self, forKey: .images), correctTop1: try c.decode(Int.self, forKey: .correctTop1),
                      correctTop5: try c.decode(Int.self, forKey: .correctTop5))
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(images, forKey: .images)
            try c.encode(correctTop1, forKey: .correctTop1)
            try c.encode(correctTop5, forKey: .correctTop5)
            try c.encode(EvalReport.rate(correctTop1, images), forKey: .top1)
            try c.encode(EvalReport.rate(correctTop5, images), forKey: .top5)
        }
    }

    /// ReaL accuracy counts: images with at least one ReaL label, and hits among those labels.
    public typealias RealCounts = HitCounts

    /// One class's evaluated images and how many a model got right (one JSON object: `class` and the counts).
    public struct ClassCounts: Sendable, Equatable, Codable {
        public var classIndex: Int
        public var hits: HitCounts

        public init(classIndex: Int, hits: HitCounts = HitCounts()) {
            self.classIndex = classIndex
            self.hits = hits
        }

        enum CodingKeys: String, CodingKey { case classIndex = "class" }

        public init(from decoder: Decoder) throws {
            self.init(classIndex: try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .classIndex),
                      hits: try HitCounts(from: decoder))
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(classIndex, forKey: .classIndex)
            try hits.encode(to: encoder)
        }
    }

    /// One evaluated model: what it is, and its counts.
    public struct ModelCounts: Sendable, Equatable, Codable {
        /// The path or registry name given on the command line.
        public var model: String
        /// SHA-256 of the model file: what `convnext merge` compares.
        public var sha256: String
        public var engine: String
        public var correctTop1: Int
        public var correctTop5: Int
        /// Classes with at least one evaluated image, ascending.
        public var perClass: [ClassCounts]
        /// Present when `--real-labels` was given.
        public var real: RealCounts?
        /// Parameter count, when the model file records it.
        public var parameters: Int?

        public init(model: String, sha256: String, engine: String, correctTop1: Int = 0, correctTop5: Int = 0,
                    perClass: [ClassCounts] = [], real: RealCounts? = nil, parameters: Int? = nil) {
            self.parameters = parameters
            self.model = model
            self.sha256 = sha256
            self.engine = engine
            self.correctTop1 = correctTop1
            self.correctTop5 = correctTop5
            self.perClass = perClass
            self.real = real
        }

        enum CodingKeys: String, CodingKey {
            case model, sha256, engine, correctTop1 = "correct_top1", correctTop5 = "correct_top5", perClass = "per_class", real, parameters
        }
    }

    /// A label file that changes what is counted (`--valid-labels`, `--real-labels`).
    public struct LabelFile: Sendable, Equatable, Codable {
        public var path: String
        public var sha256: String
        /// Classes listed (valid labels) or images listed (ReaL).
        public var entries: Int

        public init(path: String, sha256: String, entries: Int) {
            self.path = path
            self.sha256 = sha256
            self.entries = entries
        }
    }

    /// The image set: where it is, how many images, and a digest of its sorted list.
    public struct Dataset: Sendable, Equatable, Codable {
        public var root: String
        public var list: String?
        /// Images of the whole set (after `--limit`), before sharding.
        public var images: Int
        /// SHA-256 of the `relative/path label` lines in evaluation order: shards of different
        /// sets (or of the same set listed in another order) have different digests.
        public var sha256: String

        public init(root: String, list: String?, images: Int, sha256: String) {
            self.root = root
            self.list = list
            self.images = images
            self.sha256 = sha256
        }
    }

    /// Which shards of how many this report covers (one index for a shard, all for a merge).
    public struct ShardSet: Sendable, Equatable, Codable {
        public var count: Int
        public var indices: [Int]

        public init(count: Int, indices: [Int]) {
            self.count = count
            self.indices = indices
        }
    }

    /// An image that could not be evaluated.
    public struct Failure: Sendable, Equatable, Codable {
        public var path: String
        public var error: String
        public init(path: String, error: String) {
            self.path = path
            self.error = error
        }
    }

    public var shard: ShardSet
    public var dataset: Dataset
    /// The preprocessing every model's input was made with (`EvalReport.describe(_:)`).
    public var preprocessing: [String: String]
    public var validLabels: LabelFile?
    public var realLabels: LabelFile?
    public var models: [ModelCounts]
    /// Images evaluated (failures not included).
    public var images: Int
    /// Sorted by path.
    public var failures: [Failure]
    /// Images on which both models have the same top-1 (two models only).
    public var agreementCount: Int?
    /// Sum over the images of the cosine of the two models' logits (two models only).
    public var cosineSum: Double?
    /// Wall-clock seconds of the evaluation (summed over shards by a merge).
    public var seconds: Double

    public init(shard: ShardSet, dataset: Dataset, preprocessing: [String: String], validLabels: LabelFile?,
                realLabels: LabelFile?, models: [ModelCounts], images: Int, failures: [Failure], agreementCount: Int?,
                cosineSum: Double?, seconds: Double) {
        self.shard = shard
        self.dataset = dataset
        self.preprocessing = preprocessing
        self.validLabels = validLabels
        self.realLabels = realLabels
        self.models = models
        self.images = images
        self.failures = failures
        self.agreementCount = agreementCount
        self.cosineSum = cosineSum
        self.seconds = seconds
    }

    /// `hits / total`, 0 when nothing was counted.
    public static func rate(_ hits: Int, _ total: Int) -> Double { total > 0 ? Double(hits) / Double(total) : 0 }

    /// Top-1 agreement of the two models, from the counts.
    public var agreement: Double? { agreementCount.map { Self.rate($0, images) } }

    /// Mean output cosine of the two models, from the sum.
    public var meanCosine: Double? { cosineSum.map { images > 0 ? $0 / Double(images) : 0 } }

    /// The preprocessing settings as the report records them (and `convnext merge` compares them).
    public static func describe(_ o: PreprocessOptions) -> [String: String] {
        func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: ",") }
        return ["size": "\(o.size)", "crop_pct": "\(o.cropPct)", "crop_mode": o.cropMode.rawValue,
                "interpolation": o.interpolation.rawValue, "resize_mode": o.resizeMode.rawValue,
                "mean": list(o.mean), "std": list(o.std), "exif_orientation": o.applyExifOrientation ? "true" : "false"]
    }

    /// The digest `Dataset.sha256` records for `samples` (paths made relative to `root`).
    public static func datasetDigest(_ samples: [EvalSample], root: String) -> String {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        var hasher = SHA256()
        for s in samples {
            let relative = s.path.hasPrefix(prefix) ? String(s.path.dropFirst(prefix.count)) : s.path
            hasher.update(Data("\(relative) \(s.label)\n".utf8))
        }
        return hasher.hexDigest()
    }
}

extension EvalReport: Codable {
    enum CodingKeys: String, CodingKey {
        case schema, shard, dataset, preprocessing, validLabels = "valid_labels", realLabels = "real_labels", models, images
        case failed, failures, agreementCount = "agreement_count", cosineSum = "cosine_sum", seconds
        // Written for people and older readers (the form before schema 1); never read back.
        case agreement, meanCosine = "mean_cosine", imagesPerSecond = "images_per_second", model, engine
        case top1, top5, correctTop1 = "correct_top1", correctTop5 = "correct_top5"
    }

    /// The per-model rates written beside the counts.
    struct ModelView: Encodable {
        var counts: ModelCounts
        var images: Int
        var failed: Int
        var seconds: Double

        enum CodingKeys: String, CodingKey { case images, failed, top1, top5, imagesPerSecond = "images_per_second" }

        func encode(to encoder: Encoder) throws {
            try counts.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(images, forKey: .images)
            try c.encode(failed, forKey: .failed)
            try c.encode(EvalReport.rate(counts.correctTop1, images), forKey: .top1)
            try c.encode(EvalReport.rate(counts.correctTop5, images), forKey: .top5)
            try c.encode(seconds > 0 ? Double(images) / seconds : 0, forKey: .imagesPerSecond)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try c.decode(Int.self, forKey: .schema)
        guard schema == Self.schemaVersion else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: c, debugDescription: "schema \(schema), this tool reads schema \(Self.schemaVersion)")
        }
        self.init(shard: try c.decode(ShardSet.self, forKey: .shard), dataset: try c.decode(Dataset.self, forKey: .dataset),
                  preprocessing: try c.decode([String: String].self, forKey: .preprocessing),
                  validLabels: try c.decodeIfPresent(LabelFile.self, forKey: .validLabels),
                  realLabels: try c.decodeIfPresent(LabelFile.self, forKey: .realLabels),
                  models: try c.decode([ModelCounts].self, forKey: .models), images: try c.decode(Int.self, forKey: .images),
                  failures: try c.decode([Failure].self, forKey: .failures),
                  agreementCount: try c.decodeIfPresent(Int.self, forKey: .agreementCount),
                  cosineSum: try c.decodeIfPresent(Double.self, forKey: .cosineSum), seconds: try c.decode(Double.self, forKey: .seconds))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schemaVersion, forKey: .schema)
        try c.encode(shard, forKey: .shard)
        try c.encode(dataset, forKey: .dataset)
        try c.encode(preprocessing, forKey: .preprocessing)
        try c.encodeIfPresent(validLabels, forKey: .validLabels)
        try c.encodeIfPresent(realLabels, forKey: .realLabels)
        try c.encode(models.map { ModelView(counts: $0, images: images, failed: failures.count, seconds: seconds) }, forKey: .models)
        try c.encode(images, forKey: .images)
        try c.encode(failures.count, forKey: .failed)
        try c.encode(failures, forKey: .failures)
        try c.encodeIfPresent(agreementCount, forKey: .agreementCount)
        try c.encodeIfPresent(cosineSum, forKey: .cosineSum)
        try c.encodeIfPresent(agreement, forKey: .agreement)
        try c.encodeIfPresent(meanCosine, forKey: .meanCosine)
        try c.encode(seconds, forKey: .seconds)
        if models.count == 1, let m = models.first {
            try c.encode(m.model, forKey: .model)
            try c.encode(m.engine, forKey: .engine)
            try c.encode(m.correctTop1, forKey: .correctTop1)
            try c.encode(m.correctTop5, forKey: .correctTop5)
            try c.encode(Self.rate(m.correctTop1, images), forKey: .top1)
            try c.encode(Self.rate(m.correctTop5, images), forKey: .top5)
            try c.encode(seconds > 0 ? Double(images) / seconds : 0, forKey: .imagesPerSecond)
        }
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Reads a report written by `convnext eval --output` / `--json`; one-line errors name the file.
    public static func read(path: String) throws -> EvalReport {
        let data = try FileIO.read(path: path, maxBytes: 1 << 30)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConvNeXtError.invalidInput(path: path, reason: "is not a JSON object (expected the output of convnext eval --json or --output)")
        }
        guard let schema = object["schema"] as? Int else {
            throw ConvNeXtError.invalidInput(path: path, reason: "has no \"schema\" (written by an older convnext eval, or not an eval result)")
        }
        guard schema == schemaVersion else {
            throw ConvNeXtError.invalidInput(path: path, reason: "is schema \(schema); this tool reads schema \(schemaVersion)")
        }
        do {
            return try JSONDecoder().decode(EvalReport.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConvNeXtError.invalidInput(path: path, reason: "is missing \(Self.keyPath(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ConvNeXtError.invalidInput(path: path, reason: "has a value of the wrong type at \(Self.keyPath(context.codingPath))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ConvNeXtError.invalidInput(path: path, reason: "has null at \(Self.keyPath(context.codingPath))")
        } catch {
            throw ConvNeXtError.invalidInput(path: path, reason: "is not a schema \(schemaVersion) eval result")
        }
    }

    private static func keyPath(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
}
