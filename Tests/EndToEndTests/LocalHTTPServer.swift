import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for download tests: serves canned
/// responses by path, counts requests, and can misbehave on purpose (drop the connection
/// halfway, stall, answer 404). One thread accepts; each connection gets its own thread.
final class LocalHTTPServer: @unchecked Sendable {
    /// What the server answers for a path.
    enum Response {
        /// 200 with Content-Length.
        case file(Data)
        /// A status with a short text body (404, 500, ...).
        case status(Int)
        /// 200 announcing the whole `Data` but sending only the first `sentBytes`, then closing.
        case truncated(Data, sentBytes: Int)
        /// 200 without Content-Length (ends at close), sending only the first `sentBytes`.
        case unsized(Data, sentBytes: Int)
        /// 200 announcing the whole `Data`, sending `sentBytes`, then waiting until `stop()`.
        case stall(Data, sentBytes: Int)
        /// Without a Range header as `truncated`; `Range: bytes=N-` gets 206 with the rest from byte N.
        case resumable(Data, firstSentBytes: Int)
        /// Without a Range header as `truncated`; with one, 200 and the whole file (Range ignored).
        case rangeIgnored(Data, firstSentBytes: Int)
        /// 302 to `location`.
        case redirect(String)
    }

    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var routes: [String: Response] = [:]
    private var log: [String] = []
    private var heads: [String] = []
    private var stopped = false
    private let release = DispatchSemaphore(value: 0)

    init() throws {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ServerError.socket("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw ServerError.socket("bind/listen", errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    enum ServerError: Error { case socket(String, Int32) }

    /// `http://127.0.0.1:<port>`: pass as `--base-url`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Answers `path` (no query) with `response` from now on.
    func serve(_ path: String, _ response: Response) {
        lock.lock()
        routes[path] = response
        lock.unlock()
    }

    /// Paths requested so far, in order.
    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    /// The request heads (request line and headers) received so far, in order.
    var requestHeads: [String] {
        lock.lock()
        defer { lock.unlock() }
        return heads
    }

    /// Stops accepting and releases stalled connections.
    func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        guard !wasStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for _ in 0..<8 { release.signal() }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR, !isStopped { continue }
                return
            }
            #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(client, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let thread = Thread { [self] in
                handle(client)
                close(client)
            }
            thread.start()
        }
    }

    private func handle(_ client: Int32) {
        // Read the request head (we never expect a body).
        var head = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while head.count < 65536 {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            head.append(contentsOf: buffer[0..<n])
            if head.count >= 4, String(decoding: head, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let headText = String(String(decoding: head, as: UTF8.self).split(separator: "\r\n\r\n", maxSplits: 1).first ?? "")
        let requestLine = headText.split(separator: "\r\n").first ?? ""
        let parts = requestLine.split(separator: " ")
        var target = parts.count >= 2 ? String(parts[1]) : "/"
        // A proxy request names the whole URL (absolute form): serve its path, as a forwarding proxy would.
        if target.hasPrefix("http://"), let slash = target.dropFirst(7).firstIndex(of: "/") {
            target = String(target[slash...])
        }
        let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
        lock.lock()
        log.append(path)
        heads.append(headText)
        let response = routes[path] ?? .status(404)
        lock.unlock()
        let rangeStart = Self.rangeStart(in: headText)

        switch response {
        case .file(let data):
            send(client, header(200, length: data.count))
            send(client, data)
        case .status(let code):
            let body = Data("status \(code)\n".utf8)
            send(client, header(code, length: body.count))
            send(client, body)
        case .truncated(let data, let sent):
            send(client, header(200, length: data.count))
            send(client, data.prefix(sent))
        case .unsized(let data, let sent):
            send(client, header(200, length: nil))
            send(client, data.prefix(sent))
        case .stall(let data, let sent):
            send(client, header(200, length: data.count))
            send(client, data.prefix(sent))
            _ = release.wait(timeout: .now() + 30)
        case .resumable(let data, let sent):
            if let start = rangeStart, start < data.count {
                send(client, header(206, length: data.count - start, extra: "Content-Range: bytes \(start)-\(data.count - 1)/\(data.count)\r\n"))
                send(client, data.suffix(from: data.startIndex + start))
            } else {
                send(client, header(200, length: data.count, extra: "ETag: \"v1\"\r\n"))
                send(client, data.prefix(sent))
            }
        case .rangeIgnored(let data, let sent):
            send(client, header(200, length: data.count))
            send(client, rangeStart == nil ? data.prefix(sent) : data)
        case .redirect(let location):
            send(client, header(302, length: 0, extra: "Location: \(location)\r\n"))
        }
    }

    /// N of a `Range: bytes=N-` header, if the request has one.
    private static func rangeStart(in head: String) -> Int? {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("range:") {
            let value = line.dropFirst(6).trimmingCharacters(in: .whitespaces)
            guard value.hasPrefix("bytes="), value.hasSuffix("-") else { return nil }
            return Int(value.dropFirst(6).dropLast())
        }
        return nil
    }

    private func header(_ code: Int, length: Int?, extra: String = "") -> Data {
        let reasons = [200: "OK", 206: "Partial Content", 302: "Found", 404: "Not Found"]
        let reason = reasons[code] ?? "Error"
        var text = "HTTP/1.1 \(code) \(reason)\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n" + extra
        if let length { text += "Content-Length: \(length)\r\n" }
        return Data((text + "\r\n").utf8)
    }

    /// Sends everything, ignoring a peer that went away (no SIGPIPE).
    private func send(_ client: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                #if os(Linux)
                let n = Glibc.send(client, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                let n = Darwin.send(client, base + offset, raw.count - offset, 0)
                #endif
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
