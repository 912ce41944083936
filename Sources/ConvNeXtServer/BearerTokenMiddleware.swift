import Hummingbird

/// With `--token`, requires `Authorization: Bearer TOKEN` on every route except the health checks
/// (load balancers and Kubernetes probes call them without credentials) and the static web page
/// (it holds no data; its own API calls send the token typed into it).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    /// Paths served without the token.
    static var openPaths: Set<String> { ["/", "/v2/health/live", "/v2/health/ready"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        guard given.hasPrefix("Bearer "), Self.constantTimeEqual(Array(given.utf8.dropFirst(7)), Array(token.utf8)) else {
            throw ServiceError(.unauthorized, given.isEmpty ? "this route needs 'Authorization: Bearer TOKEN'" : "the bearer token is wrong",
                               headers: [.wwwAuthenticate: #"Bearer realm="convnext""#])
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference, so timing does not reveal the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
