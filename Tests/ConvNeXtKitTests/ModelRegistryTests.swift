import ConvNeXtKit
import Foundation
import XCTest

/// The built-in registry against timm's configs, name lookup, registry files, URL rebasing, cache paths.
final class ModelRegistryTests: XCTestCase {
    let builtIn = ModelRegistry.builtIn

    func testBuiltInEntriesMatchTimm() throws {
        XCTAssertEqual(builtIn.entries.map(\.id), [
            "convnext_atto.d2_in1k", "convnext_femto.d1_in1k", "convnext_pico.d1_in1k",
            "convnext_nano.in12k_ft_in1k", "convnext_nano.d1h_in1k", "convnext_tiny.in12k_ft_in1k",
        ])
        let expected: [(String, Double, String?, Int)] = [
            ("convnext_atto.d2_in1k", 0.875, "convnext_atto_d2-01bb0f51.pth", 3_695_520),
            ("convnext_femto.d1_in1k", 0.875, "convnext_femto_d1-d71d5b4c.pth", 5_217_784),
            ("convnext_pico.d1_in1k", 0.875, "convnext_pico_d1-10ad7f0d.pth", 9_045_672),
            ("convnext_nano.d1h_in1k", 0.95, "convnext_nano_d1h-7eb4bdea.pth", 15_593_560),
            ("convnext_nano.in12k_ft_in1k", 0.95, nil, 15_593_560),
            ("convnext_tiny.in12k_ft_in1k", 0.95, nil, 28_589_128),
        ]
        for (id, crop, release, params) in expected {
            let entry = try XCTUnwrap(builtIn.entry(named: id), id)
            XCTAssertEqual(entry.id, id)
            XCTAssertEqual(entry.preprocessing.cropPct, crop, id)
            XCTAssertEqual(entry.preprocessing.interpolation, "bicubic", id)
            XCTAssertEqual(entry.preprocessing.mean, [0.485, 0.456, 0.406], id)
            XCTAssertEqual(entry.preprocessing.std, [0.229, 0.224, 0.225], id)
            XCTAssertEqual(entry.inputSize, 224, id)
            XCTAssertEqual(entry.classes, 1000, id)
            XCTAssertEqual(entry.parameterCount, params, id)
            XCTAssertEqual(entry.sources["hub"]?.url, "https://huggingface.co/timm/\(id)/resolve/main/model.safetensors", id)
            XCTAssertEqual(entry.sources["hub"]?.format, "safetensors", id)
            XCTAssertNil(entry.sources["hub"]?.sha256, "no hub digest is known: \(id)")
            if let release {
                let github = try XCTUnwrap(entry.sources["github"], id)
                XCTAssertEqual(github.url, "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-rsb-weights/\(release)")
                XCTAssertEqual(github.format, "pth")
                // The 8 hex digits of the file name are the digest prefix.
                XCTAssertEqual(github.sha256, String(release.split(separator: "-").last?.prefix(8) ?? ""), id)
                XCTAssertEqual(entry.defaultSource, "github", "a pinned digest is preferred: \(id)")
            } else {
                XCTAssertNil(entry.sources["github"], id)
                XCTAssertEqual(entry.defaultSource, "hub", id)
            }
        }
    }

    /// Every built-in parameter count is what our own model of that variant has (tiny: Linear MLP).
    func testParameterCountsMatchOurModels() throws {
        for entry in builtIn.entries {
            let variant = try XCTUnwrap(entry.variant, entry.id)
            let spec = try XCTUnwrap(ConvNeXtSpec.named(variant))
            let model = ConvNeXtModel.random(config: spec.config(numClasses: 1000, inputSize: 224))
            XCTAssertEqual(model.parameterCount, entry.parameterCount, entry.id)
        }
    }

    func testNameLookup() {
        XCTAssertEqual(builtIn.entry(named: "atto")?.id, "convnext_atto.d2_in1k")
        XCTAssertEqual(builtIn.entry(named: "convnext_atto")?.id, "convnext_atto.d2_in1k")
        XCTAssertEqual(builtIn.entry(named: "atto.d2_in1k")?.id, "convnext_atto.d2_in1k")
        // timm's default nano tag is the first it lists: in12k_ft_in1k.
        XCTAssertEqual(builtIn.entry(named: "nano")?.id, "convnext_nano.in12k_ft_in1k")
        XCTAssertEqual(builtIn.entry(named: "nano.d1h_in1k")?.id, "convnext_nano.d1h_in1k")
        XCTAssertEqual(builtIn.entry(named: "tiny")?.id, "convnext_tiny.in12k_ft_in1k")
        XCTAssertNil(builtIn.entry(named: "atto.nope"))
        XCTAssertNil(builtIn.entry(named: "small"))
        XCTAssertNil(builtIn.entry(named: "models/atto"))
        XCTAssertNil(builtIn.entry(named: ""))
        XCTAssertNil(builtIn.entry(named: "atto.onnx"))
    }

    func testNanoEntriesUseCrop095AndAttoUses0875() {
        XCTAssertEqual(builtIn.entry(named: "nano")?.preprocessing.cropPct, 0.95)
        XCTAssertEqual(builtIn.entry(named: "convnext_nano.d1h_in1k")?.preprocessing.cropPct, 0.95)
        XCTAssertEqual(builtIn.entry(named: "atto")?.preprocessing.cropPct, 0.875)
    }

    func testRegistryFileAddsEntries() throws {
        let registry = try builtIn.merging(file: Fixtures.path("zoo/test-registry.json"))
        XCTAssertEqual(registry.entries.count, builtIn.entries.count + 2)
        let conv = try XCTUnwrap(registry.entry(named: "test_tiny"))
        XCTAssertEqual(conv.id, "test_tiny.conv")
        XCTAssertEqual(conv.inputSize, 64)
        XCTAssertEqual(conv.classes, 10)
        XCTAssertEqual(conv.parameterCount, 72_690)
        XCTAssertEqual(conv.preprocessing, PreprocessingDefaults(cropPct: 0.9, interpolation: "bilinear",
                                                                 mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]))
        XCTAssertEqual(conv.sources["hub"]?.size, 296_624)
        let linear = try XCTUnwrap(registry.entry(named: "test_tiny.linear"))
        XCTAssertEqual(linear.sources["github"]?.sha256, "98d27700")
        // Fields a new entry leaves out take timm's ConvNeXt defaults; counts it leaves out are not checked.
        XCTAssertEqual(linear.preprocessing, .imagenet)
        XCTAssertNil(linear.sources["github"]?.size)
    }

    func testRegistryFileOverridesPartOfABuiltInEntry() throws {
        let json = """
            {"models": [
              {"name": "convnext_atto", "tag": "d2_in1k", "sources": {"hub": {"url": "https://mirror.example/atto.safetensors", "sha256": "0123456789abcdef"}}},
              {"name": "convnext_pico", "tag": "d1_in1k", "sources": {"github": {"size": 36000000}, "hub": null}, "crop_pct": 0.9},
              {"name": "convnext_nano", "tag": "d1h_in1k", "default": true,
               "ours": {"float_top1": 80.1, "latency_ms": 4.2, "note": "test"}}
            ]}
            """
        let registry = try builtIn.merging(json: Data(json.utf8), path: "over.json")
        let atto = try XCTUnwrap(registry.entry(named: "atto"))
        XCTAssertEqual(atto.sources["hub"], ZooFile(url: "https://mirror.example/atto.safetensors", sha256: "0123456789abcdef",
                                                    format: "safetensors"))
        XCTAssertEqual(atto.sources["github"], builtIn.entry(named: "atto")?.sources["github"], "untouched source kept")
        XCTAssertEqual(atto.parameterCount, 3_695_520)
        XCTAssertEqual(atto.preprocessing.cropPct, 0.875)
        let pico = try XCTUnwrap(registry.entry(named: "pico"))
        XCTAssertNil(pico.sources["hub"], "null removes a source")
        XCTAssertEqual(pico.sources["github"]?.size, 36_000_000)
        XCTAssertEqual(pico.sources["github"]?.sha256, "10ad7f0d", "same URL keeps the digest")
        XCTAssertEqual(pico.preprocessing.cropPct, 0.9)
        XCTAssertEqual(registry.entry(named: "nano")?.id, "convnext_nano.d1h_in1k", "default moved")
        XCTAssertEqual(registry.entry(named: "nano")?.ours?.floatTop1, 80.1)
        XCTAssertEqual(registry.entries.count, builtIn.entries.count)
    }

    func testNewURLDropsTheOldDigest() throws {
        let json = #"[{"name": "convnext_femto", "tag": "d1_in1k", "sources": {"github": {"url": "https://mirror.example/f.pth"}}}]"#
        let femto = try XCTUnwrap(try builtIn.merging(json: Data(json.utf8), path: "m.json").entry(named: "femto"))
        XCTAssertEqual(femto.sources["github"]?.url, "https://mirror.example/f.pth")
        XCTAssertNil(femto.sources["github"]?.sha256, "the old file's digest does not describe a new URL")
        XCTAssertEqual(femto.sources["github"]?.format, "pth")
    }

    func testBadRegistryFilesGiveOneLineErrors() {
        let cases: [(String, String)] = [
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.safetensors", "sha265": "ab"}}}]}"#, "unknown key 'sha265'"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.safetensors", "sha256": "abc"}}}]}"#, "8 to 64 hex digits"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "ftp://x.example/m.pth"}}}]}"#, "not an http(s) URL"),
            (#"{"models": [{"name": "m", "tag": "t"}]}"#, "no sources"),
            (#"{"models": [{"name": "../m", "tag": "t", "sources": {}}]}"#, "may only use letters"),
            (#"{"models": [{"name": "m.x", "tag": "t", "sources": {}}]}"#, "may only use letters"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.bin", "format": "bin"}}}]}"#, "format 'bin'"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.pth"}}, "crop_pct": 1.5}]}"#, "crop_pct"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.pth"}}, "input_size": 100}]}"#, "multiple of 32"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.pth"}}, "mean": [1, 2]}]}"#, "3 values"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.pth"}}, "interpolation": "cubic"}]}"#, "interpolation"),
            (#"{"models": [{"name": "m", "tag": "t", "sources": {"hub": {"url": "https://x.example/m.pth"}}, "params": "many"}]}"#, "params"),
            (#"{"models": [{"name": "m", "sources": {}}]}"#, "missing 'tag'"),
            (#"{"version": 2, "models": []}"#, "version 2"),
            (#"{"models": ["#, "not a valid registry file"),
        ]
        for (json, mention) in cases {
            XCTAssertThrowsError(try builtIn.merging(json: Data(json.utf8), path: "bad.json"), json) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("bad.json: "), text)
                XCTAssertTrue(text.contains(mention), "\(text) should mention \(mention)")
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
    }

    func testStandardRegistryReadsTheEnvironment() throws {
        let path = Fixtures.path("zoo/test-registry.json")
        XCTAssertEqual(try ModelRegistry.standard(environment: [:]), builtIn)
        XCTAssertNotNil(try ModelRegistry.standard(environment: ["CONVNEXT_REGISTRY": path]).entry(named: "test_tiny"))
        XCTAssertNotNil(try ModelRegistry.standard(file: path, environment: ["CONVNEXT_REGISTRY": "/nonexistent"]).entry(named: "test_tiny"))
        XCTAssertThrowsError(try ModelRegistry.standard(environment: ["CONVNEXT_REGISTRY": "/nonexistent.json"]))
    }

    func testRebase() throws {
        XCTAssertEqual(try ModelDownloader.rebase("https://github.com/a/b/c.pth", onto: "http://127.0.0.1:8080").absoluteString,
                       "http://127.0.0.1:8080/a/b/c.pth")
        XCTAssertEqual(try ModelDownloader.rebase("https://huggingface.co/timm/x/resolve/main/model.safetensors?download=1",
                                                  onto: "http://mirror.example/models/").absoluteString,
                       "http://mirror.example/models/timm/x/resolve/main/model.safetensors?download=1")
        XCTAssertThrowsError(try ModelDownloader.rebase("https://a.example/x", onto: "mirror.example")) { error in
            XCTAssertTrue("\(error)".contains("--base-url"), "\(error)")
        }
    }

    func testCacheLocation() {
        XCTAssertEqual(ModelCache.standard(override: "/tmp/c", environment: ["CONVNEXT_CACHE": "/x"]).directory.path, "/tmp/c")
        XCTAssertEqual(ModelCache.standard(environment: ["CONVNEXT_CACHE": "/x", "HOME": "/h"]).directory.path, "/x")
        XCTAssertEqual(ModelCache.standard(environment: ["XDG_CACHE_HOME": "/xdg", "HOME": "/h"]).directory.path, "/xdg/convnext")
        XCTAssertEqual(ModelCache.standard(environment: ["HOME": "/h"]).directory.path, "/h/.cache/convnext")
        let cache = ModelCache(directory: "/c")
        let atto = ModelRegistry.builtIn.entry(named: "atto")!
        XCTAssertEqual(cache.path(for: atto, file: atto.sources["github"]!).path, "/c/convnext_atto.d2_in1k/convnext_atto_d2-01bb0f51.pth")
        XCTAssertEqual(cache.path(for: atto, file: atto.sources["hub"]!).path, "/c/convnext_atto.d2_in1k/model.safetensors")
    }

    func testProgressLine() {
        let half = DownloadProgress(label: "convnext_atto.d2_in1k", phase: .downloading, bytes: 7_400_000, total: 14_800_000, elapsed: 2)
        XCTAssertEqual(DownloadProgressBar.line(for: half, width: 10),
                       "convnext_atto.d2_in1k [#####-----]  50%  7.4/14.8 MB  3.7 MB/s")
        let unknown = DownloadProgress(label: "m.t", phase: .downloading, bytes: 1_000_000, total: nil, elapsed: 0.5)
        XCTAssertEqual(DownloadProgressBar.line(for: unknown), "m.t  1.0 MB  2.0 MB/s")
    }
}
