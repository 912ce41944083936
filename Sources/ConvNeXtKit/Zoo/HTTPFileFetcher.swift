import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Streams one HTTP(S) GET into a file, hashing the bytes as they arrive.
///
/// Blocking by design (the CLI is synchronous): the transfer runs on URLSession's delegate queue
/// and the caller waits. Anything but a complete `200` body is an error naming the URL; the
/// caller owns the destination file and removes it on failure.
final class HTTPFileFetcher: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// What arrived.
    struct Fetched {
        var sha256: String
        var bytes: Int64
    }

    // Touched only on the serial delegate queue, then read by the caller after `finished`.
    private let url: URL
    private let output: FileHandle
    private let destination: String
    private let maxBytes: Int64
    private let progress: (@Sendable (Int64, Int64?) -> Void)?
    private var hasher = SHA256()
    private var received: Int64 = 0
    private var expected: Int64?
    private var failure: ConvNeXtError?
    private let finished = DispatchSemaphore(value: 0)
    private let timeout: TimeInterval

    private init(url: URL, output: FileHandle, destination: String, maxBytes: Int64, timeout: TimeInterval,
                 progress: (@Sendable (Int64, Int64?) -> Void)?) {
        self.url = url
        self.output = output
        self.destination = destination
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.progress = progress
    }

    /// Downloads `url` into a new file at `destination` (which must not exist). `progress` gets
    /// (bytes so far, total when the server said). At most `maxBytes` are accepted.
    static func fetch(url: URL, to destination: String, maxBytes: Int64, timeout: TimeInterval,
                      progress: (@Sendable (Int64, Int64?) -> Void)?) throws -> Fetched {
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw ConvNeXtError.io(path: destination, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let fetcher = HTTPFileFetcher(url: url, output: handle, destination: destination, maxBytes: maxBytes,
                                      timeout: timeout, progress: progress)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: fetcher, delegateQueue: queue)
        var request = URLRequest(url: url)
        request.setValue("convnext (ConvNeXtKit)", forHTTPHeaderField: "User-Agent")
        // The digest is of the stored bytes: ask for them as stored, not re-encoded.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        session.dataTask(with: request).resume()
        fetcher.finished.wait()
        session.finishTasksAndInvalidate()
        return try fetcher.result(handle: handle)
    }

    private func result(handle: FileHandle) throws -> Fetched {
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
        if let expected, received != expected {
            throw ConvNeXtError.io(path: url.absoluteString,
                                   reason: "the connection closed after \(received) of \(expected) bytes")
        }
        return Fetched(sha256: hasher.hexDigest(), bytes: received)
    }

    private func fail(_ reason: String) {
        if failure == nil { failure = .io(path: url.absoluteString, reason: reason) }
    }

    // MARK: URLSessionDataDelegate

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            fail("not an HTTP response")
            completionHandler(.cancel)
            return
        }
        guard http.statusCode == 200 else {
            fail("HTTP \(http.statusCode) (\(HTTPURLResponse.localizedString(forStatusCode: http.statusCode)))")
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength >= 0 {
            expected = response.expectedContentLength
            if response.expectedContentLength > maxBytes {
                fail("the server offers \(response.expectedContentLength) bytes, more than the \(maxBytes) expected")
                completionHandler(.cancel)
                return
            }
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

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error, failure == nil {
            if let expected, received < expected, received > 0 {
                fail("the connection closed after \(received) of \(expected) bytes")
            } else {
                fail(Self.describe(error, timeout: timeout))
            }
        }
        finished.signal()
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
