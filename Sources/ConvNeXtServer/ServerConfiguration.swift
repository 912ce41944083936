import ConvNeXtKit
import Foundation

/// How the service listens and how much work it takes on.
public struct ServerConfiguration: Sendable {
    /// Address to bind: 127.0.0.1 unless told otherwise.
    public var host: String
    /// TCP port; 0 picks a free one (the bound address is reported once listening).
    public var port: Int
    /// Inference worker threads, each running one single-threaded inference at a time.
    public var workers: Int
    /// Requests that may wait for a worker before the service answers 503.
    public var queueCapacity: Int
    /// Largest request body accepted (bytes); larger ones get 413 before they are read whole.
    public var maxBodyBytes: Int
    /// Longest a request may wait for a worker (nil: no limit).
    public var timeout: Duration?
    /// When set, every route but the health checks and the page needs `Authorization: Bearer token`.
    public var token: String?

    /// Default body limit: 20 MB.
    public static let defaultMaxBodyBytes = 20_000_000

    public init(host: String = "127.0.0.1", port: Int = 8080, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                queueCapacity: Int = 64, maxBodyBytes: Int = defaultMaxBodyBytes, timeout: Duration? = .seconds(30), token: String? = nil) {
        self.host = host
        self.port = port
        self.workers = workers
        self.queueCapacity = queueCapacity
        self.maxBodyBytes = maxBodyBytes
        self.timeout = timeout
        self.token = token
    }

    /// Checks the ranges, naming the option at fault.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConvNeXtError.usage("--port must be between 0 and 65535, not \(port)") }
        guard (1...256).contains(workers) else { throw ConvNeXtError.usage("--workers must be between 1 and 256, not \(workers)") }
        guard (0...100_000).contains(queueCapacity) else { throw ConvNeXtError.usage("--queue must be between 0 and 100000, not \(queueCapacity)") }
        guard maxBodyBytes >= 1024 else { throw ConvNeXtError.usage("--max-body-bytes must be at least 1024, not \(maxBodyBytes)") }
        if let timeout, timeout <= .zero { throw ConvNeXtError.usage("--timeout must be positive") }
        if let token, token.isEmpty || token.contains(where: { $0.isWhitespace || !$0.isASCII }) {
            throw ConvNeXtError.usage("--token must be non-empty printable ASCII without spaces")
        }
    }
}
