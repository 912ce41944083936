import ConvNeXtKit
import Foundation
import NIOCore

/// What the routes call: the loaded models, the worker pool that runs every CPU-heavy step
/// (JSON tensor parsing, image decoding, preprocessing, inference), and the metrics.
///
/// Immutable after start; the models are shared by all workers (each inference has its own scratch memory).
public final class InferenceService: Sendable {
    /// Models by name, in command-line order.
    public let models: [ServedModel]
    let pool: InferenceWorkerPool
    let metrics: ServiceMetrics
    let configuration: ServerConfiguration
    private let byName: [String: ServedModel]

    public init(models: [ServedModel], configuration: ServerConfiguration) throws {
        guard !models.isEmpty else { throw ConvNeXtError.usage("give at least one model to serve") }
        var byName: [String: ServedModel] = [:]
        for model in models {
            guard byName[model.name] == nil else {
                throw ConvNeXtError.usage("two models are named '\(model.name)'; name them with NAME=PATH")
            }
            byName[model.name] = model
        }
        self.models = models
        self.byName = byName
        self.configuration = configuration
        let metrics = ServiceMetrics(models: models.map(\.name), workers: configuration.workers, queueCapacity: configuration.queueCapacity)
        self.metrics = metrics
        pool = InferenceWorkerPool(workers: configuration.workers, capacity: configuration.queueCapacity) { metrics.occupancy($0) }
    }

    /// Ends the worker threads after the queued jobs (call once the HTTP server has stopped).
    public func shutdown() { pool.shutdown() }

    /// The model called `name`, or 404.
    func model(named name: String) throws -> ServedModel {
        guard let model = byName[name] else {
            let known = models.map(\.name).joined(separator: ", ")
            throw ServiceError.notFound("no model named '\(name)' (serving: \(known))")
        }
        return model
    }

    /// Runs `work` on a worker within the configured queue timeout; refusals are counted and become 503s.
    ///
    /// `work` gets the time the job waited in the queue.
    func onWorker<T: Sendable>(_ work: @escaping @Sendable (_ queued: Duration) throws -> T) async throws -> T {
        let submitted = ContinuousClock.now
        do {
            return try await pool.submit(timeout: configuration.timeout) { try work(ContinuousClock.now - submitted) }
        } catch let error as WorkerPoolError {
            let reason: String
            switch error {
            case .queueFull: reason = "queue_full"
            case .timedOut: reason = "timeout"
            case .stopping: reason = "stopping"
            case .cancelled: reason = "cancelled"
            }
            metrics.rejected(reason: reason)
            throw error
        }
    }

    /// The rows of the models table (`GET /v1/models`, the web page).
    func modelSummaries() -> [ModelSummary] {
        models.map { model in
            ModelSummary(name: model.name, source: model.source, inputShape: model.inputShape, facts: ModelFacts(model),
                         latency: metrics.latency(model: model.name))
        }
    }
}

/// A JSON response body built on a worker thread.
struct EncodedJSON: Sendable {
    var bytes: ByteBuffer

    init<T: Encodable>(_ value: T) throws {
        bytes = ByteBuffer(bytes: try JSONEncoder.service.encode(value))
    }
}

/// What the service tells about a model besides its tensors: in the models table and in the
/// `parameters` of the v2 model metadata.
struct ModelFacts: Encodable {
    var variant: String
    var precision: String
    var engine: String
    /// The pixel format the deployed model takes (`rgb`, `nv12`, ...).
    var format: String
    var parameters: Int?
    var classes: Int
    /// Whether class names are known (otherwise indices are reported).
    var labels: Bool
    /// How photos are prepared, e.g. `resize 256 bicubic, crop 224, mean ..., std ...`.
    var preprocessing: String

    init(_ model: ServedModel) {
        let input = model.classifier.input
        variant = input.variant
        precision = input.precision
        engine = input.engine
        format = input.format
        parameters = input.parameters
        classes = input.classes
        labels = model.classifier.labels != nil
        let resized = Int((Double(input.size) / input.cropPct).rounded(.down))
        let shape = input.resizeMode == "letterbox" ? "letterbox \(input.size)" : "resize \(resized) \(input.interpolation), crop \(input.size)"
        preprocessing = "\(shape), mean \(input.mean.map { "\($0)" }.joined(separator: "/")), std \(input.std.map { "\($0)" }.joined(separator: "/"))"
    }
}

/// One row of the models table: the facts plus name, source, input shape and latency percentiles.
struct ModelSummary: Encodable {
    var name: String
    var source: String
    var inputShape: [Int]
    var facts: ModelFacts
    var latency: LatencySummary?

    enum CodingKeys: String, CodingKey {
        case name, source, latency
        case inputShape = "input_shape"
    }

    func encode(to encoder: any Encoder) throws {
        try facts.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(source, forKey: .source)
        try container.encode(inputShape, forKey: .inputShape)
        try container.encodeIfPresent(latency, forKey: .latency)
    }
}
