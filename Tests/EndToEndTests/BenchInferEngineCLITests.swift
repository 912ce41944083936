import Foundation
import XCTest

/// `convnext bench` output forms, and `infer --engine/--threads`.
final class BenchInferEngineCLITests: XCTestCase {
    func testBenchJSONHasLatencyAndThroughputRows() throws {
        let r = try CLI.run(["bench", CLI.fixture("models/tiny_opset11.onnx"), "--threads", "1,2", "--concurrency", "1,2",
                             "--runs", "5", "--warmup", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.count, 4)
        for row in rows {
            for key in ["threads", "concurrency", "runs", "min_ms", "median_ms", "p90_ms", "fps"] {
                XCTAssertNotNil(row[key], "missing \(key) in \(row)")
            }
            let minMs = try XCTUnwrap(row["min_ms"] as? Double), median = try XCTUnwrap(row["median_ms"] as? Double)
            let p90 = try XCTUnwrap(row["p90_ms"] as? Double)
            XCTAssertGreaterThan(minMs, 0)
            XCTAssertLessThanOrEqual(minMs, median)
            XCTAssertLessThanOrEqual(median, p90)
            XCTAssertGreaterThan(try XCTUnwrap(row["fps"] as? Double), 0)
            XCTAssertEqual(row["runs"] as? Int, 5)
        }
        XCTAssertEqual(rows.compactMap { $0["threads"] as? Int }, [1, 2, 1, 1])
        XCTAssertEqual(rows.compactMap { $0["concurrency"] as? Int }, [1, 1, 1, 2])
    }

    func testBenchVariantNameMarkdownAndProfile() throws {
        let md = try CLI.run(["bench", "atto", "--threads", "1", "--concurrency", "1", "--runs", "2", "--warmup", "0",
                              "--markdown", "--float-top1", "75.7"])
        XCTAssertEqual(md.status, 0, md.stderr)
        XCTAssertTrue(md.stderr.contains("note: atto is not downloaded: timing random weights"), "random weights are said: \(md.stderr)")
        XCTAssertTrue(md.stdout.contains("| Model | Size | Classes | Params (M) | Float top-1 | Quant top-1 |"), md.stdout)
        XCTAssertTrue(md.stdout.contains("| convnext_atto | 224x224 | 1000 | 3.70 | 75.70 |  |"), md.stdout)

        let text = try CLI.run(["bench", CLI.fixture("models/tiny_linear_opset11.onnx"), "--threads", "1,2",
                                "--concurrency", "1", "--runs", "4", "--warmup", "1", "--profile"])
        XCTAssertEqual(text.status, 0, text.stderr)
        for kind in ["stem", "dwconv", "norm", "pointwise 1", "pointwise 2", "downsample", "head", "threads=2"] {
            XCTAssertTrue(text.stdout.contains(kind), "profile lacks \(kind): \(text.stdout)")
        }
    }

    func testBenchRejectsBadCountsAndMissingModels() throws {
        CLI.assertArgumentError(try CLI.run(["bench", CLI.fixture("models/tiny_opset11.onnx"), "--threads", "0"]),
                                mentions: "--threads")
        CLI.assertArgumentError(try CLI.run(["bench", CLI.fixture("models/tiny_opset11.onnx"), "--concurrency", "x"]),
                                mentions: "--concurrency")
        CLI.assertOneLineFailure(try CLI.run(["bench", "no_such_model.onnx"]), mentions: "no_such_model.onnx")
    }

    func testInferEnginesAndThreadsAgree() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = "tiny_opset13"
        let golden = try RawFloats.read(CLI.fixture("golden/\(name)/output.f32"))
        let scale = golden.map(abs).max() ?? 1
        for args in [["--engine", "reference"], ["--engine", "fast", "--threads", "2"], []] {
            let out = dir.appendingPathComponent("out.f32").path
            let r = try CLI.run(["infer", CLI.fixture("models/\(name).onnx"), "--input-tensor",
                                 CLI.fixture("golden/\(name)/input.f32"), "--output-tensor", out] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let got = try RawFloats.read(out)
            XCTAssertEqual(got.count, golden.count)
            let err = zip(got, golden).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(err / scale, 1e-4, "\(args)")
        }
        let bad = try CLI.run(["infer", CLI.fixture("models/\(name).onnx"), "--input-tensor",
                               CLI.fixture("golden/\(name)/input.f32"), "--output-tensor", dir.appendingPathComponent("x.f32").path,
                               "--threads", "0"])
        CLI.assertArgumentError(bad, mentions: "--threads")
    }
}
