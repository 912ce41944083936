import ConvNeXtKit
import Foundation
import XCTest

/// Downloads for real, over HTTP from a server on 127.0.0.1 started by each test, of the
/// checkpoint fixtures described by Fixtures/zoo/test-registry.json.
final class ZooDownloadTests: XCTestCase {
    var server: LocalHTTPServer!
    var cacheDir: URL!
    var registry: ModelRegistry!

    static let conv = "test_tiny.conv"
    static let safetensorsPath = "/checkpoints/tiny_opset11.safetensors"
    static let pthPath = "/checkpoints/tiny_opset11.pth"
    static let linearPath = "/checkpoints/tiny_linear_opset11.pth"
    static let safetensorsDigest = "b8c41999b9f6e648c0f5e1c4c0d7d1ad5cd6f231c20df8736e233a6d6a4a353e"

    static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("checkpoints/\(name)")))
    }

    override func setUpWithError() throws {
        server = try LocalHTTPServer()
        server.serve(Self.safetensorsPath, .file(try Self.fixture("tiny_opset11.safetensors")))
        server.serve(Self.pthPath, .file(try Self.fixture("tiny_opset11.pth")))
        server.serve(Self.linearPath, .file(try Self.fixture("tiny_linear_opset11.pth")))
        cacheDir = try CLI.tempDir()
        registry = try ModelRegistry.builtIn.merging(file: CLI.fixture("zoo/test-registry.json"))
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: cacheDir)
    }

    var cache: ModelCache { ModelCache(directory: cacheDir.path) }

    func options(source: String? = nil, force: Bool = false) -> DownloadOptions {
        DownloadOptions(source: source, baseURL: server.baseURL, force: force, timeout: 20)
    }

    /// Every file under the cache, relative, hidden ones included.
    func cacheContents() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: cacheDir.path)
        var files: [String] = []
        while let item = enumerator?.nextObject() as? String {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: cacheDir.appendingPathComponent(item).path, isDirectory: &isDir)
            if !isDir.boolValue { files.append(item) }
        }
        return files.sorted()
    }

    func entry(_ name: String) throws -> ZooEntry { try XCTUnwrap(registry.entry(named: name), name) }

    // MARK: - Library

    func testDownloadVerifiesCachesAndSecondCallIsANoOp() throws {
        let first = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        XCTAssertFalse(first.wasCached)
        XCTAssertEqual(first.sha256, Self.safetensorsDigest)
        XCTAssertEqual(first.bytes, 296_624)
        XCTAssertEqual(first.parameterCount, 72_690)
        XCTAssertEqual(first.path, cacheDir.appendingPathComponent("test_tiny.conv/tiny_opset11.safetensors").path)
        XCTAssertEqual(first.url, server.baseURL + Self.safetensorsPath)
        XCTAssertEqual(try SHA256.hex(file: first.path), Self.safetensorsDigest)
        XCTAssertEqual(cacheContents(), ["test_tiny.conv/tiny_opset11.safetensors", "test_tiny.conv/tiny_opset11.safetensors.verified"])
        XCTAssertEqual(server.requests, [Self.safetensorsPath])

        let second = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        XCTAssertTrue(second.wasCached)
        XCTAssertEqual(second.path, first.path)
        XCTAssertEqual(second.sha256, Self.safetensorsDigest)
        XCTAssertEqual(server.requests.count, 1, "no request for a cached, verified file")

        // --force fetches again.
        let third = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub", force: true))
        XCTAssertFalse(third.wasCached)
        XCTAssertEqual(server.requests.count, 2)
    }

    func testDefaultSourceIsThePinnedOneAndPthWorks() throws {
        // test_tiny.linear has only a github .pth, pinned by an 8-digit prefix.
        let result = try ModelDownloader.download(try entry("test_tiny.linear"), cache: cache, options: options())
        XCTAssertEqual(result.source, "github")
        XCTAssertTrue(result.sha256.hasPrefix("98d27700"))
        XCTAssertEqual(server.requests, [Self.linearPath])
        let model = try ModelResolver(registry: registry, cache: cache).resolve("test_tiny.linear")
        XCTAssertEqual(model.config.blockForm, .linearMLP)
        XCTAssertEqual(model.source.format, "pth")
    }

    func testChangedCachedFileIsCheckedAgain() throws {
        let result = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        // Same size, different bytes, newer time: the marker no longer vouches for it.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: result.path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: result.path))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: result.path)
        XCTAssertNil(cache.verifiedFile(for: try entry(Self.conv)), "a changed file is not trusted")
        let again = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        XCTAssertFalse(again.wasCached)
        XCTAssertEqual(try SHA256.hex(file: again.path), Self.safetensorsDigest)
        XCTAssertEqual(server.requests.count, 2)
    }

    func testWrongHashIsRefusedAndNotCached() throws {
        var corrupt = try Self.fixture("tiny_opset11.safetensors")
        corrupt[corrupt.count / 2] ^= 0x01
        server.serve(Self.safetensorsPath, .file(corrupt))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("SHA-256"), text)
            XCTAssertTrue(text.contains(Self.safetensorsDigest), text)
            XCTAssertTrue(text.contains(self.server.baseURL + Self.safetensorsPath), text)
        }
        XCTAssertEqual(cacheContents(), [], "nothing cached, no partial file")
        XCTAssertNil(cache.verifiedFile(for: try entry(Self.conv)))
    }

    func testWrongSizeIsRefused() throws {
        server.serve(Self.safetensorsPath, .file(try Self.fixture("tiny_linear_opset11.safetensors")))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("296584 bytes, but test_tiny.conv is 296624 bytes"), "\(error)")
        }
        XCTAssertEqual(cacheContents(), [])
        server.serve(Self.safetensorsPath, .file(try Self.fixture("tiny_opset11.pth")))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("offers 310915 bytes, more than the 296624 expected"), "\(error)")
        }
        XCTAssertEqual(cacheContents(), [])
    }

    func testDroppedConnectionLeavesNoFile() throws {
        let data = try Self.fixture("tiny_opset11.safetensors")
        server.serve(Self.safetensorsPath, .truncated(data, sentBytes: data.count / 2))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(self.server.baseURL + Self.safetensorsPath), text)
            XCTAssertTrue(text.contains("closed after") || text.contains("connection"), text)
        }
        XCTAssertEqual(cacheContents(), [])

        // Without a Content-Length the short body looks complete to HTTP: size and digest catch it.
        server.serve(Self.safetensorsPath, .unsized(data, sentBytes: data.count / 2))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("148312 bytes, but test_tiny.conv is 296624 bytes"), "\(error)")
        }
        XCTAssertEqual(cacheContents(), [])
    }

    func testNotFoundIsOneClearLine() throws {
        server.serve(Self.safetensorsPath, .status(404))
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))) { error in
            XCTAssertEqual("\(error)", "\(self.server.baseURL)\(Self.safetensorsPath): HTTP 404 (Not Found)")
        }
        XCTAssertEqual(cacheContents(), [])
    }

    func testConnectionRefusedIsOneClearLine() throws {
        let port = server.port
        server.stop()
        let options = DownloadOptions(source: "hub", baseURL: "http://127.0.0.1:\(port)", timeout: 10)
        XCTAssertThrowsError(try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options)) { error in
            XCTAssertEqual("\(error)", "http://127.0.0.1:\(port)\(Self.safetensorsPath): cannot connect (connection refused)")
        }
    }

    /// The built-in GitHub entries pin digest prefixes: a file with another digest is refused.
    func testBuiltInEntriesRefuseAFileWithTheWrongHash() throws {
        let wrong = try Self.fixture("tiny_opset11.pth")
        for entry in ModelRegistry.builtIn.entries {
            guard let github = entry.sources["github"], let url = URL(string: github.url) else { continue }
            server.serve(url.path, .file(wrong))
            XCTAssertThrowsError(try ModelDownloader.download(entry, cache: cache, options: options(source: "github")), entry.id) { error in
                XCTAssertTrue("\(error)".contains("does not match \(github.sha256 ?? "?")"), "\(error)")
            }
        }
        XCTAssertEqual(server.requests.count, 4, "atto, femto, pico, nano d1h")
        XCTAssertEqual(cacheContents(), [])
    }

    /// The built-in hub entries have no digest: the parameter count refuses a file of another model.
    func testBuiltInHubEntryRefusesAnotherModel() throws {
        let atto = try XCTUnwrap(ModelRegistry.builtIn.entry(named: "atto"))
        server.serve(try XCTUnwrap(URL(string: atto.sources["hub"]!.url)).path, .file(try Self.fixture("tiny_opset11.safetensors")))
        XCTAssertThrowsError(try ModelDownloader.download(atto, cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("has 72690 parameters, but convnext_atto.d2_in1k has 3695520"), "\(error)")
        }
        XCTAssertEqual(cacheContents(), [])
    }

    func testDeclaredFormatIsChecked() throws {
        let json = #"[{"name": "test_tiny", "tag": "conv", "sources": {"hub": {"format": "pth"}}}]"#
        let changed = try registry.merging(json: Data(json.utf8), path: "fmt.json")
        XCTAssertThrowsError(try ModelDownloader.download(try XCTUnwrap(changed.entry(named: Self.conv)), cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("is a safetensors file, but the registry says pth"), "\(error)")
        }
        XCTAssertEqual(cacheContents(), [])
    }

    func testStaleTemporaryFileOfADeadProcessIsRemoved() throws {
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let folder = cacheDir.appendingPathComponent(Self.conv)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stale = folder.appendingPathComponent(".tiny_opset11.safetensors.partial-\(dead.processIdentifier)-42")
        let live = folder.appendingPathComponent(".tiny_opset11.pth.partial-\(getpid())-7")
        try Data("half".utf8).write(to: stale)
        try Data("busy".utf8).write(to: live)
        _ = try ModelDownloader.download(try entry(Self.conv), cache: cache, options: options(source: "hub"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "a dead process's partial file is cleaned")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "a live process's partial file is left alone")
    }

    // MARK: - Resolver

    func testResolverUsesCachedFilesAndRegistryPreprocessing() throws {
        let resolver = ModelResolver(registry: registry, cache: cache, options: options())
        XCTAssertThrowsError(try resolver.resolve("test_tiny")) { error in
            XCTAssertEqual("\(error)", "test_tiny: test_tiny.conv is not downloaded yet; run `convnext download test_tiny` or add --download")
        }
        XCTAssertEqual(server.requests, [], "no download without asking")
        let model = try resolver.resolve("test_tiny", download: true)
        XCTAssertEqual(server.requests, [Self.safetensorsPath], "both sources pinned: hub is the default")
        XCTAssertEqual(model.parameterCount, 72_690)
        XCTAssertEqual(model.config.inputHeight, 64, "the entry's input size")
        XCTAssertEqual(model.preprocessing, PreprocessingDefaults(cropPct: 0.9, interpolation: "bilinear",
                                                                  mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]))
        let again = try resolver.resolve("test_tiny.conv", inputSize: 96)
        XCTAssertEqual(again.config.inputHeight, 96, "an explicit size wins")
        XCTAssertEqual(server.requests.count, 1)
        // A path still means a file.
        let file = try resolver.resolve(CLI.fixture("checkpoints/tiny_opset11.safetensors"))
        XCTAssertEqual(file.preprocessing, .imagenet)
    }

    /// `atto` after a (test) download of the shared atto checkpoint has crop 0.875, from the built-in entry.
    func testAttoPreprocessingFromTheRegistry() throws {
        let attoData = try Data(contentsOf: URL(fileURLWithPath: try CLI.shared("checkpoints/convnext_atto.safetensors")))
        let atto = try XCTUnwrap(ModelRegistry.builtIn.entry(named: "atto"))
        server.serve(try XCTUnwrap(URL(string: try XCTUnwrap(atto.sources["hub"]).url)).path, .file(attoData))
        let resolver = ModelResolver(registry: .builtIn, cache: cache, options: options(source: "hub"))
        let model = try resolver.resolve("atto", download: true)
        XCTAssertEqual(model.preprocessing.cropPct, 0.875)
        XCTAssertEqual(model.preprocessing.interpolation, "bicubic")
        XCTAssertEqual(model.parameterCount, 3_695_520)
        XCTAssertEqual(model.config.variantName, "atto")
        XCTAssertEqual(server.requests.count, 1)
        // Cached now: the static form, no download allowed, finds it without a request.
        let again = try ModelResolver.resolve("convnext_atto", registry: .builtIn, cache: cache, download: false)
        XCTAssertEqual(again.preprocessing.cropPct, 0.875)
        XCTAssertEqual(server.requests.count, 1)
    }

    /// `nano` resolves with crop 0.95 from its built-in entry; only its hub file is swapped for the
    /// tiny fixture (digest and counts given), so the preprocessing comes from the built-in entry.
    func testNanoPreprocessingFromTheRegistry() throws {
        let nanoJSON = """
            [{"name": "convnext_nano", "tag": "in12k_ft_in1k", "params": 72690, "classes": 10,
              "sources": {"hub": {"url": "https://models.invalid\(Self.safetensorsPath)", "sha256": "\(Self.safetensorsDigest)"}}}]
            """
        let registry = try ModelRegistry.builtIn.merging(json: Data(nanoJSON.utf8), path: "nano.json")
        let resolver = ModelResolver(registry: registry, cache: cache, options: options(source: "hub"))
        XCTAssertThrowsError(try resolver.resolve("nano")) { error in
            XCTAssertTrue("\(error)".contains("run `convnext download nano`"), "\(error)")
        }
        let nano = try resolver.resolve("nano", download: true)
        XCTAssertEqual(nano.preprocessing.cropPct, 0.95)
        XCTAssertEqual(nano.preprocessing.interpolation, "bicubic")
        XCTAssertEqual(nano.preprocessing.mean, [0.485, 0.456, 0.406])
        XCTAssertEqual(server.requests, [Self.safetensorsPath])
        let again = try ModelResolver.resolve("convnext_nano.in12k_ft_in1k", registry: registry, cache: cache, download: false)
        XCTAssertEqual(again.preprocessing.cropPct, 0.95)
        XCTAssertEqual(server.requests.count, 1)
    }

    func testRandomVariantsWhenNotCached() throws {
        let resolver = ModelResolver(registry: ModelRegistry.builtIn, cache: cache, options: options())
        let random = try resolver.resolve("atto", allowRandomVariants: true)
        XCTAssertTrue(random.source.path.hasPrefix("random:"), random.source.path)
        XCTAssertEqual(server.requests, [])
        XCTAssertThrowsError(try resolver.resolve("no_such_model")) { error in
            XCTAssertTrue("\(error)".contains("no model of that name in the registry"), "\(error)")
        }
        XCTAssertThrowsError(try resolver.resolve("models/missing.onnx")) { error in
            XCTAssertEqual("\(error)", "models/missing.onnx: no such file")
        }
    }

    // MARK: - CLI

    var cliOptions: [String] {
        ["--registry", CLI.fixture("zoo/test-registry.json"), "--cache", cacheDir.path, "--base-url", server.baseURL]
    }

    func testCLIDownloadThenNoOpThenInferByName() throws {
        let first = try CLI.run(["download", "test_tiny", "--source", "hub"] + cliOptions)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("test_tiny.conv: downloaded from hub"), first.stdout)
        XCTAssertTrue(first.stdout.contains("matches \(Self.safetensorsDigest)"), first.stdout)
        XCTAssertEqual(first.stderr, "", "no progress bar when stderr is not a terminal")
        XCTAssertEqual(server.requests, [Self.safetensorsPath])

        let second = try CLI.run(["download", "test_tiny.conv", "--source", "hub"] + cliOptions)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("already downloaded and verified"), second.stdout)
        XCTAssertEqual(server.requests.count, 1)

        // The name now works where a model file is expected; same logits as the PyTorch golden.
        let out = cacheDir.appendingPathComponent("logits.f32").path
        let infer = try CLI.run(["infer", "test_tiny", "--input-tensor", CLI.fixture("golden/tiny_opset11/input.f32"),
                                 "--output-tensor", out, "--source", "hub"] + cliOptions)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let logits = try RawFloats.read(out)
        let golden = try RawFloats.read(CLI.fixture("golden/tiny_opset11/output.f32"))
        XCTAssertEqual(logits.count, golden.count)
        let scale = golden.map(abs).max() ?? 1
        for (a, b) in zip(logits, golden) { XCTAssertLessThanOrEqual(abs(a - b), 1e-4 * scale) }
        let info = try CLI.run(["info", "test_tiny"] + cliOptions)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("72,690"), info.stdout)
        XCTAssertEqual(server.requests.count, 1)
    }

    func testCLIErrorsAreOneLine() throws {
        server.serve(Self.safetensorsPath, .status(404))
        let notFound = try CLI.run(["download", "test_tiny", "--source", "hub"] + cliOptions)
        CLI.assertOneLineFailure(notFound, mentions: "\(server.baseURL)\(Self.safetensorsPath): HTTP 404")

        let notCached = try CLI.run(["info", "test_tiny"] + cliOptions)
        CLI.assertOneLineFailure(notCached, mentions: "convnext download test_tiny")

        let unknown = try CLI.run(["download", "convnext_huge"] + cliOptions)
        CLI.assertOneLineFailure(unknown, mentions: "unknown model 'convnext_huge'")

        let noSource = try CLI.run(["download", "tiny", "--source", "github"] + cliOptions)
        CLI.assertOneLineFailure(noSource, mentions: "convnext_tiny.in12k_ft_in1k has no github source")

        // Both sources fail: a note for the first (falling back to the hub), the error of the last.
        let missingOnServer = try CLI.run(["download", "atto"] + cliOptions)
        XCTAssertEqual(missingOnServer.status, 1)
        let lines = missingOnServer.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, missingOnServer.stderr)
        XCTAssertTrue(lines.first?.hasPrefix("note: convnext_atto.d2_in1k: the github source failed") == true
                      && lines.first?.contains("convnext_atto_d2-01bb0f51.pth: HTTP 404") == true
                      && lines.first?.hasSuffix("trying hub") == true, missingOnServer.stderr)
        XCTAssertTrue(lines.last?.hasPrefix("error: ") == true
                      && lines.last?.contains("convnext_atto.d2_in1k/resolve/main/model.safetensors: HTTP 404") == true, missingOnServer.stderr)
        XCTAssertEqual(cacheContents(), [])
    }

    func testCLIDownloadWithDownloadFlagAndAll() throws {
        let info = try CLI.run(["info", "test_tiny.linear", "--download"] + cliOptions)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("Linear MLP"), info.stdout)
        XCTAssertEqual(server.requests, [Self.linearPath])

        // --all with --source github skips entries without one; the built-in ones fail (404 here) and are reported.
        let all = try CLI.run(["download", "--all", "--source", "github"] + cliOptions)
        XCTAssertEqual(all.status, 1)
        XCTAssertTrue(all.stdout.contains("convnext_tiny.in12k_ft_in1k: skipped (no github source)"), all.stdout)
        XCTAssertTrue(all.stdout.contains("test_tiny.conv: downloaded from github"), all.stdout)
        XCTAssertTrue(all.stdout.contains("test_tiny.linear: already downloaded and verified"), all.stdout)
        XCTAssertEqual(all.stderr.split(separator: "\n").count, 4, "one line per failed built-in: \(all.stderr)")
    }

    /// Issue 14, item 10: without a registry size an endless response streamed until the disk was full and
    /// left an empty cache folder. The cap now comes from the entry's parameter count.
    func testUnsizedDownloadIsCappedByTheEntryAndLeavesNothing() throws {
        let path = "/endless/model.safetensors"
        let parameters = 1000
        let entry = ZooEntry(name: "unsized_model", tag: "test", sources: [
            "hub": ZooFile(url: "https://models.invalid\(path)", format: "safetensors"),
        ], parameterCount: parameters, classes: 10, inputSize: 64)
        let cap = ModelDownloader.maximumBytes(entry: entry, file: try XCTUnwrap(entry.sources["hub"]))
        XCTAssertEqual(cap, Int64(parameters * 8 + (16 << 20)))
        // More than the cap, without Content-Length: stands in for an endless stream.
        let body = Data(count: Int(cap) + (1 << 20))
        server.serve(path, .unsized(body, sentBytes: body.count))
        XCTAssertThrowsError(try ModelDownloader.download(entry, cache: cache, options: options(source: "hub"))) { error in
            XCTAssertTrue("\(error)".contains("more than the \(cap) bytes"), "\(error)")
        }
        XCTAssertEqual(cacheContents(), [], "no partial file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cacheDir.path), [], "no empty cache folder")
        // Entries with a size keep it; entries with neither fall back to the loader's limit.
        let sized = ZooFile(url: "https://x.invalid/a", size: 1234, format: "pth")
        XCTAssertEqual(ModelDownloader.maximumBytes(entry: entry, file: sized), 1234)
        var unknown = entry
        unknown.parameterCount = nil
        XCTAssertEqual(ModelDownloader.maximumBytes(entry: unknown, file: try XCTUnwrap(entry.sources["hub"])), ModelDownloader.maxUnsizedBytes)
    }

    func testCLIInterruptRemovesThePartialFile() throws {
        let data = try Self.fixture("tiny_opset11.safetensors")
        server.serve(Self.safetensorsPath, .stall(data, sentBytes: data.count / 3))
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["download", "test_tiny", "--source", "hub"] + cliOptions
        process.standardOutput = FileHandle.nullDevice
        let errPipe = Pipe()
        process.standardError = errPipe
        try process.run()
        let folder = cacheDir.appendingPathComponent(Self.conv)
        var sawPartial = false
        for _ in 0..<200 where !sawPartial {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            sawPartial = names.contains { $0.contains(".partial-") }
            if !sawPartial { usleep(50_000) }
        }
        XCTAssertTrue(sawPartial, "the download should be under way")
        usleep(200_000)
        process.interrupt()
        process.waitUntilExit()
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("interrupted"), stderr)
        XCTAssertEqual(cacheContents(), [], "no partial file after Ctrl-C")
    }

    func testCLIZooTableAndJSONRoundTrip() throws {
        let table = try CLI.run(["zoo"] + cliOptions.prefix(4))
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("| convnext_atto.d2_in1k (default) | 3,695,520 | 224 | 0.875 | github*, hub | no | 73.25 / - | 69.75 / - | 1.96 / - | 732 / - |"), table.stdout)
        XCTAssertTrue(table.stdout.contains("| convnext_nano.d1h_in1k | 15,593,560 | 224 | 0.95 |"), table.stdout)
        XCTAssertTrue(table.stdout.contains("| test_tiny.conv (default) | 72,690 | 64 | 0.9 |"), table.stdout)
        XCTAssertTrue(table.stdout.contains("ours: not measured yet"), table.stdout)

        let json = try CLI.run(["zoo", "--json"] + cliOptions.prefix(4))
        XCTAssertEqual(json.status, 0, json.stderr)
        // The JSON is itself a registry file describing the same entries.
        let file = cacheDir.appendingPathComponent("dump.json")
        try Data(json.stdout.utf8).write(to: file)
        let reread = try ModelRegistry.builtIn.merging(file: file.path)
        XCTAssertEqual(reread, registry)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let models = object?["models"] as? [[String: Any]] ?? []
        XCTAssertEqual(models.count, 8)
        XCTAssertEqual((models.first?["board"] as? [String: Any])?["fps"] as? Double, 732)
    }
}
