import ConvNeXtKit
import Foundation
import XCTest

/// `ImageClassifier`, the entry point the C API, the Python package and the service share, against
/// the CLI: the same logits bit for bit on the shared goldens, the same top-5 on the shared photos,
/// int8 models too, and the async forms equal to the synchronous ones.
final class ImageClassifierCLITests: XCTestCase {
    static let goldenModels = ["tiny_opset11", "tiny_opset13", "tiny_opset17", "tiny_linear_opset11", "tiny_linear_opset17",
                               "convnext_atto"]
    static let photos = ["astronaut.jpg", "astronaut.png", "chelsea.jpg", "chelsea.png", "coffee.jpg", "coffee.png",
                         "rocket.jpg", "rocket.png"]
    static let digitsFlags = ["--size", "64", "--crop-pct", "1"]
    static let digitsOptions = ImageClassifier.Options(inputSize: 64, preprocessingChanges: .init(cropPct: 1))

    /// `convnext infer` on `input`: the raw logits it writes.
    private func cliLogits(_ model: String, input: String, flags: [String] = [], in dir: URL) throws -> Data {
        let out = dir.appendingPathComponent("cli-\(UUID().uuidString).f32").path
        let r = try CLI.run(["infer", model, "--input-tensor", input, "--output-tensor", out] + flags)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    /// `convnext classify --json --top 5`: per image, (index, label, probability).
    private func cliTop5(_ model: String, images: [String], flags: [String] = []) throws -> [[Prediction]] {
        let r = try CLI.run(["classify", model] + images + ["--top", "5", "--json"] + flags)
        XCTAssertEqual(r.status, 0, r.stderr)
        struct Report: Decodable { struct Result: Decodable { var top: [Prediction] }; var results: [Result] }
        return try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8)).results.map(\.top)
    }

    private func digitsImages(count: Int = 6) throws -> [String] {
        let val = try CLI.shared("digits/val")
        return try (0..<count).map { c in
            let folder = "\(val)/\(c)"
            let first = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first)
            return "\(folder)/\(first)"
        }
    }

    func testInferEqualsCLIBitForBitOnGoldens() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in Self.goldenModels {
            let model = try CLI.shared("models/\(name).onnx"), input = try CLI.shared("golden/\(name)/input.f32")
            let classifier = try ImageClassifier(path: model)
            let tensor = try Tensor.readRaw(path: input, shape: classifier.config.inputShape)
            let logits = try classifier.infer(tensor)
            XCTAssertEqual(littleEndianBytes(logits.data), try cliLogits(model, input: input, in: dir), name)
            XCTAssertEqual(logits.shape, [1, classifier.input.classes], name)
        }
    }

    func testClassifyEqualsCLIOnPhotosAndDigits() throws {
        let atto = try CLI.shared("models/convnext_atto.onnx")
        let photos = try Self.photos.map { try CLI.shared("images/\($0)") }
        let classifier = try ImageClassifier(path: atto)
        for (photo, expected) in zip(photos, try cliTop5(atto, images: photos)) {
            XCTAssertEqual(try classifier.classify(imagePath: photo, top: 5).top, expected, photo)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: photo))
            XCTAssertEqual(try classifier.classify(imageData: bytes, top: 5, name: photo).top, expected, photo)
        }
        // Logits longer than the labels (from another model) rank without a name past the end.
        let ranked = classifier.rank(logits: [Float](repeating: 0, count: 1000) + [9], top: 2)
        XCTAssertEqual(ranked.map(\.index), [1000, 0])
        XCTAssertEqual(ranked.map(\.label), [nil, classifier.labels?.names[0]])
        let digits = try CLI.shared("digits/convnext_digits.onnx"), images = try digitsImages()
        let digitsClassifier = try ImageClassifier(path: digits, options: Self.digitsOptions)
        let expected = try cliTop5(digits, images: images, flags: Self.digitsFlags)
        XCTAssertEqual(try images.map { try digitsClassifier.classify(imagePath: $0, top: 5).top }, expected)
    }

    func testDigitsLogitsEqualCLI() throws {
        let digits = try CLI.shared("digits/convnext_digits.onnx"), image = try digitsImages(count: 1)[0]
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tensorPath = dir.appendingPathComponent("digit.f32").path
        let r = try CLI.run(["preprocess", image, "--model", digits, "--output-tensor", tensorPath] + Self.digitsFlags)
        XCTAssertEqual(r.status, 0, r.stderr)
        let classifier = try ImageClassifier(path: digits, options: Self.digitsOptions)
        let tensor = try classifier.tensor(imagePath: image)
        XCTAssertEqual(littleEndianBytes(tensor.data), try Data(contentsOf: URL(fileURLWithPath: tensorPath)), "preprocessing")
        XCTAssertEqual(littleEndianBytes(try classifier.infer(tensor).data),
                       try cliLogits(digits, input: tensorPath, flags: ["--size", "64"], in: dir))
    }

    func testInt8ModelEqualsCLI() throws {
        let images = try digitsImages()
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Int8Digits.compile(into: dir)
        let classifier = try ImageClassifier(path: model)
        XCTAssertEqual(classifier.input.precision, "int8")
        XCTAssertEqual(try images.map { try classifier.classify(imagePath: $0, top: 5).top }, try cliTop5(model, images: images))
        // Pixel-domain input, any tensor of the shape: logits as `convnext infer` gives them.
        var rng = SystemRandomNumberGenerator()
        let pixels = Tensor(shape: classifier.config.inputShape, data: (0..<classifier.config.inputCount).map { _ in Float.random(in: 0...255, using: &rng) })
        let input = dir.appendingPathComponent("pixels.f32").path
        try pixels.writeRaw(path: input)
        XCTAssertEqual(littleEndianBytes(try classifier.infer(pixels).data), try cliLogits(model, input: input, in: dir))
    }

    /// The synchronous call: inside an `async` function Swift picks the `async` overload.
    private func classifySynchronously(_ classifier: ImageClassifier, _ path: String) throws -> ClassificationResult {
        try classifier.classify(imagePath: path)
    }

    func testAsyncFormsEqualSynchronousCallsAndRunConcurrently() async throws {
        let path = try CLI.shared("models/convnext_atto.onnx"), photo = try CLI.shared("images/chelsea.jpg")
        let classifier = try await ImageClassifier.open(path: path)
        let sync = try classifySynchronously(classifier, photo)
        let offloaded = try await classifier.classify(imagePath: photo)
        XCTAssertEqual(offloaded.top, sync.top)
        XCTAssertEqual(offloaded.logits, sync.logits)
        let tensor = try classifier.tensor(imagePath: photo)
        let viaTensor = try await classifier.classify(tensor: tensor)
        XCTAssertEqual(viaTensor.logits, sync.logits)
        let inputs = (0..<6).map { seed in
            Tensor(shape: classifier.config.inputShape, data: tensor.data.map { $0 * Float(seed + 1) / 3 })
        }
        // Logits are deterministic per thread count (1 and 2 threads split sums differently).
        let sequential = try inputs.enumerated().map { try classifier.infer($1, threads: 1 + $0 % 2).data }
        let concurrent = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (i, input) in inputs.enumerated() {
                group.addTask { (i, try await classifier.infer(input, threads: 1 + i % 2).data) }
            }
            var out = [[Float]](repeating: [], count: inputs.count)
            for try await (i, logits) in group { out[i] = logits }
            return out
        }
        XCTAssertEqual(concurrent, sequential)
        XCTAssertEqual(Set(sequential.map { littleEndianBytes($0) }).count, inputs.count, "the inputs give different logits")
    }

    func testArgumentsOutOfRangeThrow() throws {
        let classifier = try ImageClassifier(path: try CLI.shared("models/tiny_opset11.onnx"))
        let tensor = Tensor(zeros: classifier.config.inputShape)
        for threads in [0, -1, ImageClassifier.maxThreads + 1] {
            XCTAssertThrowsError(try classifier.infer(tensor, threads: threads)) {
                XCTAssertTrue("\($0)".contains("threads"), "\($0)")
            }
        }
        XCTAssertThrowsError(try classifier.infer(Tensor(zeros: [1, 3, 64, 63])))
        XCTAssertThrowsError(try classifier.classify(tensor: tensor, top: 0))
        XCTAssertThrowsError(try classifier.classify(nv12: [UInt8](repeating: 0, count: 10), width: 64, height: 64))
    }

    func testPreprocessingChangesReplaceOnlyTheGivenSettings() throws {
        let base = PreprocessOptions(size: 96, cropPct: 0.9, interpolation: .bicubic, resizeMode: .crop)
        let changed = ImageClassifier.PreprocessingChanges(cropPct: 1, resizeMode: .letterbox).applied(to: base)
        XCTAssertEqual(changed, PreprocessOptions(size: 96, cropPct: 1, interpolation: .bicubic, resizeMode: .letterbox))
        XCTAssertEqual(ImageClassifier.PreprocessingChanges().applied(to: base), base)
        let classifier = try ImageClassifier(path: try CLI.shared("models/tiny_opset11.onnx"),
                                             options: .init(preprocessingChanges: .init(cropPct: 1, interpolation: .bilinear)))
        XCTAssertEqual(classifier.input.cropPct, 1)
        XCTAssertEqual(classifier.input.interpolation, "bilinear")
        XCTAssertThrowsError(try ImageClassifier(path: try CLI.shared("models/tiny_opset11.onnx"),
                                                 options: .init(preprocessingChanges: .init(cropPct: 3))))
    }
}

/// examples/digits_int8.yaml compiled with `convnext compile` into a test's folder.
enum Int8Digits {
    static func compile(into dir: URL) throws -> String {
        let yaml = CLI.repoRoot.appendingPathComponent("examples/digits_int8.yaml").path
        let r = try CLI.run(["compile", yaml, "--working-dir", dir.path, "--crop-pct", "1"])
        guard r.status == 0 else { throw ConvNeXtError.usage("convnext compile failed: \(r.stderr)") }
        return dir.appendingPathComponent("digits_int8.cnxk").path
    }
}
