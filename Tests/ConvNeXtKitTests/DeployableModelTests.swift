import ConvNeXtKit
import Foundation
import XCTest

/// Float models packed into the deployable format: identical weights and logits after loading,
/// quantized payloads stored as given, and damaged files refused.
final class DeployableModelTests: XCTestCase {
    private var scratch: String = ""

    override func setUpWithError() throws { scratch = try DeploymentTestSupport.scratchDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    private func assertSameWeights(_ a: ConvNeXtModel, _ b: ConvNeXtModel, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(a.config, b.config, file: file, line: line)
        let wa = try a.namedArrays(), wb = try b.namedArrays()
        XCTAssertEqual(wa.map(\.name), wb.map(\.name), file: file, line: line)
        for (x, y) in zip(wa, wb) {
            XCTAssertEqual(x.shape, y.shape, x.name, file: file, line: line)
            XCTAssertTrue(x.values.bitwiseEqual(y.values), "\(x.name) differs", file: file, line: line)
        }
        XCTAssertEqual(a.layerNormEpsilons, b.layerNormEpsilons, file: file, line: line)
        XCTAssertEqual(a.preprocessing, b.preprocessing, file: file, line: line)
    }

    private func roundTrip(fixture: String) throws {
        let onnxPath = DeploymentTestSupport.fixture("models/\(fixture).onnx")
        let original = try ModelLoader.load(path: onnxPath)
        let packed = DeployableModel(float: original, source: try .describing(original.source))
        let out = scratch + "/\(fixture).cnxk"
        try packed.write(to: out)

        let loaded = try ModelLoader.load(path: out)
        try assertSameWeights(original, loaded)
        XCTAssertEqual(loaded.source.format, "cnxk")
        XCTAssertEqual(loaded.source.opset, original.source.opset)
        XCTAssertEqual(loaded.sourceNodes, original.sourceNodes)
        XCTAssertFalse(loaded.sourceNodes.isEmpty)

        let input = try Tensor.readRaw(path: DeploymentTestSupport.fixture("golden/\(fixture)/input.f32"), shape: original.config.inputShape)
        let expected = ReferenceForward(model: original).run(input)
        let actual = ReferenceForward(model: loaded).run(input)
        XCTAssertEqual(expected.shape, actual.shape)
        XCTAssertTrue(zip(expected.data, actual.data).allSatisfy { $0.bitPattern == $1.bitPattern }, "logits differ after packing \(fixture)")

        let file = try DeployableModel.read(path: out)
        XCTAssertEqual(file.metadata.kind, .float)
        XCTAssertEqual(file.metadata.source.path, onnxPath)
        XCTAssertEqual(file.metadata.source.sha256, SHA256.hex(SHA256.digest(try FileIO.read(path: onnxPath))))
        XCTAssertEqual(file.metadata.model.depths, original.config.depths)
        XCTAssertEqual(file.metadata.preprocessing.inputTypeRT, .featuremap)
        XCTAssertTrue(file.metadata.createdBy.hasPrefix("ConvNeXtKit"))
    }

    /// The library's one entry point opens an ONNX file and its packed `.cnxk` into ready engines
    /// with the same logits (the PyTorch golden) and the model's preprocessing.
    func testModelLoaderOpensAnyFileIntoAReadyEngine() throws {
        let onnxPath = DeploymentTestSupport.fixture("models/tiny_opset11.onnx")
        let original = try ModelLoader.load(path: onnxPath)
        let out = scratch + "/opened.cnxk"
        try DeployableModel(float: original, source: try .describing(original.source)).write(to: out)
        let input = try Tensor.readRaw(path: DeploymentTestSupport.fixture("golden/tiny_opset11/input.f32"),
                                       shape: original.config.inputShape)
        let golden = try Tensor.readRaw(path: DeploymentTestSupport.fixture("golden/tiny_opset11/output.f32"),
                                        shape: [1, original.config.numClasses])
        for path in [onnxPath, out] {
            let opened = try ModelLoader.open(path: path)
            XCTAssertTrue(opened.engine is FastEngine, path)
            XCTAssertNil(opened.nv12Input)
            XCTAssertEqual(opened.config, original.config)
            XCTAssertEqual(opened.params, original.parameterCount)
            XCTAssertEqual(opened.preprocessDefaults.size, original.config.inputHeight)
            Compare.assertLogits(opened.engine.infer(input, threads: 1).data, golden.data, tolerance: 1e-4, path)
        }
        XCTAssertThrowsError(try ModelLoader.open(path: out, inputSize: 96)) { XCTAssertTrue("\($0)".contains("compiled input size")) }
    }

    func testFloatRoundTripConvMLPOpset11() throws { try roundTrip(fixture: "tiny_opset11") }
    func testFloatRoundTripConvMLPOpset17() throws { try roundTrip(fixture: "tiny_opset17") }
    func testFloatRoundTripLinearMLP() throws { try roundTrip(fixture: "tiny_linear_opset11") }

    func testFloatRoundTripAtto() throws {
        let path = try DeploymentTestSupport.sharedFixture("models/convnext_atto.onnx")
        let original = try ModelLoader.load(path: path)
        let out = scratch + "/atto.cnxk"
        try DeployableModel(float: original, source: try .describing(original.source)).write(to: out)
        let loaded = try ModelLoader.load(path: out)
        try assertSameWeights(original, loaded)
        XCTAssertEqual(loaded.parameterCount, 3_695_520)
        XCTAssertEqual(loaded.sourceNodes[.downsampleNorm(stage: 3)]?.contains("/stages/stages.3/downsample/downsample.0/ReduceMean"), true)
    }

    func testRandomModelWithoutLayerScaleRoundTrips() throws {
        var model = ConvNeXtModel.random(config: ConvNeXtConfig(depths: [1, 1, 2, 1], dims: [8, 16, 24, 32], blockForm: .linearMLP,
                                                                numClasses: 5, inputHeight: 32, inputWidth: 64), seed: 3)
        model.stages[2].blocks[1].layerScale = nil
        model.stem.norm.epsilon = 1e-5
        let out = scratch + "/random.cnxk"
        let preprocessing = DeployedPreprocessing(inputTypeRT: .nv12, inputTypeTrain: .bgr, colourRange: .bt601Video, normType: .dataMeanAndScale,
                                                  mean: [123.675, 116.28, 103.53], scale: [0.01712475, 0.017507, 0.01742919],
                                                  inputHeight: 32, inputWidth: 64)
        try DeployableModel(float: model, preprocessing: preprocessing, source: .init(path: "memory", format: "memory")).write(to: out)
        let file = try DeployableModel.read(path: out)
        try assertSameWeights(model, try file.floatModel(path: out))
        XCTAssertNil(try file.floatModel(path: out).stages[2].blocks[1].layerScale)
        XCTAssertEqual(file.metadata.preprocessing, preprocessing)
        XCTAssertEqual(file.metadata.layerNormEpsilon?["stem.norm"], 1e-5)
    }

    func testQuantizedPayloadIsStoredAsGiven() throws {
        struct QuantMeta: Codable, Equatable { var scales: [Float]; var precisions: [String: String]; var version: Int }
        let model = ConvNeXtModel.random(config: ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [8, 8, 8, 8], blockForm: .convMLP,
                                                                numClasses: 3, inputHeight: 32, inputWidth: 32))
        let meta = QuantMeta(scales: [0.5, 1e-3, 3.25], precisions: ["stem.conv": "int8", "stages.1.downsample.norm": "int16"], version: 2)
        let arrays = [try NamedArray(name: "stem.conv.weight_q", shape: [8, 3, 4, 4], values: .int8((0..<384).map { Int8(truncatingIfNeeded: $0) })),
                      try NamedArray(name: "stem.conv.bias_q", shape: [8], values: .int32((0..<8).map { Int32($0) * 1000 }))]
        let record = DeploymentMetadata.CompileRecord(configPath: "c.yaml", configYAML: "model_parameters: {}\n", calibrationType: "default",
                                                      calibrationMethodUsed: "kl", calibrationDataDir: "cal", calibrationDataType: "float32",
                                                      calibrationDataCount: 100, layerOverrides: ["stages.3.downsample.norm": "int16"])
        let deployable = DeployableModel(quantizedArrays: arrays, quantization: try JSONValue(encoding: meta), floatModel: model,
                                         preprocessing: .featuremap(config: model.config), source: .init(path: "m.onnx", format: "onnx", sha256: "ab"),
                                         compile: record)
        let out = scratch + "/q.cnxk"
        try deployable.write(to: out)
        let file = try DeployableModel.read(path: out)
        XCTAssertEqual(file.metadata.kind, .quantized)
        XCTAssertEqual(file.metadata.compile, record)
        XCTAssertEqual(try file.metadata.quantization?.decode(QuantMeta.self), meta)
        guard case .quantized(let stored) = file.payload else { return XCTFail("expected a quantized payload") }
        XCTAssertEqual(stored, arrays)
        let text = DeploymentTestSupport.errorText { _ = try ModelLoader.load(path: out) }
        XCTAssertTrue(text.contains("quantized model"), text)
    }

    func testDamagedModelFilesAreRefusedByTheLoader() throws {
        let model = try ModelLoader.load(path: DeploymentTestSupport.fixture("models/tiny_opset11.onnx"))
        let out = scratch + "/m.cnxk"
        try DeployableModel(float: model, source: try .describing(model.source)).write(to: out)
        let bytes = try FileIO.read(path: out)
        var rng = SeededGenerator(seed: 7)
        // Every region: header, metadata, table, data, footer; plus random positions.
        var positions = [0, 7, 8, 16, 24, 40, 56, 63, 64, 100, bytes.count / 2, bytes.count - 64, bytes.count - 33, bytes.count - 1]
        positions += (0..<40).map { _ in Int(rng.next() % UInt64(bytes.count)) }
        for p in positions {
            var damaged = bytes
            damaged[p] ^= 0x10
            let path = scratch + "/flip.cnxk"
            try FileIO.writeAtomically(path: path, data: damaged)
            let text = DeploymentTestSupport.errorText { _ = try ModelLoader.load(path: path) }
            XCTAssertTrue(text.hasPrefix(path + ": not a valid model: "), "byte \(p): \(text)")
        }
        for length in [10, 64, 200, bytes.count / 3, bytes.count - 1] {
            let path = scratch + "/cut.cnxk"
            try FileIO.writeAtomically(path: path, data: bytes.prefix(length))
            let text = DeploymentTestSupport.errorText { _ = try ModelLoader.load(path: path) }
            XCTAssertTrue(text.contains("truncated"), "length \(length): \(text)")
        }
    }

    func testBadMetadataIsRefusedWithTheKey() throws {
        let model = ConvNeXtModel.random(config: ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [8, 8, 8, 8], blockForm: .convMLP,
                                                                numClasses: 3, inputHeight: 32, inputWidth: 32))
        let arrays = try model.namedArrays()
        let cases: [(String, String)] = [
            (#"{"format":"cnxk"}"#, "missing"),
            ("not json", "metadata section is not valid"),
        ]
        for (json, expected) in cases {
            let data = try DeploymentContainer(metadata: Data(json.utf8), arrays: arrays).encoded()
            let text = DeploymentTestSupport.errorText { _ = try DeployableModel.decode(data, path: "meta.cnxk") }
            XCTAssertTrue(text.contains(expected), text)
        }
        // Valid metadata, but an array of the wrong shape, one missing, one extra.
        let good = DeployableModel(float: model, source: .init(path: "x", format: "memory"))
        let meta = try good.metadata.jsonData()
        var wrongShape = arrays
        wrongShape[0] = try NamedArray(name: "stem.0.weight", shape: [8, 3, 2, 8], floats: arrays[0].floats!)
        var extra = arrays
        extra.append(try NamedArray(name: "surprise", shape: [1], floats: [0]))
        for (list, expected) in [(wrongShape, "shape 8x3x2x8"), (Array(arrays.dropLast()), "'head.fc.bias' is missing"), (extra, "'surprise'")] {
            let data = try DeploymentContainer(metadata: meta, arrays: list).encoded()
            let text = DeploymentTestSupport.errorText { _ = try DeployableModel.decode(data, path: "w.cnxk") }
            XCTAssertTrue(text.contains(expected), text)
        }
    }
}
