import Hummingbird

/// Counts every response by the route pattern it matched (`/v2/models/{name}/infer`, so model
/// names do not multiply the series), its method and its status; unmatched paths count as `unmatched`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code))
        return response
    }
}
