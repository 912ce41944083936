import ConvNeXtKit
import Foundation
import XCTest

/// timm checkpoints (`.pth`, `.safetensors`) with exactly the weights of the ONNX fixtures of the
/// same name: the reference forward pass must match the PyTorch goldens, and the imported
/// weights and parameter counts must equal the ONNX import's.
final class CheckpointGoldenTests: XCTestCase {
    override class func tearDown() {
        try? FileManager.default.removeItem(at: CheckpointTestFiles.temporaryFolder)
        super.tearDown()
    }

    private var repoFixtures: URL { CheckpointTestFiles.repoRoot.appendingPathComponent("Fixtures") }

    /// Runs the checkpoint on the golden input; max |logit - golden| <= tolerance x max |golden|, same top-5.
    private func assertMatchesGolden(model: ConvNeXtModel, goldenFolder: URL, tolerance: Float,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let input = try Tensor.readRaw(path: goldenFolder.appendingPathComponent("input.f32").path, shape: model.config.inputShape)
        let golden = try Tensor.readRaw(path: goldenFolder.appendingPathComponent("output.f32").path, shape: [1, model.config.numClasses])
        let logits = ReferenceForward(model: model).run(input)
        let scale = golden.data.map { abs($0) }.max() ?? 0
        XCTAssertGreaterThan(scale, 0, file: file, line: line)
        let worst = zip(logits.data, golden.data).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, tolerance * scale,
                                 "\(model.source.path): max diff \(worst) vs allowed \(tolerance * scale)", file: file, line: line)
        func top5(_ v: [Float]) -> [Int] { Array(v.indices.sorted { v[$0] > v[$1] }.prefix(5)) }
        XCTAssertEqual(top5(logits.data), top5(golden.data), "\(model.source.path): top-5 differs", file: file, line: line)
    }

    /// The checkpoint import equals the ONNX import: config, parameter count, every weight.
    private func assertSameWeights(_ checkpoint: ConvNeXtModel, _ onnx: ConvNeXtModel,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(checkpoint.config, onnx.config, file: file, line: line)
        XCTAssertEqual(checkpoint.parameterCount, onnx.parameterCount, file: file, line: line)
        let a = CheckpointTestFiles.allWeights(checkpoint), b = CheckpointTestFiles.allWeights(onnx)
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where x != y {
            XCTFail("weight array \(i) differs from the ONNX import", file: file, line: line)
            break
        }
    }

    func testTinyCheckpointsMatchGoldenAndONNX() throws {
        for name in ["tiny_opset11", "tiny_linear_opset11"] {
            let onnx = try ONNXImporter.load(path: repoFixtures.appendingPathComponent("models/\(name).onnx").path)
            for ext in ["pth", "safetensors"] {
                let path = repoFixtures.appendingPathComponent("checkpoints/\(name).\(ext)").path
                let model = try ModelLoader.load(path: path, inputSize: 64)
                XCTAssertEqual(model.source.format, ext)
                XCTAssertEqual(model.config.blockForm, name.contains("linear") ? .linearMLP : .convMLP)
                XCTAssertEqual(model.parameterCount, 72_690)
                XCTAssertEqual(model.preprocessing, .imagenet)
                XCTAssertEqual(model.stem.norm.epsilon, 1e-6)
                XCTAssertEqual(model.sourceNodes[.fc1(stage: 2, block: 1)],
                               ["stages.2.blocks.1.mlp.fc1.weight", "stages.2.blocks.1.mlp.fc1.bias"])
                assertSameWeights(model, onnx)
                try assertMatchesGolden(model: model, goldenFolder: repoFixtures.appendingPathComponent("golden/\(name)"),
                                        tolerance: 1e-4)
            }
        }
    }

    func testCheckpointDefaultsTo224Input() throws {
        let model = try ModelLoader.load(path: repoFixtures.appendingPathComponent("checkpoints/tiny_opset11.pth").path)
        XCTAssertEqual(model.config.inputShape, [1, 3, 224, 224])
    }

    func testAttoCheckpointsMatchGoldenAndONNX() throws {
        guard let shared = CheckpointTestFiles.sharedFixtures,
              FileManager.default.fileExists(atPath: shared.appendingPathComponent("checkpoints/convnext_atto.pth").path) else {
            throw XCTSkip("../shared/fixtures with the atto checkpoints is not present")
        }
        let onnx = try ONNXImporter.load(path: shared.appendingPathComponent("models/convnext_atto.onnx").path)
        XCTAssertEqual(onnx.parameterCount, 3_695_520)
        for ext in ["pth", "safetensors"] {
            let model = try ModelLoader.load(path: shared.appendingPathComponent("checkpoints/convnext_atto.\(ext)").path)
            XCTAssertEqual(model.config.variantName, "atto")
            XCTAssertEqual(model.config.inputShape, [1, 3, 224, 224])
            assertSameWeights(model, onnx)
            try assertMatchesGolden(model: model, goldenFolder: shared.appendingPathComponent("golden/convnext_atto"), tolerance: 1e-3)
        }
    }

    /// A model written as a state dict in both forms and both formats reads back bit for bit.
    func testRandomModelsRoundTripThroughCraftedFiles() throws {
        for form in [BlockForm.convMLP, .linearMLP] {
            let config = ConvNeXtConfig(depths: [1, 2, 1, 1], dims: [8, 16, 24, 32], blockForm: form, numClasses: 7,
                                        inputHeight: 32, inputWidth: 32)
            let original = ConvNeXtModel.random(config: config, seed: 5)
            let stateDict = CheckpointTestFiles.stateDict(of: original)
            let files = [
                ("roundtrip-\(form.rawValue).safetensors", CheckpointTestFiles.safetensors(stateDict: stateDict)),
                ("roundtrip-\(form.rawValue).pth", CheckpointTestFiles.pth(stateDict)),
                ("roundtrip-\(form.rawValue)-ordered.pth", CheckpointTestFiles.pth(stateDict, ordered: true)),
                ("roundtrip-\(form.rawValue)-ordered-ema.pth", CheckpointTestFiles.pth(stateDict, wrapper: "state_dict_ema", ordered: true)),
                ("roundtrip-\(form.rawValue)-wrapped.pth", CheckpointTestFiles.pth(stateDict.map {
                    CheckpointTestFiles.PthTensor(name: "module." + $0.name, shape: $0.shape, values: $0.values)
                }, wrapper: "state_dict")),
            ]
            // The original ConvNeXt release names the same tensors differently (and wraps them under "model").
            let originalNames = stateDict.map { t -> CheckpointTestFiles.PthTensor in
                var name = t.name
                for (timm, original) in [("stem.0.", "downsample_layers.0.0."), ("stem.1.", "downsample_layers.0.1."),
                                         ("head.norm.", "norm."), ("head.fc.", "head."), (".conv_dw.", ".dwconv."),
                                         (".mlp.fc1.", ".pwconv1."), (".mlp.fc2.", ".pwconv2."), (".blocks.", ".")] {
                    name = name.replacingOccurrences(of: timm, with: original)
                }
                if name.contains(".downsample.") {
                    let parts = name.split(separator: ".")
                    name = "downsample_layers.\(parts[1]).\(parts[3]).\(parts[4])"
                }
                return CheckpointTestFiles.PthTensor(name: name, shape: t.shape, values: t.values)
            }
            XCTAssertTrue(originalNames.contains { $0.name == "stages.0.0.pwconv1.weight" })
            XCTAssertTrue(originalNames.contains { $0.name == "downsample_layers.2.1.weight" })
            let allFiles = files + [("roundtrip-\(form.rawValue)-original.pth", CheckpointTestFiles.pth(originalNames, wrapper: "model"))]
            for (name, data) in allFiles {
                let path = try CheckpointTestFiles.temporaryFile(data, name: name)
                let model = try ModelLoader.load(path: path, inputSize: 32)
                XCTAssertEqual(model.config, config, name)
                XCTAssertEqual(model.parameterCount, original.parameterCount, name)
                XCTAssertTrue(CheckpointTestFiles.allWeights(model) == CheckpointTestFiles.allWeights(original), name)
            }
        }
    }

    func testONNXInputSizeCanBeOverridden() throws {
        let path = repoFixtures.appendingPathComponent("models/tiny_opset11.onnx").path
        XCTAssertEqual(try ModelLoader.load(path: path).config.inputHeight, 64)
        XCTAssertEqual(try ModelLoader.load(path: path, inputSize: 96).config.inputShape, [1, 3, 96, 96])
        assertCheckpointError(["input size 100"]) { _ = try ModelLoader.load(path: path, inputSize: 100) }
    }
}
