import Hummingbird

/// Turns every error a route throws, Hummingbird's own included (no route: 404; body over the
/// limit: 413), into a JSON `{"error": "..."}` response, so no request ends without one.
struct ErrorResponseMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The queue timeout, named in 503 messages.
    let timeout: Duration?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let failure = ServiceError.from(error, request: request, timeout: timeout)
            if failure.status.code >= 500 && failure.status != .serviceUnavailable {
                context.logger.error("\(request.method) \(request.uri.path): \(failure.message)")
            }
            return failure.response()
        }
    }
}
