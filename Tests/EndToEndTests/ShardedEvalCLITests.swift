import Foundation
import XCTest

/// `convnext eval --shard I/N`, `convnext merge`, `--predictions`, `--valid-labels`, `--real-labels`,
/// `--results-file` and `eval --plot` on the digits model (540 validation images, 526 right in PyTorch).
final class ShardedEvalCLITests: XCTestCase {
    static let demo = CLI.repoRoot.appendingPathComponent("Sources/convnext/Resources/demo").path
    static let model = "\(demo)/convnext_digits.onnx"
    static let digitsFlags = ["--size", "64", "--crop-pct", "1", "--no-progress"]

    var scratch: URL!

    override func setUpWithError() throws {
        scratch = try CLI.tempDir()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    private func object(_ file: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any], file)
    }

    /// The counts a merge must reproduce exactly: images, failures, and per model top-1/top-5 and per class.
    private func counts(_ json: [String: Any]) throws -> [String] {
        var out = ["images \(json["images"] as? Int ?? -1)", "failed \(json["failed"] as? Int ?? -1)"]
        for m in try XCTUnwrap(json["models"] as? [[String: Any]]) {
            out.append("top1 \(m["correct_top1"] as? Int ?? -1) top5 \(m["correct_top5"] as? Int ?? -1) sha \(m["sha256"] as? String ?? "")")
            for c in try XCTUnwrap(m["per_class"] as? [[String: Any]]) {
                out.append("class \(c["class"] as? Int ?? -1): \(c["images"] as? Int ?? -1) \(c["correct_top1"] as? Int ?? -1) \(c["correct_top5"] as? Int ?? -1)")
            }
        }
        return out
    }

    private func eval(_ extra: [String], data: String) throws -> CLI.Result {
        try CLI.run(["eval", Self.model, "--data", data] + Self.digitsFlags + extra)
    }

    func testOneThreeAndSevenShardsMergeToTheUnshardedCounts() throws {
        let val = try CLI.shared("digits/val")
        let whole = try eval(["--output", path("whole.json"), "--predictions", path("whole.jsonl")], data: val)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let unsharded = try object(path("whole.json"))
        XCTAssertEqual(unsharded["schema"] as? Int, 1)
        XCTAssertEqual(unsharded["images"] as? Int, 540)
        XCTAssertEqual(unsharded["correct_top1"] as? Int, 526)
        let expected = try counts(unsharded)
        let models = try XCTUnwrap(unsharded["models"] as? [[String: Any]])
        XCTAssertEqual((models[0]["sha256"] as? String)?.count, 64)
        // Per-class counts add up to the totals.
        let perClass = try XCTUnwrap(models[0]["per_class"] as? [[String: Any]])
        XCTAssertEqual(perClass.count, 10)
        XCTAssertEqual(perClass.compactMap { $0["images"] as? Int }.reduce(0, +), 540)
        XCTAssertEqual(perClass.compactMap { $0["correct_top1"] as? Int }.reduce(0, +), 526)

        for n in [1, 3, 7] {
            var files: [String] = []
            var images: [Int] = []
            for i in 0..<n {
                let file = path("n\(n)-\(i).json")
                let r = try eval(["--shard", "\(i)/\(n)", "--output", file, "--workers", "2"], data: val)
                XCTAssertEqual(r.status, 0, r.stderr)
                let shard = try object(file)
                images.append(shard["images"] as? Int ?? -1)
                files.append(file)
            }
            // Strided shards: sizes differ by at most one.
            XCTAssertEqual(images.reduce(0, +), 540, "N=\(n): \(images)")
            XCTAssertLessThanOrEqual((images.max() ?? 0) - (images.min() ?? 0), 1, "N=\(n): \(images)")
            // Any order of the files.
            let merged = try CLI.run(["merge"] + files.reversed() + ["--output", path("merged\(n).json")])
            XCTAssertEqual(merged.status, 0, merged.stderr)
            XCTAssertTrue(merged.stdout.contains("top-1 97.41% (526/540)"), merged.stdout)
            let result = try object(path("merged\(n).json"))
            XCTAssertEqual(try counts(result), expected, "N=\(n)")
            XCTAssertEqual(result["top1"] as? Double ?? 0, 526.0 / 540.0, accuracy: 1e-12)
            XCTAssertEqual((result["shard"] as? [String: Any])?["indices"] as? [Int], Array(0..<n))
        }

        // --predictions: one line per image, whose top-1 agrees with the counts.
        let lines = try String(contentsOfFile: path("whole.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 540)
        var hits1 = 0, hits5 = 0
        var indices: [Int] = []
        for line in lines {
            let entry = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let label = try XCTUnwrap(entry["label"] as? Int)
            XCTAssertNotNil(entry["path"] as? String)
            indices.append(try XCTUnwrap(entry["index"] as? Int))
            let model = try XCTUnwrap((entry["models"] as? [[String: Any]])?.first)
            let top5 = try XCTUnwrap(model["top5"] as? [[String: Any]])
            XCTAssertEqual(top5.count, 5)
            let scores = top5.compactMap { $0["score"] as? Double }
            XCTAssertEqual(scores, scores.sorted(by: >))
            if top5.first?["class"] as? Int == label { hits1 += 1 }
            if top5.contains(where: { $0["class"] as? Int == label }) { hits5 += 1 }
        }
        XCTAssertEqual(indices, Array(0..<540))
        XCTAssertEqual(hits1, 526)
        XCTAssertEqual(hits5, models[0]["correct_top5"] as? Int)
    }

    /// A small set (5 images of each of the 10 classes) in 3 shards, for the refusals.
    private func smallShards(_ extra: [String] = [], model: String = model, n: Int = 3, prefix: String) throws -> [String] {
        try (0..<n).map { i in
            let file = path("\(prefix)-\(i).json")
            let r = try CLI.run(["eval", model, "--data", "\(Self.demo)/val", "--limit", "50", "--shard", "\(i)/\(n)", "--output", file]
                                + Self.digitsFlags + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return file
        }
    }

    func testMergeRefusesMixedModelsNPreprocessingMissingAndDuplicateShards() throws {
        let a = try smallShards(prefix: "a")
        let ok = try CLI.run(["merge"] + a + ["--json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)

        let packed = path("digits.cnxk")
        XCTAssertEqual(try CLI.run(["pack", Self.model, "--output", packed]).status, 0)
        let other = try smallShards(model: packed, prefix: "packed")
        CLI.assertOneLineFailure(try CLI.run(["merge", a[0], a[1], other[2]]), mentions: "different models")

        let seven = try smallShards(n: 7, prefix: "seven")
        CLI.assertOneLineFailure(try CLI.run(["merge", a[0], a[1], seven[2]]), mentions: "same --shard N")

        let cropped = try smallShards(["--crop-pct", "0.875"], prefix: "crop")
        CLI.assertOneLineFailure(try CLI.run(["merge", a[0], a[1], cropped[2]]), mentions: "crop_pct")

        CLI.assertOneLineFailure(try CLI.run(["merge", a[0], a[2]]), mentions: "shard 1/3 missing")
        CLI.assertOneLineFailure(try CLI.run(["merge", a[0], a[1], a[1], a[2]]), mentions: "shard 1/3 is given twice")
        CLI.assertOneLineFailure(try CLI.run(["merge"]), mentions: "shard result files")
        try Data("{\"images\": 3}".utf8).write(to: URL(fileURLWithPath: path("old.json")))
        CLI.assertOneLineFailure(try CLI.run(["merge", path("old.json")]), mentions: "schema")
        CLI.assertOneLineFailure(try CLI.run(["merge", path("nothing.json")]), mentions: "nothing.json")
        // Nothing was written by a refused merge.
        CLI.assertOneLineFailure(try CLI.run(["merge", a[0], a[2], "--output", path("m.json")]), mentions: "missing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.json")))
    }

    /// Runs the CLI with extra environment variables.
    private func run(_ arguments: [String], environment: [String: String]) throws -> CLI.Result {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            .filter { $0.key != "JOB_COMPLETION_INDEX" || environment[$0.key] != nil }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
    }

    func testShardIndexFromJobCompletionIndexAndBadShards() throws {
        let base = ["eval", Self.model, "--data", "\(Self.demo)/val", "--limit", "20"] + Self.digitsFlags
        let r = try run(base + ["--shard", "/4", "--json"], environment: ["JOB_COMPLETION_INDEX": "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((json["shard"] as? [String: Any])?["indices"] as? [Int], [2])
        XCTAssertEqual((json["shard"] as? [String: Any])?["count"] as? Int, 4)
        XCTAssertEqual(json["images"] as? Int, 5)

        CLI.assertOneLineFailure(try run(base + ["--shard", "/4"], environment: [:]), mentions: "JOB_COMPLETION_INDEX")
        CLI.assertOneLineFailure(try run(base + ["--shard", "/4"], environment: ["JOB_COMPLETION_INDEX": "4"]), mentions: "0 to 3")
        CLI.assertOneLineFailure(try run(base + ["--shard", "/4"], environment: ["JOB_COMPLETION_INDEX": "x"]), mentions: "not a whole number")
        for bad in ["3/3", "-1/3", "1/0", "a/b", "1", "1/2/3"] {
            CLI.assertArgumentError(try CLI.run(base + ["--shard=\(bad)"]), mentions: "--shard")
        }
        CLI.assertOneLineFailure(try CLI.run(base + ["--shard", "30/40"]), mentions: "has none")
        CLI.assertArgumentError(try CLI.run(base + ["--results-file", path("r.txt")]), mentions: ".csv or .json")
        CLI.assertOneLineFailure(try CLI.run(base + ["--output", path("no/such/dir/x.json")]), mentions: "does not exist")
        CLI.assertOneLineFailure(try CLI.run(base + ["--predictions", scratch.path]), mentions: "is a folder")
    }

    /// Every class probability of every image, from `convnext classify --top 10` (independent of eval).
    private func probabilities(_ images: [String]) throws -> [[Double]] {
        let r = try CLI.run(["classify", Self.model] + images + ["--size", "64", "--crop-pct", "1", "--top", "10", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return try XCTUnwrap(json["results"] as? [[String: Any]]).map { result in
            var p = [Double](repeating: 0, count: 10)
            for entry in (result["top"] as? [[String: Any]]) ?? [] { p[entry["index"] as? Int ?? 0] = entry["probability"] as? Double ?? 0 }
            return p
        }
    }

    /// 4 images of each class, as a val list (relative to the demo folder) and as paths.
    private func smallList() throws -> (list: String, images: [String], labels: [Int]) {
        var lines: [String] = [], images: [String] = [], labels: [Int] = []
        for c in 0..<10 {
            for f in try FileManager.default.contentsOfDirectory(atPath: "\(Self.demo)/val/\(c)").sorted().prefix(4) {
                lines.append("val/\(c)/\(f) \(c)")
                images.append("\(Self.demo)/val/\(c)/\(f)")
                labels.append(c)
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path("val.txt"), atomically: true, encoding: .utf8)
        return (path("val.txt"), images, labels)
    }

    func testValidLabelsGiveTheCountsComputedIndependently() throws {
        let (list, images, labels) = try smallList()
        let valid = [9, 1, 4, 7]
        try (valid.map(String.init).joined(separator: "\n") + "\n").write(toFile: path("valid.txt"), atomically: true, encoding: .utf8)
        // Only the images of valid classes (timm evaluates ImageNet-A/R's own images); keep them in a list.
        let keep = labels.indices.filter { valid.contains(labels[$0]) }
        let lines = keep.map { i in "val/\(labels[i])/\((images[i] as NSString).lastPathComponent) \(labels[i])" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path("subset.txt"), atomically: true, encoding: .utf8)

        let r = try CLI.run(["eval", Self.model, "--data", Self.demo, "--val-list", path("subset.txt"), "--valid-labels", path("valid.txt"),
                             "--json"] + Self.digitsFlags)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])

        let p = try probabilities(keep.map { images[$0] })
        var hits1 = 0, hits3 = 0
        for (k, i) in keep.enumerated() {
            let ranked = valid.sorted { p[k][$0] != p[k][$1] ? p[k][$0] > p[k][$1] : $0 < $1 }
            if ranked[0] == labels[i] { hits1 += 1 }
            if ranked.prefix(3).contains(labels[i]) { hits3 += 1 }
        }
        XCTAssertEqual(json["images"] as? Int, keep.count)
        XCTAssertEqual(json["correct_top1"] as? Int, hits1)
        // Top-5 among 4 classes always holds the label.
        XCTAssertEqual(json["correct_top5"] as? Int, keep.count)
        XCTAssertGreaterThan(hits3, 0)

        // An image whose class is not listed is refused, naming it; so is a bad file.
        CLI.assertOneLineFailure(try CLI.run(["eval", Self.model, "--data", Self.demo, "--val-list", list, "--valid-labels", path("valid.txt")]
                                             + Self.digitsFlags), mentions: "does not list class 0")
        try "1\n12\n".write(toFile: path("bad.txt"), atomically: true, encoding: .utf8)
        CLI.assertOneLineFailure(try CLI.run(["eval", Self.model, "--data", Self.demo, "--val-list", list, "--valid-labels", path("bad.txt")]
                                             + Self.digitsFlags), mentions: "line 2")
    }

    func testRealLabelsGiveTheCountsComputedIndependently() throws {
        let (list, images, labels) = try smallList()
        // ReaL order: by file name. Per image: its own class, its class and a neighbour, none, or a wrong class.
        let order = images.indices.sorted {
            let a = (images[$0] as NSString).lastPathComponent, b = (images[$1] as NSString).lastPathComponent
            return a != b ? a < b : images[$0] < images[$1]
        }
        var real = [[Int]](repeating: [], count: images.count)
        for (k, i) in order.enumerated() {
            switch k % 4 {
            case 0: real[i] = [labels[i]]
            case 1: real[i] = [labels[i], (labels[i] + 1) % 10]
            case 2: real[i] = []
            default: real[i] = [(labels[i] + 5) % 10]
            }
        }
        let json = try JSONSerialization.data(withJSONObject: order.map { real[$0] })
        try json.write(to: URL(fileURLWithPath: path("real.json")))

        let r = try CLI.run(["eval", Self.model, "--data", Self.demo, "--val-list", list, "--real-labels", path("real.json"),
                             "--output", path("real-result.json"), "--results-file", path("results.csv")] + Self.digitsFlags)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("ReaL top-1"), r.stdout)
        let result = try object(path("real-result.json"))
        let model = try XCTUnwrap((result["models"] as? [[String: Any]])?.first)
        let counted = try XCTUnwrap(model["real"] as? [String: Any])

        let p = try probabilities(images)
        var n = 0, hits1 = 0, hits5 = 0
        for i in images.indices where !real[i].isEmpty {
            let ranked = (0..<10).sorted { p[i][$0] != p[i][$1] ? p[i][$0] > p[i][$1] : $0 < $1 }
            n += 1
            if real[i].contains(ranked[0]) { hits1 += 1 }
            if ranked.prefix(5).contains(where: real[i].contains) { hits5 += 1 }
        }
        XCTAssertEqual(counted["images"] as? Int, n)
        XCTAssertEqual(counted["correct_top1"] as? Int, hits1)
        XCTAssertEqual(counted["correct_top5"] as? Int, hits5)
        XCTAssertLessThan(hits1, n)   // the wrong-class quarter cannot all be hits

        // timm's results file: header and one row, with the ReaL top-1 in percent.
        let csv = try String(contentsOfFile: path("results.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation")
        XCTAssertEqual(csv.count, 2)
        guard csv.count == 2 else { return }
        let cells = csv[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(Double(cells[1]) ?? -1, 100 * Double(hits1) / Double(n), accuracy: 1e-4)
        XCTAssertEqual(cells[6], "64")

        // One entry too few: one line naming the file.
        try JSONSerialization.data(withJSONObject: Array(order.map { real[$0] }.dropLast())).write(to: URL(fileURLWithPath: path("short.json")))
        CLI.assertOneLineFailure(try CLI.run(["eval", Self.model, "--data", Self.demo, "--val-list", list, "--real-labels", path("short.json")]
                                             + Self.digitsFlags), mentions: "entries for 40 images")
        try Data("[[1], [true]]".utf8).write(to: URL(fileURLWithPath: path("bool.json")))
        CLI.assertOneLineFailure(try CLI.run(["eval", Self.model, "--data", Self.demo, "--val-list", list, "--real-labels", path("bool.json")]
                                             + Self.digitsFlags), mentions: "bool.json")
    }
}
