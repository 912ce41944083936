import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Streams one HTTP(S) GET into a file, hashing the bytes as they arrive, and resumes it when the
/// connection drops.
///
/// Blocking by design (the CLI is synchronous): the transfer runs on URLSession's delegate queue
/// and the caller waits. A transfer that ends early after some bytes is continued with a `Range`
/// request (`If-Range` pins it to the same version of the file) up to `maxResumes` times: a `206`
/// whose `Content-Range` starts where the file ends is appended; a `200` (the server ignores Range,
/// or the file changed) starts the file again from byte 0. The digest covers the whole file, so the
/// caller's SHA-256 and size checks see exactly what is on disk. Anything else is an error naming the
/// URL; the caller owns the destination file and removes it on failure.
final class HTTPFileFetcher: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// What arrived.
    struct Fetched {
        var sha256: String
        var bytes: Int64
        /// Range requests that continued the transfer.
        var resumes: Int
    }

    /// How often a dropped transfer is continued before giving up.
    static let maxResumes = 3

    // Touched only on the serial delegate queue, then read by the caller after `finished`.
    private let url: URL
    private let output: FileHandle
    private let destination: String
    private let maxBytes: Int64
    private let headers: [String: String]
    private let progress: (@Sendable (Int64, Int64?) -> Void)?
    private var hasher = SHA256()
    private var received: Int64 = 0
    private var expected: Int64?
    private var failure: ConvNeXtError?
    /// True when the last attempt failed in a way a Range request can continue (the bytes stopped).
    private var canResume = false
    /// Where the current attempt asked to start (0: the whole file).
    private var requestedOffset: Int64 = 0
    /// The validator of the first response (a strong ETag, else Last-Modified) for `If-Range`.
    private var validator: String?
    private var finished = DispatchSemaphore(value: 0)
    private let timeout: TimeInterval

    private init(url: URL, output: FileHandle, destination: String, maxBytes: Int64, timeout: TimeInterval,
                 headers: [String: String], progress: (@Sendable (Int64, Int64?) -> Void)?) {
        self.url = url
        self.output = output
        self.destination = destination
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.headers = headers
        self.progress = progress
    }

    /// Downloads `url` into a new file at `destination` (which must not exist). `progress` gets
    /// (bytes so far, total when the server said). At most `maxBytes` are accepted. `headers` are
    /// added to every request of this URL (an `Authorization` header is dropped on a redirect to
    /// another host); `network` picks the proxy.
    static func fetch(url: URL, to destination: String, maxBytes: Int64, timeout: TimeInterval,
                      headers: [String: String] = [:], network: NetworkEnvironment = .current,
                      progress: (@Sendable (Int64, Int64?) -> Void)?) throws -> Fetched {
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw ConvNeXtError.io(path: destination, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let fetcher = HTTPFileFetcher(url: url, output: handle, destination: destination, maxBytes: maxBytes,
                                      timeout: timeout, headers: headers, progress: progress)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        network.configureProxy(configuration, for: url)
        let session = URLSession(configuration: configuration, delegate: fetcher, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        var resumes = 0
        while true {
            session.dataTask(with: fetcher.request()).resume()
            fetcher.finished.wait()
            fetcher.checkComplete()
            guard fetcher.failure != nil, fetcher.canResume, fetcher.received > 0, resumes < maxResumes else { break }
            resumes += 1
            fetcher.prepareResume()
        }
        return try fetcher.result(handle: handle, resumes: resumes)
    }

    /// The request of the next attempt: from `received` on, when some bytes are already on disk.
    private func request() -> URLRequest {
        var request = URLRequest(url: url)
        request.setValue("convnext (ConvNeXtKit)", forHTTPHeaderField: "User-Agent")
        // The digest is of the stored bytes: ask for them as stored, not re-encoded.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        requestedOffset = received
        if received > 0 {
            request.setValue("bytes=\(received)-", forHTTPHeaderField: "Range")
            if let validator { request.setValue(validator, forHTTPHeaderField: "If-Range") }
        }
        return request
    }

    /// A transfer that ended without error but short of the announced length is a dropped connection.
    private func checkComplete() {
        if failure == nil, let expected, received != expected {
            fail("the connection closed after \(received) of \(expected) bytes", resumable: received < expected)
        }
    }

    private func prepareResume() {
        failure = nil
        canResume = false
        finished = DispatchSemaphore(value: 0)
    }

    private func result(handle: FileHandle, resumes: Int) throws -> Fetched {
        if failure == nil {
            do {
                // On disk before the caller renames it into place.
                try handle.synchronize()
            } catch {
                failure = .io(path: destination, reason: "cannot write: \(FileIO.describe(error))")
            }
        }
        try? handle.close()
        if let failure { throw failure }
        return Fetched(sha256: hasher.hexDigest(), bytes: received, resumes: resumes)
    }

    private func fail(_ reason: String, resumable: Bool = false) {
        if failure == nil {
            failure = .io(path: url.absoluteString, reason: reason)
            canResume = resumable
        }
    }

    /// Empties the file: the server sends it again from byte 0.
    private func restart() throws {
        try output.truncate(atOffset: 0)
        hasher = SHA256()
        received = 0
    }

    // MARK: URLSessionDataDelegate

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            fail("not an HTTP response")
            completionHandler(.cancel)
            return
        }
        let length = response.expectedContentLength >= 0 ? response.expectedContentLength : nil
        switch http.statusCode {
        case 200:
            if requestedOffset > 0 {
                do {
                    try restart()
                } catch {
                    failure = .io(path: destination, reason: "cannot write: \(FileIO.describe(error))")
                    completionHandler(.cancel)
                    return
                }
            }
            expected = length
            if requestedOffset == 0 { validator = Self.validator(of: http) }
        case 206 where requestedOffset > 0:
            guard let range = Self.contentRange(of: http), range.start == requestedOffset,
                  expected == nil || range.total == nil || range.total == expected else {
                fail("the server resumed the transfer at another place than byte \(requestedOffset) (\(http.value(forHTTPHeaderField: "Content-Range") ?? "no Content-Range"))")
                completionHandler(.cancel)
                return
            }
            expected = range.total ?? length.map { requestedOffset + $0 }
        default:
            fail("HTTP \(http.statusCode) (\(HTTPURLResponse.localizedString(forStatusCode: http.statusCode)))")
            completionHandler(.cancel)
            return
        }
        if let expected, expected > maxBytes {
            fail("the server offers \(expected) bytes, more than the \(maxBytes) expected")
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        received += Int64(data.count)
        guard received <= maxBytes else {
            fail("more than the \(maxBytes) bytes expected")
            dataTask.cancel()
            return
        }
        do {
            try output.write(contentsOf: data)
        } catch {
            failure = .io(path: destination, reason: "cannot write: \(FileIO.describe(error))")
            dataTask.cancel()
            return
        }
        hasher.update(data)
        progress?(received, expected)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        // Credentials are for the host they were given for (as Python's requests does on redirects).
        var next = request
        if let target = request.url, !Self.sameOrigin(target, url) {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error, failure == nil {
            if let expected, received < expected, received > 0 {
                fail("the connection closed after \(received) of \(expected) bytes", resumable: true)
            } else {
                // A lost connection is continued; a timeout is not (each attempt would wait as long again).
                let dropped = (error as? URLError)?.code == .networkConnectionLost
                fail(Self.describe(error, timeout: timeout), resumable: dropped)
            }
        }
        finished.signal()
    }

    /// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
    static func contentRange(of response: HTTPURLResponse) -> (start: Int64, total: Int64?)? {
        guard let value = response.value(forHTTPHeaderField: "Content-Range")?.trimmingCharacters(in: .whitespaces),
              value.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = value.dropFirst(6).split(separator: "/", maxSplits: 1)
        guard spec.count == 2, let start = Int64(spec[0].split(separator: "-").first ?? "") else { return nil }
        return (start, Int64(spec[1]))
    }

    /// What `If-Range` may carry: a strong ETag, else Last-Modified (weak ETags are not allowed there).
    static func validator(of response: HTTPURLResponse) -> String? {
        if let tag = response.value(forHTTPHeaderField: "ETag"), !tag.hasPrefix("W/") { return tag }
        return response.value(forHTTPHeaderField: "Last-Modified")
    }

    /// Same scheme, host and port.
    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func port(_ u: URL) -> Int? { u.port ?? (u.scheme?.lowercased() == "https" ? 443 : u.scheme?.lowercased() == "http" ? 80 : nil) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && port(a) == port(b)
    }

    /// One line for a transport error (Foundation's own texts are often just a domain and a code).
    static func describe(_ error: Error, timeout: TimeInterval) -> String {
        guard let urlError = error as? URLError else { return error.localizedDescription }
        switch urlError.code {
        case .cannotConnectToHost: return "cannot connect (connection refused)"
        case .cannotFindHost, .dnsLookupFailed: return "cannot resolve the host name"
        case .timedOut: return "no data for \(Int(timeout)) s (timed out)"
        case .networkConnectionLost: return "the connection was lost"
        case .notConnectedToInternet: return "no network connection"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "TLS connection failed (\(urlError.localizedDescription))"
        case .httpTooManyRedirects, .redirectToNonExistentLocation: return "too many or broken redirects"
        case .badServerResponse, .cannotParseResponse: return "the server sent a malformed response"
        case .unsupportedURL: return "unsupported URL"
        default: return "network error \(urlError.code.rawValue) (\(urlError.localizedDescription))"
        }
    }
}
