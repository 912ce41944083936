@testable import ConvNeXtKit
import Foundation
import XCTest

/// Inputs that crashed, hung or exhausted memory under libFuzzer (scripts/fuzz), replayed through the
/// same reader: each must now fail with a typed ConvNeXtError. Files live in
/// Fixtures/fuzz-regressions/TARGET/ (TARGET as in Sources/FuzzTargets); see docs/robustness.md.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz-regressions")

    static func inputs(_ target: String) throws -> [URL] {
        let dir = root.appendingPathComponent(target)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Runs `read` on every regression input of `target`, expecting a ConvNeXtError naming `path`.
    func replay(_ target: String, expectAtLeast minimum: Int, path: String, _ read: (Data) throws -> Void,
                file: StaticString = #filePath, line: UInt = #line) throws {
        let files = try Self.inputs(target)
        XCTAssertGreaterThanOrEqual(files.count, minimum, "regression inputs for \(target)", file: file, line: line)
        for url in files {
            let data = try Data(contentsOf: url)
            XCTAssertThrowsError(try read(data), url.lastPathComponent, file: file, line: line) { error in
                guard let error = error as? ConvNeXtError else {
                    return XCTFail("\(url.lastPathComponent): not a ConvNeXtError: \(error)", file: file, line: line)
                }
                XCTAssertTrue(error.description.contains(path) || path.isEmpty, "\(url.lastPathComponent): \(error)", file: file, line: line)
                XCTAssertFalse(error.description.contains("\n"), "\(url.lastPathComponent): message is not one line", file: file, line: line)
            }
        }
    }

    // MARK: - yaml (CompileConfig.parse)

    /// Deeply nested YAML overflowed the stack in the YAML composer (found by libFuzzer: ~1,800 `{`).
    func testDeeplyNestedYAMLIsRefusedBeforeComposing() throws {
        try replay("yaml", expectAtLeast: 6, path: "fuzz.yaml") { data in
            _ = try CompileConfig.parse(yaml: String(decoding: data, as: UTF8.self), path: "fuzz.yaml")
        }
        // The refusal names the depth (not a later, unrelated error).
        XCTAssertThrowsError(try CompileConfig.parse(yaml: String(repeating: "[", count: 100_000), path: "deep.yaml")) { error in
            XCTAssertTrue("\(error)".contains("nesting deeper than"), "\(error)")
        }
    }

    /// The depth bound leaves real configs alone: moderate nesting, brackets in quotes and comments.
    func testModerateNestingStillParses() throws {
        let nested = "model_parameters: {onnx_model: m.onnx, node_info: {\"a\": {ON: BPU}}}\n"
            + "# " + String(repeating: "{", count: 500) + "\n"
            + "input_parameters: {input_name: '" + String(repeating: "[", count: 500) + "'}\n"
        XCTAssertNil(CompileConfig.nestingLimitExceeded(nested, limit: CompileConfig.maxNestingDepth))
        XCTAssertNil(CompileConfig.nestingLimitExceeded(String(repeating: "[", count: 150), limit: CompileConfig.maxNestingDepth))
        XCTAssertEqual(CompileConfig.nestingLimitExceeded("a: 1\r\nb: 2\r\n" + String(repeating: "[", count: 300), limit: 200), 3)
        let zoo = try String(contentsOf: Self.root.deletingLastPathComponent().appendingPathComponent("configs/convnext_atto_zoo.yaml"), encoding: .utf8)
        XCTAssertNoThrow(try CompileConfig.parse(yaml: zoo, path: "zoo.yaml"))
    }
}
