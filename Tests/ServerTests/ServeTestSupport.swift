import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// The built `convnext` binary, the bundled digits model and a runner for one-shot commands.
enum ConvNeXtTool {
    /// The repository root, found from this file's path.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The demo assets shipped in the repository: the digits ONNX, its labels, calibration and validation images.
    static let demo = repoRoot.appendingPathComponent("Sources/convnext/Resources/demo").path
    static var digitsModel: String { "\(demo)/convnext_digits.onnx" }
    static var digitsLabels: String { "\(demo)/labels.txt" }

    /// Flags every digits command gets (the demo's preprocessing: the whole 64x64 image).
    static var digitsFlags: [String] { ["--labels", digitsLabels, "--crop-pct", "1"] }

    /// The `convnext` executable next to the test bundle.
    static var binary: URL {
        let bundle = Bundle(for: Marker.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("convnext") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// An image committed in the repository's Fixtures folder.
    static func fixture(_ relative: String) -> String { repoRoot.appendingPathComponent("Fixtures/\(relative)").path }

    /// The first validation images of the bundled digits set, `perClass` per digit.
    static func digitImages(perClass: Int) throws -> [String] {
        try (0..<10).flatMap { digit -> [String] in
            let folder = "\(demo)/val/\(digit)"
            return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().prefix(perClass).map { "\(folder)/\($0)" }
        }
    }

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `convnext arguments`, feeding `input` on stdin.
    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : inp
        try process.run()
        if let input {
            // Written on another thread so a full stdout pipe cannot deadlock the two.
            // A process that stops reading early (a broken stream) closes the pipe: the write then
            // fails with EPIPE, which must not end the test process with SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            let writer = Thread {
                try? inp.fileHandleForWriting.write(contentsOf: input)
                try? inp.fileHandleForWriting.close()
            }
            writer.start()
        }
        let errBox = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errDone.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    private final class DataBox: @unchecked Sendable { var data = Data() }

    /// A fresh empty temporary directory.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convnext-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Compiles the digits model to an int8 `.cnxk` taking NV12 frames (calibrated on the bundled images).
    static func compileDigitsInt8NV12(into dir: URL) throws -> String {
        let yaml = dir.appendingPathComponent("digits_nv12.yaml")
        try """
        model_parameters:
          onnx_model: '\(digitsModel)'
          working_dir: '\(dir.path)'
          output_model_file_prefix: 'digits_int8_nv12'
        input_parameters:
          input_type_rt: 'nv12'
          input_type_train: 'rgb'
          input_layout_train: 'NCHW'
          input_shape: '1x3x64x64'
          norm_type: 'data_mean_and_scale'
          mean_value: '123.675 116.28 103.53'
          scale_value: '0.01712475 0.017507 0.01742919'
        calibration_parameters:
          cal_data_dir: '\(demo)/calibration'
          calibration_type: 'default'
        """.write(to: yaml, atomically: true, encoding: .utf8)
        let r = try run(["compile", yaml.path, "--crop-pct", "1"])
        guard r.status == 0 else { throw TestFailure("convnext compile failed: \(r.stderr)") }
        return dir.appendingPathComponent("digits_int8_nv12.cnxk").path
    }

    private final class Marker {}
}

/// A test precondition that did not hold, with the reason.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `convnext serve` running as a subprocess on a free loopback port.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    /// `http://127.0.0.1:PORT`, read from the server's `listening on` line.
    let baseURL: URL
    let port: Int
    private let stderrFile: URL

    /// Starts `convnext serve arguments --port 0` and waits (up to `timeout` seconds) for its listening line.
    init(_ arguments: [String], timeout: TimeInterval = 120) throws {
        stderrFile = FileManager.default.temporaryDirectory.appendingPathComponent("convnext-serve-\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = ConvNeXtTool.binary
        process.arguments = ["serve"] + arguments + ["--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first stdout line is `listening on URL`; read it on a thread so a server that never
        // gets there fails the test after `timeout` instead of hanging it.
        let found = DispatchSemaphore(value: 0)
        let lineBox = LineBox()
        Thread.detachNewThread {
            var line = Data()
            while true {
                let byte = out.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty || byte == Data("\n".utf8) { break }
                line.append(byte)
            }
            lineBox.line = String(decoding: line, as: UTF8.self)
            found.signal()
        }
        guard found.wait(timeout: .now() + timeout) == .success, let line = lineBox.line,
              let range = line.range(of: "http://"), let url = URL(string: String(line[range.lowerBound...])), let port = url.port else {
            process.terminate()
            process.waitUntilExit()
            throw TestFailure("convnext serve did not report a listening address; stderr: \(Self.read(stderrFile))")
        }
        baseURL = url
        self.port = port
    }

    deinit { stop() }

    /// The server's stderr so far.
    var stderr: String { Self.read(stderrFile) }

    /// `baseURL` + `path` (which may carry a query).
    func url(_ path: String) -> URL { URL(string: baseURL.absoluteString + path)! }

    /// Sends `signal` and waits up to `timeout` seconds for the exit; returns the exit status (nil if still running).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 30) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        return waitForExit(timeout: timeout)
    }

    /// Waits up to `timeout` seconds for the process to end (killing it after that); its exit status, nil if it had to be killed.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        try? FileManager.default.removeItem(at: stderrFile)
        return process.terminationStatus
    }

    private static func read(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    private final class LineBox: @unchecked Sendable { var line: String? }
}

/// A blocking HTTP client (URLSession) for the tests.
enum HTTP {
    struct Response {
        var status: Int
        /// Header names lower-cased.
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }

        /// The body as a JSON object.
        func object(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(text)")
            }
            return object
        }

        /// The `error` message of a JSON error body, or nil.
        var errorMessage: String? {
            (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 32
        configuration.timeoutIntervalForRequest = 120
        return URLSession(configuration: configuration)
    }()

    /// Sends one request and waits for the answer.
    static func send(_ method: String, _ url: URL, headers: [String: String] = [:], body: Data? = nil) throws -> Response {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(error)
            } else if let http = response as? HTTPURLResponse {
                var fields: [String: String] = [:]
                for (key, value) in http.allHeaderFields { fields[String(describing: key).lowercased()] = String(describing: value) }
                box.result = .success(Response(status: http.statusCode, headers: fields, body: data ?? Data()))
            } else {
                box.result = .failure(TestFailure("no HTTP response"))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return try box.result!.get()
    }

    static func get(_ url: URL, headers: [String: String] = [:]) throws -> Response { try send("GET", url, headers: headers) }

    static func post(_ url: URL, contentType: String?, body: Data, headers: [String: String] = [:]) throws -> Response {
        var all = headers
        if let contentType { all["Content-Type"] = contentType }
        return try send("POST", url, headers: all, body: body)
    }

    /// Sends `count` copies of a request at once from separate threads; the answers in completion order.
    static func concurrent(_ count: Int, _ request: @escaping @Sendable () throws -> Response) -> [Result<Response, any Error>] {
        // One thread each (concurrentPerform would run only as many at once as there are cores).
        let collected = Collected()
        let finished = DispatchGroup()
        for _ in 0..<count {
            finished.enter()
            Thread.detachNewThread {
                collected.append(Result { try request() })
                finished.leave()
            }
        }
        finished.wait()
        return collected.results
    }

    private final class ResultBox: @unchecked Sendable { var result: Result<Response, any Error>? }

    /// Answers gathered from several threads.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [Result<Response, any Error>] = []
        func append(_ result: Result<Response, any Error>) { lock.lock(); list.append(result); lock.unlock() }
        var results: [Result<Response, any Error>] { lock.lock(); defer { lock.unlock() }; return list }
    }
}

/// A request written by hand on a socket: a chunked body with no Content-Length, which a client
/// library would not send the way a hostile one does.
enum RawHTTP {
    /// POSTs `totalBytes` of body in chunks of `chunkBytes` without announcing the length, then reads the status code.
    static func postChunked(port: Int, path: String, contentType: String, totalBytes: Int, chunkBytes: Int = 16_384) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect: errno \(errno)") }
        func write(_ bytes: [UInt8]) -> Bool {
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        guard write(Array(head.utf8)) else { throw TestFailure("could not send the request head") }
        var remaining = totalBytes
        let chunk = [UInt8](repeating: 0x41, count: chunkBytes)
        // The server may answer (and stop reading) before the whole body is sent: a failed write ends the upload.
        while remaining > 0 {
            let n = min(remaining, chunkBytes)
            guard write(Array(String(n, radix: 16).utf8) + [13, 10] + chunk[0..<n] + [13, 10]) else { break }
            remaining -= n
        }
        _ = write(Array("0\r\n\r\n".utf8))
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: response, as: UTF8.self).contains("\r\n") {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        let statusLine = String(decoding: response, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestFailure("no HTTP status line in '\(statusLine)'") }
        return status
    }
}

/// Deterministic pseudo-random numbers (a 64-bit LCG), so failures reproduce.
struct SeededNumbers {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }

    /// A float in `range`.
    mutating func float(in range: ClosedRange<Float>) -> Float {
        range.lowerBound + Float(next() >> 40) / Float(1 << 24) * (range.upperBound - range.lowerBound)
    }
}

/// Writes little-endian float32 files and reads them back.
enum RawFloats {
    static func write(_ values: [Float], to url: URL) throws {
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: url)
    }

    static func read(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

/// Top-k entries as the CLI and the service print them, decoded as Float from the JSON text (so equal text is equal bits).
struct RankedClass: Decodable, Equatable {
    var index: Int
    var label: String?
    var probability: Float
}

/// `convnext classify --json` output, reduced to what the comparisons need.
struct ClassifyCLIReport: Decodable {
    struct Entry: Decodable {
        var image: String
        var top: [RankedClass]?
        var error: String?
    }
    var results: [Entry]
}

/// The `/v1/classify` answer, reduced the same way.
struct ClassifyServiceAnswer: Decodable {
    var model: String
    var top: [RankedClass]
}

extension Data {
    /// Decodes JSON with JSONDecoder (numbers into Float straight from their text).
    func decoded<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: self) }
}
