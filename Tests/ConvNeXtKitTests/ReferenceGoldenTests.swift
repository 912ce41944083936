import ConvNeXtKit
import XCTest

/// The reference forward pass against PyTorch goldens (the oracle must itself be right).
final class ReferenceGoldenTests: XCTestCase {
    func testTinyModelsMatchPyTorch() throws {
        for name in Fixtures.tinyModels {
            let model = try ModelLoader.load(path: Fixtures.path("models/\(name).onnx"))
            let input = try Fixtures.golden(Fixtures.path("golden/\(name)/input.f32"), shape: model.config.inputShape)
            let golden = try Fixtures.golden(Fixtures.path("golden/\(name)/output.f32"), shape: [1, model.config.numClasses])
            let logits = ReferenceForward(model: model).run(input)
            Compare.assertLogits(logits.data, golden.data, tolerance: 1e-4, name)
        }
    }

    func testAttoLogitsAndStageOutputsMatchPyTorch() throws {
        let model = try ModelLoader.load(path: try Fixtures.shared("models/convnext_atto.onnx"))
        let dir = try Fixtures.shared("golden/convnext_atto")
        let input = try Fixtures.golden("\(dir)/input.f32", shape: [1, 3, 224, 224])
        var observed: [String: Tensor] = [:]
        let lastBlock = model.stages.map { $0.blocks.count - 1 }
        let logits = ReferenceForward(model: model).run(input) { id, t in
            switch id {
            case .stemNorm: observed["stem"] = t
            case .residual(let s, let b) where b == lastBlock[s]: observed["stage\(s)"] = t
            default: break
            }
        }
        let shapes: [String: [Int]] = ["stem": [1, 40, 56, 56], "stage0": [1, 40, 56, 56], "stage1": [1, 80, 28, 28],
                                       "stage2": [1, 160, 14, 14], "stage3": [1, 320, 7, 7]]
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let golden = try Fixtures.golden("\(dir)/\(name).f32", shape: shape)
            let got = try XCTUnwrap(observed[name], "no \(name) output observed")
            XCTAssertEqual(got.shape, shape, name)
            let err = Compare.relativeMaxError(got.data, golden.data)
            XCTAssertLessThanOrEqual(err, 1e-3, "\(name): max abs error / max|value| = \(err)")
        }
        let golden = try Fixtures.golden("\(dir)/output.f32", shape: [1, 1000])
        Compare.assertLogits(logits.data, golden.data, tolerance: 1e-3, "convnext_atto")
    }
}
