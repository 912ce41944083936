import ConvNeXtKit
import Foundation
import XCTest

/// A stand-in quantizer: stores the float weights as "quantized" arrays and remembers the request.
private final class RecordingQuantizer: ModelQuantizing, @unchecked Sendable {
    var request: QuantizationRequest?
    var calibrationCount = 0
    var fail = false

    func quantize(model: ConvNeXtModel, calibration: [Tensor], request: QuantizationRequest,
                  progress: @escaping @Sendable (String) -> Void) throws -> QuantizationOutcome {
        self.request = request
        calibrationCount = calibration.count
        if fail { throw ConvNeXtError.usage("quantizer failed on purpose") }
        var arrays = try model.namedArrays()
        arrays.append(try NamedArray(name: "stem.conv.weight_i8", shape: [4], values: .int8([-1, 0, 1, 127])))
        let dumps = request.dumpLayerOutputs
            ? [LayerOutputDump(layer: .stemConv, float: Tensor(shape: [1, 2], data: [1, 2]), quantized: Tensor(shape: [1, 2], data: [1, 2.5]))]
            : []
        return QuantizationOutcome(arrays: arrays, metadata: .object(["scheme": .string("test")]),
                                   reportText: "| layer | cosine |\n| stem.conv | 0.9999 |\noutput cosine: 0.9990",
                                   reportJSON: .object(["output_cosine": .number(0.999)]), calibrationMethodUsed: "kl",
                                   layerDumps: dumps)
    }
}

/// The compile pipeline around the quantizer: what it passes in, what it writes, and that a
/// failure writes nothing.
final class CompilePipelineTests: XCTestCase {
    private var scratch = ""
    override func setUpWithError() throws { scratch = try DeploymentTestSupport.scratchDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    private func makeConfig(extra: String = "", calibrationType: String = "default") throws -> CompileConfig {
        try FileManager.default.copyItem(atPath: DeploymentTestSupport.fixture("models/tiny_opset11.onnx"), toPath: scratch + "/tiny.onnx")
        try FileManager.default.createDirectory(atPath: scratch + "/cal", withIntermediateDirectories: true)
        for i in 0..<3 {
            try Data((0..<(3 * 64 * 64)).map { UInt8(($0 + i) % 256) }).write(to: URL(fileURLWithPath: scratch + "/cal/\(i).u8"))
        }
        let yaml = """
            model_parameters:
              onnx_model: tiny.onnx
              working_dir: out/nested
              output_model_file_prefix: tiny_q
              node_info: {"/stages/stages.3/downsample/downsample.1/Conv": {ON: BPU, InputType: int16}, "ghost": {ON: CPU}}
            \(extra)
            input_parameters:
              input_type_rt: nv12
              input_type_train: bgr
              input_space_and_range: bt601_video
              norm_type: data_mean_and_scale
              mean_value: 123.675 116.28 103.53
              scale_value: 0.01712475 0.017507 0.01742919
            calibration_parameters:
              cal_data_dir: cal
              cal_data_type: uint8
              calibration_type: \(calibrationType)
              per_channel: True
              optimization: set_model_output_int16
            compiler_parameters:
              optimize_level: O3
            """
        try FileIO.writeAtomically(path: scratch + "/c.yaml", data: Data(yaml.utf8))
        return try CompileConfig.load(path: scratch + "/c.yaml")
    }

    func testCompileWritesModelAndReports() throws {
        let config = try makeConfig(extra: "  layer_out_dump: True")
        let quantizer = RecordingQuantizer()
        let result = try CompilePipeline.run(config: config, quantizer: quantizer, log: { _ in })

        let request = try XCTUnwrap(quantizer.request)
        XCTAssertEqual(quantizer.calibrationCount, 3)
        XCTAssertEqual(request.calibrationType, .default)
        XCTAssertTrue(request.perChannel)
        XCTAssertEqual(request.modelOutputPrecision, .int16)
        XCTAssertEqual(request.layerOverrides, [.downsampleConv(stage: 3): .int16])
        XCTAssertTrue(request.dumpLayerOutputs)
        XCTAssertEqual(request.preprocessing.inputTypeRT, .nv12)

        XCTAssertEqual(result.modelPath, scratch + "/out/nested/tiny_q.cnxk")
        let file = try DeployableModel.read(path: result.modelPath)
        XCTAssertEqual(file.metadata.kind, .quantized)
        XCTAssertEqual(file.metadata.quantization, .object(["scheme": .string("test")]))
        XCTAssertEqual(file.metadata.preprocessing.inputTypeTrain, .bgr)
        XCTAssertEqual(file.metadata.preprocessing.colourRange, .bt601Video)
        XCTAssertEqual(file.metadata.preprocessing.scale, [0.01712475, 0.017507, 0.01742919])
        XCTAssertEqual(file.metadata.source.sha256, "aa51ca5401dfeb7ee71984e9a069d5ec45cc76cab11f17a02762b9eeb2383ce1")
        let record = try XCTUnwrap(file.metadata.compile)
        XCTAssertEqual(record.configYAML, config.yamlText)
        XCTAssertEqual(record.calibrationDataCount, 3)
        XCTAssertEqual(record.calibrationDataType, "uint8")
        XCTAssertEqual(record.calibrationMethodUsed, "kl")
        XCTAssertEqual(record.layerOverrides, ["stages.3.downsample.conv": "int16"])
        XCTAssertEqual(file.metadata.sourceNodes["stages.3.downsample.conv"]?.contains("/stages/stages.3/downsample/downsample.1/Conv"), true)
        guard case .quantized(let arrays) = file.payload else { return XCTFail("expected quantized arrays") }
        XCTAssertEqual(arrays.last?.values, .int8([-1, 0, 1, 127]))

        let report = String(decoding: try FileIO.read(path: scratch + "/out/nested/tiny_q_quant_report.txt"), as: UTF8.self)
        XCTAssertTrue(report.contains("calibration:  3 uint8 samples from \(scratch)/cal, calibration_type default (chosen: kl)"), report)
        XCTAssertTrue(report.contains("  stages.3.downsample.conv: int16 (/stages/stages.3/downsample/downsample.1/Conv)"), report)
        XCTAssertTrue(report.contains("unmatched:    ghost"), report)
        XCTAssertTrue(report.contains("no effect on a CPU: optimize_level=O3"), report)
        XCTAssertTrue(report.contains("output cosine: 0.9990"), report)
        let json = try JSONDecoder().decode(JSONValue.self, from: try FileIO.read(path: scratch + "/out/nested/tiny_q_quant_report.json"))
        guard case .object(let top) = json, case .object(let compile)? = top["compile"] else { return XCTFail("report JSON shape") }
        XCTAssertEqual(top["quantization"], .object(["output_cosine": .number(0.999)]))
        XCTAssertEqual(compile["calibration_data_count"], .number(3))
        XCTAssertEqual(compile["unmatched_nodes"], .array([.string("ghost")]))
        let dump = try Tensor.readRaw(path: scratch + "/out/nested/tiny_q_layer_out/000_stem.conv_quantized.f32", shape: [1, 2])
        XCTAssertEqual(dump.data, [1, 2.5])
    }

    func testFailedQuantizationWritesNothing() throws {
        let config = try makeConfig()
        let quantizer = RecordingQuantizer()
        quantizer.fail = true
        XCTAssertThrowsError(try CompilePipeline.run(config: config, quantizer: quantizer, log: { _ in }))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out"))
        XCTAssertThrowsError(try CompilePipeline.run(config: config, quantizer: UnavailableQuantizer(), log: { _ in }))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out"))
    }

    func testLoadCalibrationTypeIsRefusedBeforeAnyWork() throws {
        let config = try makeConfig(calibrationType: "load")
        let quantizer = RecordingQuantizer()
        let text = DeploymentTestSupport.errorText { _ = try CompilePipeline.run(config: config, quantizer: quantizer, log: { _ in }) }
        XCTAssertTrue(text.contains("line 17: calibration_parameters.calibration_type: 'load' takes scales"), text)
        XCTAssertNil(quantizer.request)
    }

    func testWrongSizeCalibrationFileStopsTheCompile() throws {
        let config = try makeConfig()
        try Data(count: 10).write(to: URL(fileURLWithPath: scratch + "/cal/9_short.u8"))
        let quantizer = RecordingQuantizer()
        let text = DeploymentTestSupport.errorText { _ = try CompilePipeline.run(config: config, quantizer: quantizer, log: { _ in }) }
        XCTAssertEqual(text, "\(scratch)/cal/9_short.u8: calibration file holds 10 bytes, expected 12288 (uint8 NCHW 1x3x64x64)")
        XCTAssertNil(quantizer.request)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out"))
    }
}
