@testable import ConvNeXtKit
import Foundation
import SwiftProtobuf
import XCTest

/// Recognition of timm's graphs, model statistics, and refusal of files that are not ConvNeXts.
final class ONNXImportTests: XCTestCase {
    func testTinyModelsRecogniseBothBlockForms() throws {
        for name in Fixtures.tinyModels {
            let model = try ModelLoader.load(path: Fixtures.path("models/\(name).onnx"))
            XCTAssertEqual(model.config.depths, [1, 1, 2, 1], name)
            XCTAssertEqual(model.config.dims, [8, 16, 32, 64], name)
            XCTAssertEqual(model.config.numClasses, 10, name)
            XCTAssertEqual(model.config.inputShape, [1, 3, 64, 64], name)
            XCTAssertEqual(model.config.blockForm, name.contains("linear") ? .linearMLP : .convMLP, name)
            XCTAssertEqual(model.parameterCount, 72_690, name)
            XCTAssertEqual(model.stem.norm.epsilon, 1e-6, accuracy: 1e-12, name)
            XCTAssertNotNil(model.stages[2].blocks[1].layerScale, name)
        }
    }

    func testOpsetIsRecorded() throws {
        XCTAssertEqual(try ModelLoader.load(path: Fixtures.path("models/tiny_opset13.onnx")).source.opset, 13)
        XCTAssertEqual(try ModelLoader.load(path: Fixtures.path("models/tiny_opset17.onnx")).source.opset, 17)
    }

    func testAttoStatisticsAndNodeMap() throws {
        let model = try ModelLoader.load(path: try Fixtures.shared("models/convnext_atto.onnx"))
        XCTAssertEqual(model.config.variantName, "atto")
        XCTAssertEqual(model.parameterCount, 3_695_520)
        XCTAssertEqual(Double(model.macCount) / 1e9, 0.547, accuracy: 0.001)
        let downsampleNorm = try XCTUnwrap(model.sourceNodes[.downsampleNorm(stage: 3)])
        XCTAssertTrue(downsampleNorm.contains("/stages/stages.3/downsample/downsample.0/ReduceMean"))
        XCTAssertEqual(model.sourceNodes[.downsampleConv(stage: 3)], ["/stages/stages.3/downsample/downsample.1/Conv"])
        XCTAssertEqual(model.sourceNodes[.residual(stage: 2, block: 5)], ["/stages/stages.2/blocks/blocks.5/Add"])
    }

    /// The zoo's parameter counts for every variant (its count_parameters over ONNX initializers).
    func testVariantParameterCounts() {
        let expected = ["atto": 3_695_520, "femto": 5_217_784, "pico": 9_045_672, "nano": 15_593_560]
        for (name, params) in expected {
            let spec = try! XCTUnwrap(ConvNeXtSpec.named(name))
            let model = ConvNeXtModel.random(config: spec.config(), seed: 1)
            XCTAssertEqual(model.parameterCount, params, name)
            XCTAssertEqual(model.config.variantName, name)
        }
        XCTAssertEqual(ConvNeXtSpec.variantName(depths: [1, 1, 2, 1], dims: [8, 16, 32, 64]), "custom")
    }

    func testRandomModelsAreDeterministic() {
        let config = ConvNeXtSpec.named("atto")!.config(numClasses: 10, inputSize: 64)
        let a = ConvNeXtModel.random(config: config, seed: 7), b = ConvNeXtModel.random(config: config, seed: 7)
        XCTAssertEqual(a.stages[2].blocks[3].fc1.weight, b.stages[2].blocks[3].fc1.weight)
        XCTAssertNotEqual(a.stem.conv.weight, ConvNeXtModel.random(config: config, seed: 8).stem.conv.weight)
    }

    func testTruncatedFileIsRefused() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/tiny_opset11.onnx")))
        for cut in [1, 100, data.count / 3, data.count - 10] {
            XCTAssertThrowsError(try ONNXImporter.load(data: data.prefix(cut), path: "cut.onnx"), "cut at \(cut)") { error in
                XCTAssertTrue("\(error)".hasPrefix("cut.onnx: "), "\(error)")
            }
        }
    }

    func testNonONNXBytesAreRefused() {
        XCTAssertThrowsError(try ONNXImporter.load(data: Data("hello, this is not a model\n".utf8), path: "x.onnx")) { error in
            XCTAssertTrue("\(error)".contains("x.onnx"), "\(error)")
        }
        XCTAssertThrowsError(try ModelLoader.load(path: "/nonexistent/model.onnx")) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }

    func testValidONNXThatIsNotConvNeXtIsRefused() throws {
        var model = Onnx_ModelProto()
        model.irVersion = 7
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 11
        model.opsetImport = [opset]
        var input = Onnx_ValueInfoProto()
        input.name = "data"
        var relu = Onnx_NodeProto()
        relu.opType = "Relu"
        relu.name = "relu"
        relu.input = ["data"]
        relu.output = ["output"]
        var output = Onnx_ValueInfoProto()
        output.name = "output"
        model.graph.node = [relu]
        model.graph.input = [input]
        model.graph.output = [output]
        let data: Data = try model.serializedData()
        XCTAssertThrowsError(try ONNXImporter.load(data: data, path: "relu.onnx")) { error in
            XCTAssertTrue("\(error)".contains("not a supported ConvNeXt"), "\(error)")
        }
    }

    func testLyingRawDataIsRefused() throws {
        var tensor = Onnx_TensorProto()
        tensor.name = "w"
        tensor.dims = [1000, 1000]
        tensor.dataType = 1
        tensor.rawData = Data(count: 16)
        XCTAssertThrowsError(try ConstantTensor(tensor, path: "lie.onnx"))
        tensor.dims = [Int64.max / 2, 4]
        XCTAssertThrowsError(try ConstantTensor(tensor, path: "lie.onnx"))
        tensor.dims = [-1]
        XCTAssertThrowsError(try ConstantTensor(tensor, path: "lie.onnx"))
    }

    // MARK: - What ONNX Runtime refuses (issue 14, item 7)

    func tinyProto() throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/tiny_opset11.onnx"))))
    }

    func expectRefused(_ model: Onnx_ModelProto, containing text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let data: Data = try model.serializedData()
        XCTAssertThrowsError(try ONNXImporter.load(data: data, path: "edited.onnx"), file: file, line: line) { error in
            XCTAssertTrue("\(error)".hasPrefix("edited.onnx: ") && "\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }

    func testDuplicateInitializersAreRefused() throws {
        var model = try tinyProto()
        let index = try XCTUnwrap(model.graph.initializer.firstIndex { $0.name == "stem.0.bias" })
        var copy = model.graph.initializer[index]
        copy.rawData = Data(count: copy.rawData.count)
        model.graph.initializer.append(copy)
        try expectRefused(model, containing: "initializer 'stem.0.bias' is defined twice")
    }

    func testIntegerWeightsAreRefused() throws {
        var model = try tinyProto()
        let index = try XCTUnwrap(model.graph.initializer.firstIndex { $0.name == "stem.0.weight" })
        let count = model.graph.initializer[index].dims.reduce(1, *)
        model.graph.initializer[index].dataType = 7  // INT64
        model.graph.initializer[index].rawData = Data(count: Int(count) * 8)
        try expectRefused(model, containing: "integer tensor 'stem.0.weight'")
    }

    func testOpsetsOutsideTheKnownRangeAreRefused() throws {
        for version: Int64 in [6, 0, 24, 1000] {
            var model = try tinyProto()
            model.opsetImport[0].version = version
            try expectRefused(model, containing: "opset \(version)")
        }
        var model = try tinyProto()
        model.opsetImport = []
        try expectRefused(model, containing: "imports no ai.onnx opset")
        for version: Int64 in [7, 23] {
            var model = try tinyProto()
            model.opsetImport[0].version = version
            XCTAssertNoThrow(try ONNXImporter.load(data: try model.serializedData(), path: "ok.onnx"), "opset \(version)")
        }
    }

    func testZeroSizedInputDimsAreRefused() throws {
        for axis in [0, 2, 3] {
            var model = try tinyProto()
            model.graph.input[0].type.tensorType.shape.dim[axis].dimValue = 0
            try expectRefused(model, containing: "dimension \(axis) is 0")
        }
    }

    func testNonFiniteWeightsAreRefusedAtLoadNamingTheTensor() throws {
        for value in [Float.infinity, -Float.infinity, Float.nan] {
            var model = try tinyProto()
            let index = try XCTUnwrap(model.graph.initializer.firstIndex { $0.name == "stem.0.weight" })
            var raw = model.graph.initializer[index].rawData
            withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.replaceSubrange(20..<24, with: $0) }
            model.graph.initializer[index].rawData = raw
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("nonfinite-\(UUID().uuidString).onnx").path
            try (try model.serializedData() as Data).write(to: URL(fileURLWithPath: path))
            defer { unlink(path) }
            XCTAssertThrowsError(try ModelLoader.load(path: path)) { error in
                XCTAssertTrue("\(error)".contains("weight 'stem.0.weight' holds") && "\(error)".contains("element 5"), "\(error)")
            }
        }
    }
}
