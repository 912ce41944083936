import ConvNeXtKit
import Foundation
import XCTest

/// Paths and scratch folders for the deployment and config tests.
enum DeploymentTestSupport {
    /// The repository root (three levels above this file).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ relative: String) -> String { repoRoot.appendingPathComponent("Fixtures/" + relative).path }

    /// A large fixture from ../shared/fixtures, or a skip when that folder is absent.
    static func sharedFixture(_ relative: String) throws -> String {
        let path = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/" + relative).path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("shared fixture \(relative) not present") }
        return path
    }

    /// A fresh empty folder, removed by the caller's teardown.
    static func scratchDirectory(_ name: String = #function) throws -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnxk-\(clean)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// The error's one-line description, or a failure when `body` does not throw.
    static func errorText(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch let e as ConvNeXtError {
            return e.description
        } catch {
            return "\(error)"
        }
    }
}
