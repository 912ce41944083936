import Foundation
import Prometheus

/// The service's Prometheus metrics, in a registry of its own (no process-wide state, so several
/// servers can live in one process): requests by route, method and status; inferences and their
/// latency per model; queue depth, busy workers and refusals. `GET /metrics` emits them as text.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let queueDepth: Gauge
    private let workersBusy: Gauge
    private let perModel: [String: ModelMetrics]

    /// The metrics of one model.
    private struct ModelMetrics: Sendable {
        let inferences: Counter
        let inferenceSeconds: DurationHistogram
        let preprocessSeconds: DurationHistogram
        let latency: LatencyHistogram
    }

    /// Bucket bounds for inference and preprocessing times: 0.5 ms to 10 s.
    static let buckets: [Duration] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10].map { .seconds($0) }

    public init(models: [String], workers: Int, queueCapacity: Int) {
        queueDepth = registry.makeGauge(descriptor: .init(namespace: "convnext", metricName: "queue", unitName: "depth",
                                                          helpText: "Requests waiting for an inference worker."))
        workersBusy = registry.makeGauge(descriptor: .init(namespace: "convnext", metricName: "workers", unitName: "busy",
                                                           helpText: "Inference workers running a request."))
        registry.makeGauge(descriptor: .init(namespace: "convnext", metricName: "workers", unitName: "total",
                                             helpText: "Inference worker threads.")).set(Int64(workers))
        registry.makeGauge(descriptor: .init(namespace: "convnext", metricName: "queue", unitName: "capacity",
                                             helpText: "Requests that may wait before the service answers 503.")).set(Int64(queueCapacity))
        var perModel: [String: ModelMetrics] = [:]
        for name in models {
            let labels = [("model", name)]
            perModel[name] = ModelMetrics(
                inferences: registry.makeCounter(descriptor: .init(namespace: "convnext", metricName: "inferences", unitName: "total",
                                                                   helpText: "Inferences run, by model."), labels: labels),
                inferenceSeconds: registry.makeDurationHistogram(
                    descriptor: .init(namespace: "convnext", metricName: "inference_duration", unitName: "seconds",
                                      helpText: "Time in the engine per inference, by model."), labels: labels, buckets: Self.buckets),
                preprocessSeconds: registry.makeDurationHistogram(
                    descriptor: .init(namespace: "convnext", metricName: "preprocess_duration", unitName: "seconds",
                                      helpText: "Time decoding and preprocessing one input, by model."), labels: labels, buckets: Self.buckets),
                latency: LatencyHistogram())
        }
        self.perModel = perModel
    }

    /// Counts a finished HTTP request.
    func request(route: String, method: String, status: Int) {
        registry.makeCounter(descriptor: .init(namespace: "convnext", subsystem: "http", metricName: "requests", unitName: "total",
                                               helpText: "HTTP requests by route, method and status."),
                             labels: [("route", route), ("method", method), ("status", String(status))]).increment()
    }

    /// Counts a refused request (`queue_full`, `timeout`, `stopping`, `cancelled`).
    func rejected(reason: String) {
        registry.makeCounter(descriptor: .init(namespace: "convnext", metricName: "rejected_requests", unitName: "total",
                                               helpText: "Requests refused with 503 before reaching a worker, by reason."),
                             labels: [("reason", reason)]).increment()
    }

    /// Records one inference of `model`.
    func inference(model: String, preprocess: Duration?, inference: Duration) {
        guard let metrics = perModel[model] else { return }
        metrics.inferences.increment()
        metrics.inferenceSeconds.record(inference)
        if let preprocess { metrics.preprocessSeconds.record(preprocess) }
        metrics.latency.record(inference)
    }

    /// Reports the pool's occupancy.
    func occupancy(_ occupancy: InferenceWorkerPool.Occupancy) {
        queueDepth.set(Int64(occupancy.queued))
        workersBusy.set(Int64(occupancy.busy))
    }

    /// Inference latency percentiles of `model` since start.
    func latency(model: String) -> LatencySummary? { perModel[model]?.latency.summary() }

    /// The Prometheus text exposition.
    func text() -> String { registry.emitToString() }
}
