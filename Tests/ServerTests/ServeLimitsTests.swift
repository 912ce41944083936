import Foundation
import XCTest

/// The service's safety limits, each on a server of its own: the bearer token, the body limit,
/// the bounded queue (503 + Retry-After), the queue timeout, and a graceful SIGTERM.
///
/// Slow requests come from the reference engine (the plain NCHW oracle, hundreds of times slower
/// than the fast engine) on the bundled digits model at 256x256, so no test hook is needed.
final class ServeLimitsTests: XCTestCase {
    /// Flags of a server whose every inference takes long enough to overlap the next requests.
    static var slowModel: [String] {
        [ConvNeXtTool.digitsModel, "--engine", "reference", "--size", "256"] + ConvNeXtTool.digitsFlags
    }

    static func png() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: try ConvNeXtTool.digitImages(perClass: 1)[4]))
    }

    func testTokenRequiredEverywhereButHealthAndPage() throws {
        let server = try ServeProcess([ConvNeXtTool.digitsModel, "--token", "s3cret-token"] + ConvNeXtTool.digitsFlags)
        for path in ["/v2/models/convnext_digits", "/metrics", "/v1/models", "/openapi.json", "/v2", "/v2/models/convnext_digits/ready"] {
            let missing = try HTTP.get(server.url(path))
            XCTAssertEqual(missing.status, 401, path)
            XCTAssertEqual(missing.headers["www-authenticate"]?.hasPrefix("Bearer"), true, path)
            XCTAssertNotNil(missing.errorMessage, "\(path): JSON error")
            XCTAssertEqual(try HTTP.get(server.url(path), headers: ["Authorization": "Bearer wrong"]).status, 401, path)
            XCTAssertEqual(try HTTP.get(server.url(path), headers: ["Authorization": "Bearer s3cret-token"]).status, 200, path)
        }
        let unauthorized = try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: try Self.png())
        XCTAssertEqual(unauthorized.status, 401)
        let classified = try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: try Self.png(),
                                       headers: ["Authorization": "Bearer s3cret-token"])
        XCTAssertEqual(classified.status, 200, classified.text)
        for path in ["/v2/health/live", "/v2/health/ready", "/"] {
            XCTAssertEqual(try HTTP.get(server.url(path)).status, 200, "\(path) is open")
        }
        XCTAssertEqual(server.stop(), 0)
    }

    /// Bodies over --max-body-bytes get 413: announced by Content-Length, or streamed in chunks
    /// without one; the service goes on serving.
    func testLargeBodiesAreRefusedWith413() throws {
        let server = try ServeProcess([ConvNeXtTool.digitsModel, "--max-body-bytes", "65536"] + ConvNeXtTool.digitsFlags)
        let big = Data(repeating: 0x89, count: 300_000)
        for path in ["/v1/classify?top=1", "/v2/models/convnext_digits/infer"] {
            let r = try HTTP.post(server.url(path), contentType: path.hasPrefix("/v1") ? "image/png" : "application/json", body: big)
            XCTAssertEqual(r.status, 413, "\(path): \(r.text)")
            XCTAssertTrue(r.errorMessage?.contains("65536") ?? false, r.text)
        }
        XCTAssertEqual(try RawHTTP.postChunked(port: server.port, path: "/v1/classify", contentType: "image/png", totalBytes: 1_000_000), 413)
        let ok = try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: try Self.png())
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual(server.stop(), 0)
    }

    /// One worker, one queue slot, eight requests at once: the excess gets 503 with Retry-After
    /// at once, the admitted ones succeed, and the service answers normally afterwards.
    func testFullQueueAnswers503AndRecovers() throws {
        let server = try ServeProcess(Self.slowModel + ["--workers", "1", "--queue", "1"])
        let png = try Self.png()
        let results = HTTP.concurrent(8) { try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: png) }
        let responses = try results.map { try $0.get() }
        let unavailable = responses.filter { $0.status == 503 }
        let succeeded = responses.filter { $0.status == 200 }
        XCTAssertEqual(unavailable.count + succeeded.count, 8, responses.map { "\($0.status) \($0.text)" }.joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(unavailable.count, 1, "the queue holds one request beside the running one")
        XCTAssertGreaterThanOrEqual(succeeded.count, 2, "the running request and the queued one are answered")
        for r in unavailable {
            XCTAssertEqual(r.headers["retry-after"], "1")
            XCTAssertTrue(r.errorMessage?.contains("queue is full") ?? false, r.text)
        }
        let samples = try ServeRoutesTests.metrics(server)
        XCTAssertEqual(samples[#"convnext_rejected_requests_total{reason="queue_full"}"#] ?? 0, Double(unavailable.count))
        let after = try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: png)
        XCTAssertEqual(after.status, 200, "recovered: \(after.text)")
        XCTAssertEqual(server.stop(), 0)
    }

    /// With --timeout shorter than one inference, a request still waiting for the busy worker
    /// gets 503 when its time is up, not when the worker frees.
    func testQueueWaitIsBoundedByTimeout() throws {
        let server = try ServeProcess(Self.slowModel + ["--workers", "1", "--queue", "8", "--timeout", "0.05"])
        let png = try Self.png()
        let single = try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: png)
        XCTAssertEqual(single.status, 200, single.text)
        let times = try XCTUnwrap(try single.object()["times_ms"] as? [String: Double])
        let inference = try XCTUnwrap(times["inference"])
        guard inference > 150 else {
            throw XCTSkip("one reference inference took \(inference) ms here, too fast to overlap a 50 ms timeout reliably")
        }
        let results = try HTTP.concurrent(3) { try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: png) }.map { try $0.get() }
        let timedOut = results.filter { $0.status == 503 && ($0.errorMessage ?? "").contains("within 0.05 s") }
        XCTAssertGreaterThanOrEqual(timedOut.count, 1, results.map { "\($0.status) \($0.text)" }.joined(separator: "\n"))
        XCTAssertEqual(results.filter { $0.status == 200 }.count + timedOut.count, 3)
        XCTAssertGreaterThanOrEqual(try ServeRoutesTests.metrics(server)[#"convnext_rejected_requests_total{reason="timeout"}"#] ?? 0, 1)
        XCTAssertEqual(server.stop(), 0)
    }

    /// SIGTERM while a request runs: the request is answered, then the process exits 0 and no
    /// longer accepts connections.
    func testSIGTERMDrainsTheRequestInFlightAndExitsZero() throws {
        let server = try ServeProcess(Self.slowModel + ["--workers", "1"])
        let png = try Self.png()
        let answered = DispatchSemaphore(value: 0)
        let inFlight = AnswerBox()
        Thread.detachNewThread {
            inFlight.result = Result { try HTTP.post(server.url("/v1/classify"), contentType: "image/png", body: png) }
            answered.signal()
        }
        // Wait until the worker has the request, so the signal arrives mid-inference.
        let deadline = Date().addingTimeInterval(60)
        while (try ServeRoutesTests.metrics(server)["convnext_workers_busy"] ?? 0) < 1 {
            guard Date() < deadline else { return XCTFail("the request never reached a worker") }
            usleep(2_000)
        }
        kill(server.process.processIdentifier, SIGTERM)
        XCTAssertEqual(answered.wait(timeout: .now() + 60), .success, "the request in flight was answered")
        let response = try XCTUnwrap(inFlight.result).get()
        XCTAssertEqual(response.status, 200, response.text)
        let stderr = server.stderr
        XCTAssertEqual(server.waitForExit(timeout: 30), 0, "exit status after SIGTERM; stderr: \(stderr)")
        XCTAssertThrowsError(try HTTP.get(server.url("/v2/health/live")), "no longer listening")
    }

    /// The answer of a request sent from another thread (read after its semaphore).
    final class AnswerBox: @unchecked Sendable { var result: Result<HTTP.Response, any Error>? }
}
