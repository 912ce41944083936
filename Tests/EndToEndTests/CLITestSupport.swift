import Foundation
import XCTest

/// Runs the built `convnext` binary and captures its exit code and output.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The repository root, found from this file's path.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `convnext` executable next to the test bundle.
    static var binary: URL {
        // On Linux the bundle URL is the products folder itself; elsewhere the .xctest inside it.
        let bundle = Bundle(for: Marker.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("convnext") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func fixture(_ relative: String) -> String { repoRoot.appendingPathComponent("Fixtures/\(relative)").path }

    static func shared(_ relative: String) throws -> String {
        let p = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/\(relative)").path
        guard FileManager.default.fileExists(atPath: p) else { throw XCTSkip("../shared/fixtures/\(relative) is not present") }
        return p
    }

    /// Runs the tool; `environment` entries are added to (or, with a nil value, removed from) this process's.
    @discardableResult
    static func run(_ arguments: [String], cwd: URL? = nil, environment: [String: String?] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = cwd }
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh empty temporary directory.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convnext-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Asserts a failed run: exit 1, one non-empty line on stderr naming `mentions`.
    static func assertOneLineFailure(_ r: Result, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, "exit status; stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "stderr should be one line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "stderr should mention \(mentions): \(r.stderr)", file: file, line: line)
    }

    /// Asserts an argument error: exit 64, `Error:` naming `mentions` on the first line, then the usage.
    static func assertArgumentError(_ r: Result, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 64, "exit status; stderr: \(r.stderr)", file: file, line: line)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("Error: ") && first.contains(mentions), "the first line should name \(mentions): \(r.stderr)",
                      file: file, line: line)
        XCTAssertTrue(r.stderr.contains("Usage: convnext "), "the usage should follow: \(r.stderr)", file: file, line: line)
    }

    private final class Marker {}
}

/// Little-endian float32 file helpers for comparisons.
enum RawFloats {
    static func read(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
