import ConvNeXtKit
import Foundation
import XCTest

/// Resident memory across many load-run-release cycles of the tiny model (opt-in: it takes a while).
///
///     CONVNEXT_RSS_CYCLES=1000 swift test -c release --filter MemoryCycleTests
final class MemoryCycleTests: XCTestCase {
    /// Resident set size in bytes, from /proc/self/statm (second field, in pages).
    static func residentBytes() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { throw XCTSkip("/proc/self/statm is not readable") }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testLoadRunReleaseDoesNotGrowResidentMemory() throws {
        guard let text = ProcessInfo.processInfo.environment["CONVNEXT_RSS_CYCLES"], let cycles = Int(text), cycles >= 20 else {
            throw XCTSkip("set CONVNEXT_RSS_CYCLES (e.g. 1000) to run")
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/models/tiny_opset11.onnx").path
        func cycle(_ i: Int) throws {
            let model = try ModelLoader.load(path: path)
            let count = model.config.inputCount
            let input = Tensor(shape: model.config.inputShape, data: (0..<count).map { Float(($0 + i) % 17) / 17 })
            let logits = ReferenceForward(model: model).run(input)
            XCTAssertEqual(logits.data.count, model.config.numClasses)
        }
        // Warm-up: allocator pools and lazily initialised globals settle in the first cycles.
        for i in 0..<10 { try cycle(i) }
        let start = try Self.residentBytes()
        var samples: [(Int, Int)] = []
        for i in 0..<cycles {
            try cycle(i)
            if (i + 1) % max(1, cycles / 10) == 0 { samples.append((i + 1, try Self.residentBytes())) }
        }
        let end = try Self.residentBytes()
        let mib = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
        print("RSS after warm-up \(mib(start)), after \(cycles) cycles \(mib(end)) (growth \(mib(end - start)))")
        print("RSS samples: " + samples.map { "\($0.0): \(mib($0.1))" }.joined(separator: ", "))
        // A leak of even one small model copy per cycle (about 0.3 MB) would add >= 6 MB over 20 cycles.
        XCTAssertLessThan(end - start, 8 << 20, "resident memory grew by \(mib(end - start)) over \(cycles) cycles")
    }
}
