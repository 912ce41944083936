import ConvNeXtKit
import Foundation
import XCTest

/// Paths to the committed fixtures (`Fixtures/`) and the larger shared ones (`../shared/fixtures`).
enum Fixtures {
    /// The repository root, found from this file's path.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A committed fixture, e.g. `models/tiny_opset11.onnx`.
    static func path(_ relative: String) -> String { repoRoot.appendingPathComponent("Fixtures/\(relative)").path }

    /// A shared fixture, or an XCTSkip when the clone has no ../shared beside it.
    static func shared(_ relative: String) throws -> String {
        let p = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/\(relative)").path
        guard FileManager.default.fileExists(atPath: p) else { throw XCTSkip("../shared/fixtures/\(relative) is not present") }
        return p
    }

    /// The five small ConvNeXts, in every export form.
    static let tinyModels = ["tiny_opset11", "tiny_opset13", "tiny_opset17", "tiny_linear_opset11", "tiny_linear_opset17"]

    /// A raw float32 golden tensor.
    static func golden(_ path: String, shape: [Int]) throws -> Tensor { try Tensor.readRaw(path: path, shape: shape) }
}

/// Numeric comparison helpers stated as in the issues: max abs error relative to max |reference|.
enum Compare {
    static func relativeMaxError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        let scale = b.map { abs($0) }.max() ?? 1
        var worst: Float = 0
        for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
        return worst / max(scale, 1e-12)
    }

    static func topK(_ v: [Float], _ k: Int) -> [Int] {
        Array(v.indices.sorted { v[$0] > v[$1] }.prefix(k))
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<a.count {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }

    /// Asserts logits match a golden within `tolerance` x max|golden| and share the top 5.
    static func assertLogits(_ got: [Float], _ golden: [Float], tolerance: Float, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, golden.count, "\(label): logit count", file: file, line: line)
        guard got.count == golden.count else { return }
        let err = relativeMaxError(got, golden)
        XCTAssertLessThanOrEqual(err, tolerance, "\(label): max abs error / max|logit| = \(err)", file: file, line: line)
        XCTAssertEqual(topK(got, 5), topK(golden, 5), "\(label): top-5 differs", file: file, line: line)
    }
}
