import Foundation
import XCTest

/// `convnext demo`: the whole pipeline on the bundled model, leaving the current folder untouched.
final class DemoCLITests: XCTestCase {
    func testDemoRunsEverythingAndLeavesNoFiles() throws {
        let cwd = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: cwd) }
        let r = try CLI.run(["demo"], cwd: cwd)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(fast-f32)") && r.stdout.contains("(int8)"), "float and int8 eval: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("top-1 agreement"), r.stdout)
        XCTAssertTrue(r.stdout.contains("engine fast-f32") && r.stdout.contains("engine int8"), "bench of both: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("concurrency=2"), r.stdout)
        XCTAssertTrue(r.stdout.contains("| Model | Size | Classes |"), "zoo table: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("== 7/7"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cwd.path), [], "the current folder stays clean")
    }

    func testDemoKeepsOutputsWhenAsked() throws {
        let out = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try CLI.run(["demo", "--output-dir", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertTrue(files.contains("convnext_digits_nv12.yaml"), "\(files)")
        XCTAssertTrue(files.contains("convnext_digits_int8.cnxk"), "\(files)")
    }
}
