import ConvNeXtKit
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The HTTP service: Hummingbird routes over an ``InferenceService``, run in a ServiceGroup that
/// drains in-flight requests on SIGTERM or SIGINT before returning.
///
/// Routes: `GET /`, `GET /openapi.json`, `GET /metrics`, `GET /v1/models`, `POST /v1/classify`,
/// and the Open Inference Protocol v2 (`/v2`, `/v2/health/live|ready`, `/v2/models/{name}`,
/// `/v2/models/{name}/ready`, `POST /v2/models/{name}/infer`).
public struct InferenceServer: Sendable {
    /// The version `GET /v2` reports.
    public static let version = "1.0.0"

    public let service: InferenceService
    private let logger: Logger

    /// A server over `service` that logs warnings and errors on stderr (stdout carries only the listening line).
    public init(service: InferenceService) {
        self.service = service
        var logger = Logger(label: "convnext.serve") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        self.logger = logger
    }

    /// Serves until SIGTERM/SIGINT (or `shutdownSignals` are sent), then waits for in-flight
    /// requests, stops the workers and returns.
    ///
    /// - Parameter onListening: called once with the bound URL (`http://127.0.0.1:8080`), the
    ///   real port when the configuration asked for port 0.
    public func run(shutdownSignals: [UnixSignal] = [.sigterm, .sigint],
                    onListening: @escaping @Sendable (String) async -> Void) async throws {
        let configuration = service.configuration
        let host = configuration.host
        let app = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: .seconds(75))),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "convnext"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                await onListening("http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: shutdownSignals, logger: logger))
        do {
            try await group.run()
        } catch {
            await stopWorkers()
            throw error
        }
        await stopWorkers()
    }

    /// Joins the worker threads off the cooperative pool.
    private func stopWorkers() async {
        let service = self.service
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                service.shutdown()
                continuation.resume()
            }
        }
    }

    /// The routes, under the metrics, error and token middleware (outermost first).
    func makeRouter() -> Router<BasicRequestContext> {
        let service = self.service
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestMetricsMiddleware(metrics: service.metrics))
        router.add(middleware: ErrorResponseMiddleware(timeout: service.configuration.timeout))
        if let token = service.configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }

        router.get("/") { _, _ in Self.text(WebPage.html, type: "text/html; charset=utf-8") }
        let openAPI = OpenAPIDocument.json(models: service.models.map(\.name))
        router.get("/openapi.json") { _, _ in Self.text(openAPI, type: "application/json") }
        router.get("/metrics") { _, _ in Self.text(service.metrics.text(), type: "text/plain; version=0.0.4; charset=utf-8") }
        router.get("/v1/models") { _, _ in try Self.json(EncodedJSON(["models": service.modelSummaries()])) }
        router.post("/v1/classify") { request, _ in try await Self.classify(request, service: service) }

        router.get("/v2") { _, _ in
            try Self.json(EncodedJSON(OpenInference.ServerMetadata(version: Self.version)))
        }
        router.get("/v2/health/live") { _, _ in Response(status: .ok) }
        router.get("/v2/health/ready") { _, _ in Response(status: .ok) }
        router.get("/v2/models/{name}") { _, context in
            let model = try service.model(named: try context.parameters.require("name"))
            return try Self.json(EncodedJSON(service.metadata(of: model)))
        }
        router.get("/v2/models/{name}/ready") { _, context in
            _ = try service.model(named: try context.parameters.require("name"))
            return Response(status: .ok)
        }
        router.post("/v2/models/{name}/infer") { request, context in
            let model = try service.model(named: try context.parameters.require("name"))
            let contentType = Self.mediaType(request)
            guard contentType == "application/json" || contentType.isEmpty else {
                throw ServiceError.unsupportedMediaType("Content-Type \(contentType) is not accepted: the inference request is application/json")
            }
            let body = try await Self.collectBody(request, limit: service.configuration.maxBodyBytes)
            return Self.json(try await service.infer(model: model, body: body))
        }
        return router
    }

    /// `POST /v1/classify?model=NAME&top=K[&nv12=WxH]`.
    static func classify(_ request: Request, service: InferenceService) async throws -> Response {
        let query = request.uri.queryParameters
        let model: ServedModel
        if let name = query["model"] {
            model = try service.model(named: String(name))
        } else if service.models.count == 1 {
            model = service.models[0]
        } else {
            throw ServiceError.badRequest("several models are served: choose one with ?model=NAME (\(service.models.map(\.name).joined(separator: ", ")))")
        }
        var top = 5
        if let text = query["top"] {
            guard let k = Int(text), k >= 1 else { throw ServiceError.badRequest("top=\(text): give a whole number of at least 1") }
            top = k
        }
        let input = try ClassifyInput.from(contentType: request.headers[.contentType], nv12: query["nv12"].map(String.init))
        let body = try await collectBody(request, limit: service.configuration.maxBodyBytes)
        guard body.readableBytes > 0 else { throw ServiceError.unprocessable("the request body is empty: send the image or frame bytes") }
        return json(try await service.classify(model: model, body: body, input: input, top: top))
    }

    /// The whole body, refused with 413 when `Content-Length` announces more than `limit` bytes
    /// (nothing is read) or the stream goes past it (collection stops there).
    static func collectBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let tooLarge = ServiceError(.contentTooLarge, "the request body is larger than \(limit) bytes (--max-body-bytes)")
        if let announced = request.headers[.contentLength].flatMap({ Int($0) }), announced > limit { throw tooLarge }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    /// The media type of the request body, lower-cased, without parameters ("" when absent).
    static func mediaType(_ request: Request) -> String {
        request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    static func json(_ body: EncodedJSON) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body.bytes))
    }

    static func text(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
