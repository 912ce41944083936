import Foundation
import XCTest

/// Every numeric and list flag of every subcommand: a bad value is an argument error (exit 64,
/// `Error:` with the flag's name, then the usage), never accepted silently and never exit 1.
final class FlagValidationCLITests: XCTestCase {
    /// No such file: a flag that passes validation fails later, on the model, with one `error:` line.
    private let model = "/nonexistent/missing.onnx"
    private let image = "/nonexistent/x.jpg"
    private let data = "/nonexistent/val"

    func testBadFlagValuesAreArgumentErrors() throws {
        let m = model, i = image, d = data
        let infer = ["infer", m, "--input-tensor", "/nonexistent/in.f32", "--output-tensor", "/nonexistent/out.f32"]
        let cases: [(arguments: [String], flag: String)] = [
            (["bench", m, "--threads", "0"], "--threads"),
            (["bench", m, "--threads", "1,,2"], "--threads"),
            (["bench", m, "--threads", "1,2,"], "--threads"),
            (["bench", m, "--threads", "2,2"], "--threads"),
            (["bench", m, "--threads", "65"], "--threads"),
            (["bench", m, "--threads", ""], "--threads"),
            (["bench", m, "--threads", "1.5"], "--threads"),
            (["bench", m, "--concurrency", "2,x"], "--concurrency"),
            (["bench", m, "--concurrency", ",1"], "--concurrency"),
            (["bench", m, "--concurrency", "0"], "--concurrency"),
            (["bench", m, "--runs", "0"], "--runs"),
            (["bench", m, "--runs=-5"], "--runs"),
            (["bench", m, "--warmup=-1"], "--warmup"),
            (["bench", m, "--duration", "nan"], "--duration"),
            (["bench", m, "--duration", "inf"], "--duration"),
            (["bench", m, "--duration", "0"], "--duration"),
            (["bench", m, "--float-top1", "nan"], "--float-top1"),
            (["bench", m, "--float-top1", "inf"], "--float-top1"),
            (["bench", m, "--float-top1=-1"], "--float-top1"),
            (["bench", m, "--quant-top1", "100.5"], "--quant-top1"),
            (["bench", m, "--nv12", "0x0"], "--nv12"),
            (["bench", m, "--nv12", "63x64"], "--nv12"),
            (["bench", m, "--nv12", "224"], "--nv12"),
            (["bench", m, "--report", "bench.txt"], "--report"),
            (["bench", m, "--size", "0"], "--size"),
            (["bench", m, "--crop-pct", "nan"], "--crop-pct"),
            (["classify", m, i, "--top", "0"], "--top"),
            (["classify", m, i, "--threads", "0"], "--threads"),
            (["classify", m, i, "--threads", "1000"], "--threads"),
            (["classify", m, i, "--nv12", "224x"], "--nv12"),
            (["classify", m, i, "--crop-pct", "0"], "--crop-pct"),
            (["classify", m, i, "--crop-pct", "1.5"], "--crop-pct"),
            (["classify", m, i, "--crop-pct", "nan"], "--crop-pct"),
            (["classify", m, i, "--mean", "0.5,,0.5"], "--mean"),
            (["classify", m, i, "--mean", "nan"], "--mean"),
            (["classify", m, i, "--mean", "0.1,0.2"], "--mean"),
            (["classify", m, i, "--std", "0,1,1"], "--std"),
            (["classify", m, i, "--std", "inf"], "--std"),
            (["classify", m, i, "--size", "5000"], "--size"),
            (["classify", m, i, "--crop-mode", "squash", "--resize-mode", "letterbox"], "--crop-mode"),
            (["preprocess", i, "--output-tensor", "/nonexistent/o.f32", "--size=-3"], "--size"),
            (infer + ["--threads", "0"], "--threads"),
            (infer + ["--threads", "65"], "--threads"),
            (infer + ["--size", "0"], "--size"),
            (["info", m, "--size", "0"], "--size"),
            (["eval", m, "--data", d, "--limit", "0"], "--limit"),
            (["eval", m, "--data", d, "--shard", "3/2"], "--shard"),
            (["eval", m, "--data", d, "--shard", "0/0"], "--shard"),
            (["eval", m, "--data", d, "--shard", "a/2"], "--shard"),
            (["eval", m, "--data", d, "--concurrency", "0"], "--concurrency"),
            (["eval", m, "--data", d, "--workers", "0"], "--workers"),
            (["eval", m, "--data", d, "--workers", "2", "--concurrency", "2"], "--concurrency"),
            (["eval", m, "--data", d, "--results-file", "results.txt"], "--results-file"),
            (["table", m, "--data", d, "--limit", "0"], "--limit"),
            (["table", m, "--data", d, "--runs", "0"], "--runs"),
            (["table", m, "--data", d, "--concurrency", "0"], "--concurrency"),
            (["compile", "/nonexistent/c.yaml", "--crop-pct", "inf"], "--crop-pct"),
            (["serve", m, "--port", "70000"], "--port"),
            (["serve", m, "--workers", "0"], "--workers"),
            (["serve", m, "--queue=-1"], "--queue"),
            (["serve", m, "--timeout", "nan"], "--timeout"),
            (["serve", m, "--max-body-bytes", "10"], "--max-body-bytes"),
            (["demo", "--runs", "0"], "--runs"),
            (["download", "atto", "--source", "ftp"], "--source"),
        ]
        for (arguments, flag) in cases {
            let r = try CLI.run(arguments)
            let shown = arguments.joined(separator: " ")
            XCTAssertEqual(r.status, 64, "\(shown): an argument error exits 64; stderr: \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: "), "\(shown): \(r.stderr)")
            XCTAssertTrue(r.stderr.split(separator: "\n").first?.contains(flag) == true, "\(shown): the error names \(flag): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("Usage: convnext \(arguments[0])"), "\(shown): the usage follows: \(r.stderr)")
            XCTAssertEqual(r.stdout, "", shown)
        }
    }

    /// Good values of the same flags pass validation: the run goes on to the missing model (exit 1, one line).
    func testGoodFlagValuesPassValidation() throws {
        let m = model, i = image, d = data
        let cases: [[String]] = [
            ["bench", m, "--threads", "1, 2", "--concurrency", "1,3", "--runs", "1", "--warmup", "0", "--duration", "0.5",
             "--float-top1", "75.5", "--quant-top1", "0", "--nv12", "224x224", "--report", "/tmp/b.CSV", "--size", "64", "--crop-pct", "1"],
            ["classify", m, i, "--top", "3", "--threads", "2", "--crop-pct", "0.95", "--mean", "0.5", "--std", "0.5,0.5,0.5",
             "--crop-mode", "squash"],
            ["eval", m, "--data", d, "--concurrency", "2", "--limit", "3", "--shard", "1/2", "--results-file", "/tmp/r.json"],
            ["eval", m, "--data", d, "--workers", "2"],
            ["table", m, "--data", d, "--workers", "1", "--runs", "3"],
            ["infer", m, "--input-tensor", "/nonexistent/in.f32", "--output-tensor", "/nonexistent/out.f32", "--threads", "64", "--size", "64"],
            ["info", m, "--size", "96"],
        ]
        for arguments in cases {
            let r = try CLI.run(arguments)
            let shown = arguments.joined(separator: " ")
            XCTAssertEqual(r.status, 1, "\(shown): a tool error exits 1; stderr: \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(shown): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(shown): \(r.stderr)")
        }
    }

    /// `pack` and `bench` help name every model format they open (they listed only .onnx/.cnxk).
    func testHelpListsEveryAcceptedModelFormat() throws {
        for command in ["pack", "bench"] {
            let help = try CLI.run([command, "--help"]).stdout
            for format in [".onnx", ".safetensors", ".pth", ".cnxk"] {
                XCTAssertTrue(help.contains(format), "\(command) --help lacks \(format): \(help)")
            }
        }
    }

    /// `eval` and `table` name the worker count `--concurrency`, as `bench` does; `--workers` still works, unlisted.
    func testConcurrencyIsTheNameEverywhere() throws {
        for command in ["eval", "table", "bench"] {
            let help = try CLI.run([command, "--help"]).stdout
            XCTAssertTrue(help.contains("--concurrency"), "\(command) --help: \(help)")
            XCTAssertFalse(help.contains("--workers"), "\(command) --help lists the old name: \(help)")
        }
        let table = try CLI.run(["table", "--help"]).stdout
        let bench = try CLI.run(["bench", "--help"]).stdout
        XCTAssertTrue(table.contains("(default: 200)") && bench.contains("(default: 200)"), "--runs defaults agree:\n\(table)\n\(bench)")
    }
}
