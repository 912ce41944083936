import ConvNeXtKit
import Foundation
import XCTest

/// Where the image tests find their files: the repo's Fixtures, and ../shared/fixtures when present.
enum ImageTestFixtures {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func repo(_ relative: String) -> String { repoRoot.appendingPathComponent("Fixtures/" + relative).path }

    /// `../shared/fixtures/<relative>` beside the repo, or nil when that folder is absent.
    static func shared(_ relative: String) -> String? {
        let path = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/" + relative).path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A scratch folder removed by the test's teardown.
    static func temporaryFolder(for test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnxk-img-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Comparison of a tensor with a timm golden in pixel units (|difference| * 255 * std).
    struct GoldenComparison {
        var withinOne: Double   // share of values within 1/255
        var maxError: Double    // in 1/255 units
        var exact: Double       // share of identical floats
    }

    static func compare(_ tensor: Tensor, golden: [Float], std: [Float]) -> GoldenComparison {
        let plane = tensor.count / 3
        var within = 0, exact = 0
        var worst = 0.0
        for i in 0..<tensor.count {
            let d = Double(abs(tensor.data[i] - golden[i])) * 255 * Double(std[i / plane])
            if d <= 1 + 1e-3 { within += 1 }
            if tensor.data[i] == golden[i] { exact += 1 }
            worst = max(worst, d)
        }
        return GoldenComparison(withinOne: Double(within) / Double(tensor.count), maxError: worst,
                                exact: Double(exact) / Double(tensor.count))
    }
}
