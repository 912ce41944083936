import ConvNeXtKit
import Foundation
import XCTest

/// Downloads in real networks (issue 14): resumed transfers, proxies from the environment, the
/// hub's endpoint and token, and falling back to the next source. Against servers on 127.0.0.1.
extension ZooDownloadTests {
    // MARK: - Resume

    /// A transfer cut halfway is continued with `Range: bytes=N-` and the whole file is verified.
    func testInterruptedDownloadResumesWithARangeRequest() throws {
        let data = try Self.fixture("tiny_opset11.safetensors")
        let half = data.count / 2
        server.serve(Self.safetensorsPath, .resumable(data, firstSentBytes: half))
        let result = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        XCTAssertEqual(result.resumes, 1)
        XCTAssertEqual(result.sha256, Self.safetensorsDigest)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: result.path)), data)
        let heads = server.requestHeads
        XCTAssertEqual(heads.count, 2, "\(heads)")
        XCTAssertFalse(heads[0].lowercased().contains("range:"), heads[0])
        XCTAssertTrue(heads[1].contains("Range: bytes=\(half)-"), heads[1])
        XCTAssertTrue(heads[1].contains("If-Range: \"v1\""), "the resumed part must be of the same file: \(heads[1])")
    }

    /// A server that answers a Range request with 200 sends the whole file again: it starts from byte 0.
    func testServerIgnoringRangeRestartsFromZero() throws {
        let data = try Self.fixture("tiny_opset11.safetensors")
        server.serve(Self.safetensorsPath, .rangeIgnored(data, firstSentBytes: data.count / 3))
        let result = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        XCTAssertEqual(result.resumes, 1)
        XCTAssertEqual(result.bytes, Int64(data.count), "not the first third plus the whole file")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: result.path)), data)
    }

    /// A connection that keeps dropping is given up after the last resume, leaving nothing behind.
    func testConnectionThatKeepsDroppingGivesUpAndLeavesNothing() throws {
        let data = try Self.fixture("tiny_opset11.safetensors")
        server.serve(Self.safetensorsPath, .truncated(data, sentBytes: 1000))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("closed after 1000 of \(data.count) bytes"), "\(error)")
        }
        XCTAssertEqual(server.requests.count, 1 + 3, "the first request and three resumes")
        XCTAssertEqual(cacheContents(), [])
    }

    // MARK: - Proxies

    /// `HTTP_PROXY` (upper case, which libcurl alone ignores) and `http_proxy`: the request goes to the
    /// proxy in absolute form, for a host that does not even resolve here.
    func testProxyFromTheEnvironmentIsUsed() throws {
        for variable in ["HTTP_PROXY", "http_proxy"] {
            try? FileManager.default.removeItem(at: cacheDir)
            let before = server.requestHeads.count
            let r = try CLI.run(["download", "test_tiny.conv", "--source", "hub", "--registry", CLI.fixture("zoo/test-registry.json"),
                                 "--cache", cacheDir.path, "--base-url", "http://models.invalid"],
                                environment: [variable: server.baseURL, "NO_PROXY": nil, "no_proxy": nil,
                                              variable == "HTTP_PROXY" ? "http_proxy" : "HTTP_PROXY": nil])
            XCTAssertEqual(r.status, 0, "\(variable): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("test_tiny.conv: downloaded from hub"), r.stdout)
            let heads = server.requestHeads.dropFirst(before)
            XCTAssertEqual(heads.count, 1)
            XCTAssertTrue(heads.first?.hasPrefix("GET http://models.invalid\(Self.safetensorsPath) ") == true, "\(variable): \(heads)")
        }
    }

    /// `NO_PROXY` names the host: the proxy (here a closed port) is not used.
    func testNoProxyBypassesTheProxy() throws {
        let closed = try LocalHTTPServer()
        let deadProxy = closed.baseURL
        closed.stop()
        for noProxy in ["127.0.0.1", "localhost,127.0.0.0/8", "*"] {
            try? FileManager.default.removeItem(at: cacheDir)
            let r = try CLI.run(["download", "test_tiny.conv", "--source", "hub"] + cliOptions,
                                environment: ["http_proxy": deadProxy, "HTTP_PROXY": deadProxy, "NO_PROXY": noProxy, "no_proxy": nil])
            XCTAssertEqual(r.status, 0, "NO_PROXY=\(noProxy): \(r.stderr)")
        }
        // Without NO_PROXY the dead proxy is used, and fails.
        try? FileManager.default.removeItem(at: cacheDir)
        let r = try CLI.run(["download", "test_tiny.conv", "--source", "hub"] + cliOptions,
                            environment: ["http_proxy": deadProxy, "NO_PROXY": nil, "no_proxy": nil])
        XCTAssertEqual(r.status, 1, r.stdout)
    }

    /// The rules `NetworkEnvironment` applies (the ones Python's urllib and requests apply).
    func testProxyEnvironmentRules() throws {
        let env = NetworkEnvironment(environment: [
            "HTTPS_PROXY": "upper:3128", "https_proxy": "http://lower:3128", "HTTP_PROXY": "http://plain:8080",
            "NO_PROXY": " .internal.example, 10.0.0.0/8 ,host.example:8443", "HF_ENDPOINT": "http://mirror.example/hf/",
            "HF_TOKEN": "hf_abc",
        ])
        XCTAssertEqual(env.proxy(for: URL(string: "https://huggingface.co/x")!)?.absoluteString, "http://lower:3128", "lower case wins")
        XCTAssertEqual(env.proxy(for: URL(string: "http://github.com/x")!)?.absoluteString, "http://plain:8080")
        XCTAssertNil(env.proxy(for: URL(string: "https://a.internal.example/x")!))
        XCTAssertNil(env.proxy(for: URL(string: "https://internal.example/x")!))
        XCTAssertNotNil(env.proxy(for: URL(string: "https://notinternal.example/x")!))
        XCTAssertNil(env.proxy(for: URL(string: "http://10.1.2.3/x")!))
        XCTAssertNotNil(env.proxy(for: URL(string: "http://11.1.2.3/x")!))
        XCTAssertNil(env.proxy(for: URL(string: "https://host.example:8443/x")!))
        XCTAssertNotNil(env.proxy(for: URL(string: "https://host.example/x")!), "host:port bypasses that port only")
        XCTAssertEqual(NetworkEnvironment(environment: ["all_proxy": "socks.example:1080"]).httpsProxy, "http://socks.example:1080")
        XCTAssertNil(NetworkEnvironment(environment: ["https_proxy": "", "HTTPS_PROXY": "x:1"]).httpsProxy, "an empty lower-case value turns it off")
        XCTAssertEqual(env.hubURL("https://huggingface.co/timm/a/resolve/main/model.safetensors"),
                       "http://mirror.example/hf/timm/a/resolve/main/model.safetensors")
        XCTAssertEqual(env.hubURL("https://github.com/a.pth"), "https://github.com/a.pth")
        XCTAssertEqual(env.hubHeaders(for: URL(string: "http://mirror.example/hf/timm/a")!), ["Authorization": "Bearer hf_abc"])
        XCTAssertEqual(env.hubHeaders(for: URL(string: "https://huggingface.co/timm/a")!), [:], "the token goes to HF_ENDPOINT only")
        XCTAssertEqual(env.hubHeaders(for: URL(string: "http://mirror.example:81/hf")!), [:])
    }

    // MARK: - The hub: HF_ENDPOINT and HF_TOKEN

    /// A registry file whose hub source is on huggingface.co, as the built-in entries are.
    private func hubRegistry() throws -> String {
        let text = try String(contentsOfFile: CLI.fixture("zoo/test-registry.json"), encoding: .utf8)
            .replacingOccurrences(of: "https://models.invalid/checkpoints/tiny_opset11.safetensors",
                                  with: "https://huggingface.co/test/tiny/resolve/main/model.safetensors")
        let path = cacheDir.deletingLastPathComponent().appendingPathComponent("hub-registry-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// `HF_ENDPOINT` moves the hub; `HF_TOKEN` goes along as a bearer token, and is never printed.
    func testHubEndpointAndTokenFromTheEnvironment() throws {
        let token = "hf_secretTOKEN123"
        let hubPath = "/test/tiny/resolve/main/model.safetensors"
        server.serve(hubPath, .file(try Self.fixture("tiny_opset11.safetensors")))
        let registryFile = try hubRegistry()
        let arguments = ["download", "test_tiny.conv", "--source", "hub", "--registry", registryFile, "--cache", cacheDir.path]
        let environment: [String: String?] = ["HF_ENDPOINT": server.baseURL + "/", "HF_TOKEN": token, "http_proxy": nil, "HTTP_PROXY": nil]
        let r = try CLI.run(arguments, environment: environment)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("downloaded from hub"), r.stdout)
        XCTAssertEqual(server.requests, [hubPath])
        XCTAssertTrue(server.requestHeads[0].contains("Authorization: Bearer \(token)"), server.requestHeads[0])
        XCTAssertFalse((r.stdout + r.stderr).contains(token))

        // A failure names the URL, not the token.
        server.serve(hubPath, .status(401))
        let failed = try CLI.run(arguments + ["--force"], environment: environment)
        CLI.assertOneLineFailure(failed, mentions: "\(server.baseURL)\(hubPath): HTTP 401")
        XCTAssertFalse((failed.stdout + failed.stderr).contains(token))

        // The github source never gets the token.
        let github = try CLI.run(["download", "test_tiny.conv", "--source", "github", "--registry", registryFile, "--cache", cacheDir.path,
                                  "--base-url", server.baseURL], environment: environment)
        XCTAssertEqual(github.status, 0, github.stderr)
        XCTAssertFalse(server.requestHeads.last?.contains("Authorization") ?? true, server.requestHeads.last ?? "")
    }

    /// A redirect from the hub to another host (its CDN) does not carry the token there.
    func testTokenIsNotForwardedOnARedirectToAnotherHost() throws {
        let cdn = try LocalHTTPServer()
        defer { cdn.stop() }
        let hubPath = "/test/tiny/resolve/main/model.safetensors"
        cdn.serve("/blob", .file(try Self.fixture("tiny_opset11.safetensors")))
        server.serve(hubPath, .redirect(cdn.baseURL + "/blob"))
        let r = try CLI.run(["download", "test_tiny.conv", "--source", "hub", "--registry", try hubRegistry(), "--cache", cacheDir.path],
                            environment: ["HF_ENDPOINT": server.baseURL, "HF_TOKEN": "hf_secret", "http_proxy": nil, "HTTP_PROXY": nil])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(server.requestHeads.first?.contains("Authorization: Bearer hf_secret") == true)
        XCTAssertEqual(cdn.requests, ["/blob"])
        XCTAssertFalse(cdn.requestHeads.first?.contains("Authorization") ?? true, cdn.requestHeads.first ?? "")
    }

    // MARK: - Falling back to the next source

    /// Without --source, a failed default source is reported on stderr and the next one is tried.
    func testDefaultSourceFailureFallsBackToTheNextSource() throws {
        server.serve(Self.safetensorsPath, .status(404))
        let r = try CLI.run(["download", "test_tiny.conv"] + cliOptions)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("test_tiny.conv: downloaded from github"), r.stdout)
        XCTAssertTrue(r.stderr.contains("note: test_tiny.conv: the hub source failed") && r.stderr.contains("HTTP 404")
                      && r.stderr.contains("trying github"), r.stderr)
        XCTAssertEqual(server.requests, [Self.safetensorsPath, Self.pthPath])

        // An explicit --source does not fall back.
        try? FileManager.default.removeItem(at: cacheDir)
        let pinned = try CLI.run(["download", "test_tiny.conv", "--source", "hub"] + cliOptions)
        CLI.assertOneLineFailure(pinned, mentions: "HTTP 404")
    }
}
