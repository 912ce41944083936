import ConvNeXtKit
import Foundation
import XCTest

/// The hb_mapper YAML reader: the zoo's form, warnings, errors with key and line, overrides,
/// node_info mapping and the variant-name slip.
final class CompileConfigTests: XCTestCase {
    private var scratch = ""
    override func setUpWithError() throws { scratch = try DeploymentTestSupport.scratchDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    private let zooPath = DeploymentTestSupport.fixture("configs/convnext_atto_zoo.yaml")
    private static let zooNodes = [
        "/stages/stages.3/downsample/downsample.0/ReduceMean", "/stages/stages.3/downsample/downsample.0/Sub",
        "/stages/stages.3/downsample/downsample.0/Pow", "/stages/stages.3/downsample/downsample.0/ReduceMean_1",
        "/stages/stages.3/downsample/downsample.0/Div", "/stages/stages.3/downsample/downsample.1/Conv",
        "/stages/stages.2/blocks/blocks.5/conv_dw/Conv", "/stages/stages.2/blocks/blocks.5/Add",
    ]

    /// Writes `yaml` as `name` in the scratch folder with a tiny model and a calibration folder
    /// of `samples` pixel-domain float32 tensors of the tiny model's input (1x3x64x64).
    private func writeConfig(_ yaml: String, name: String = "config.yaml", samples: Int = 2) throws -> String {
        let model = scratch + "/tiny.onnx"
        if !FileManager.default.fileExists(atPath: model) {
            try FileManager.default.copyItem(atPath: DeploymentTestSupport.fixture("models/tiny_opset11.onnx"), toPath: model)
        }
        let cal = scratch + "/cal"
        try FileManager.default.createDirectory(atPath: cal, withIntermediateDirectories: true)
        for i in 0..<samples {
            try Tensor(shape: [1, 3, 64, 64], data: (0..<(3 * 64 * 64)).map { Float(($0 * 7 + i * 13) % 256) }).writeRaw(path: cal + "/s\(i).f32")
        }
        let path = scratch + "/" + name
        try FileIO.writeAtomically(path: path, data: Data(yaml.utf8))
        return path
    }

    private let tinyYAML = """
        model_parameters:
          onnx_model: tiny.onnx
          working_dir: out
          output_model_file_prefix: tiny_int8
        input_parameters:
          input_type_rt: rgb
          input_type_train: rgb
          norm_type: data_mean_and_scale
          mean_value: [123.675, 116.28, 103.53]
          scale_value: 0.0171
        calibration_parameters:
          cal_data_dir: cal
          calibration_type: max
          max_percentile: 0.99995

        """

    // MARK: The zoo's form

    func testZooAttoConfigParses() throws {
        let text = String(decoding: try FileIO.read(path: zooPath), as: UTF8.self)
        let config = try CompileConfig.parse(yaml: text, path: zooPath)
        XCTAssertEqual(config.warnings, [])
        XCTAssertEqual(config.model.modelPath, DeploymentTestSupport.fixture("configs/convnext_femto.onnx"))
        XCTAssertEqual(config.model.march, "bayes-e")
        XCTAssertEqual(config.model.outputPrefix, "ConvNeXt_atto_224x224_nv12")
        XCTAssertEqual(config.model.workingDir, DeploymentTestSupport.fixture("configs/bpu_model_output"))
        XCTAssertFalse(config.model.layerOutDump)
        XCTAssertEqual(config.model.nodeInfo.map(\.node), Self.zooNodes)
        XCTAssertTrue(config.model.nodeInfo.allSatisfy { $0.runOn == .bpu && $0.inputType == .int16 && $0.outputType == .int16 && $0.requestedPrecision == .int16 })
        XCTAssertEqual(config.model.nodeInfo.first?.line, 15)
        XCTAssertEqual(config.model.nodeInfo.last?.line, 22)
        XCTAssertEqual(config.input.inputTypeRT, .nv12)
        XCTAssertEqual(config.input.inputTypeTrain, .rgb)
        XCTAssertNil(config.input.inputShape)
        XCTAssertEqual(config.input.normType, .dataMeanAndScale)
        XCTAssertEqual(config.input.meanValue, [123.675, 116.28, 103.53])
        XCTAssertEqual(config.input.scaleValue, [0.01712475, 0.017507, 0.01742919])
        XCTAssertEqual(config.input.colourRange, .regular)
        XCTAssertEqual(config.calibration.dataDir, DeploymentTestSupport.fixture("configs/calibration_data_rgb_f32"))
        XCTAssertEqual(config.calibration.dataType, .float32)
        XCTAssertEqual(config.calibration.calibrationType, .default)
        XCTAssertEqual(config.compiler.values.map(\.key), ["compile_mode", "debug", "optimize_level"])
        XCTAssertEqual(config.outputModelPath, DeploymentTestSupport.fixture("configs/bpu_model_output/ConvNeXt_atto_224x224_nv12.cnxk"))
        // Loading checks the files: the zoo's femto file is not beside the fixture.
        let text2 = DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: zooPath) }
        XCTAssertEqual(text2, "\(zooPath): line 9: model_parameters.onnx_model: model file \(config.model.modelPath) does not exist")
    }

    func testZooConfigWarnsThatTheFileNameSaysFemto() throws {
        // An atto model (random weights, packed) under the femto name the zoo's YAML uses.
        let atto = ConvNeXtModel.random(config: ConvNeXtSpec.named("atto")!.config(), seed: 1)
        try DeployableModel(float: atto, source: .init(path: "random", format: "memory")).write(to: scratch + "/convnext_femto.onnx")
        let cal = scratch + "/calibration_data_rgb_f32/sub"
        try FileManager.default.createDirectory(atPath: cal, withIntermediateDirectories: true)
        try Tensor(zeros: [1, 3, 224, 224]).writeRaw(path: cal + "/0.rgbchw")
        let yaml = scratch + "/convnext_atto_zoo.yaml"
        try FileManager.default.copyItem(atPath: zooPath, toPath: yaml)

        let config = try CompileConfig.load(path: yaml)
        let model = try ModelLoader.load(path: config.model.modelPath)
        let plan = try config.resolve(against: model)
        let slip = plan.warnings.filter { $0.contains("says femto") }
        XCTAssertEqual(slip.count, 1, "\(plan.warnings)")
        XCTAssertTrue(slip[0].contains("line 9: model_parameters.onnx_model: 'convnext_femto.onnx' says femto but the model is ConvNeXt atto"), slip[0])
        // The random model carries no node names: every node_info name is reported.
        XCTAssertEqual(plan.unmatchedNodes, Self.zooNodes)
        XCTAssertEqual(plan.preprocessing.inputTypeRT, .nv12)
        XCTAssertEqual(plan.preprocessing.mean, [123.675, 116.28, 103.53])
        XCTAssertEqual(plan.preprocessing.inputHeight, 224)
    }

    func testZooNodeInfoMapsOntoAttoLayers() throws {
        let onnx = try DeploymentTestSupport.sharedFixture("models/convnext_atto.onnx")
        let config = try CompileConfig.parse(yaml: String(decoding: try FileIO.read(path: zooPath), as: UTF8.self), path: zooPath,
                                             overrides: .init(model: onnx))
        let model = try ModelLoader.load(path: config.model.modelPath)
        let plan = try config.resolve(against: model)
        XCTAssertEqual(plan.unmatchedNodes, [])
        XCTAssertEqual(plan.warnings, [])
        XCTAssertEqual(plan.layerOverrides, [.downsampleNorm(stage: 3): .int16, .downsampleConv(stage: 3): .int16,
                                             .dwConv(stage: 2, block: 5): .int16, .residual(stage: 2, block: 5): .int16])
        XCTAssertEqual(plan.nodeAssignments.count, 8)
    }

    // MARK: node_info on the tiny model

    func testNodeInfoMapsNodesAndWarnsAboutUnknownNames() throws {
        let yaml = tinyYAML.replacingOccurrences(of: "  output_model_file_prefix: tiny_int8\n", with: """
              output_model_file_prefix: tiny_int8
              node_info:
                /stages/stages.3/downsample/downsample.0/Sqrt: {ON: BPU, InputType: int16}
                /stages/stages.3/downsample/downsample.1/Conv: {ON: BPU, InputType0: int16}
                /stages/stages.2/blocks/blocks.0/mlp/act/Erf: {ON: CPU}
                /stages/stages.2/blocks/blocks.0/mlp/act/Mul_1: {InputType: int16, OutputType: int16}
                /stages/stages.1/blocks/blocks.0/conv_dw/Conv: int16
                /stages/stages.9/nowhere/Conv: {ON: BPU, InputType: int16}
                /head/fc/Gemm: {ON: BPU, InputType: int8, OutputType: int8}
                made_up_node: {OutputType: int16}

            """) + "  run_on_cpu: '/stem/stem.1/Div; /nope/Add'\n"
        let path = try writeConfig(yaml)
        let config = try CompileConfig.load(path: path)
        let plan = try config.resolve(against: ModelLoader.load(path: config.model.modelPath))
        XCTAssertEqual(plan.layerOverrides, [
            .downsampleNorm(stage: 3): .int16, .downsampleConv(stage: 3): .int16,
            .gelu(stage: 2, block: 0): .float, // ON: CPU wins over the int16 of another node in the same layer
            .dwConv(stage: 1, block: 0): .int16, .headFC: .int8, .stemNorm: .float,
        ])
        XCTAssertEqual(plan.unmatchedNodes, ["/stages/stages.9/nowhere/Conv", "made_up_node", "/nope/Add"])
        XCTAssertEqual(plan.warnings.count, 1, "\(plan.warnings)")
        XCTAssertTrue(plan.warnings[0].hasPrefix("\(path): line 5: model_parameters.node_info: 3 node names ignored"), plan.warnings[0])
        XCTAssertTrue(plan.warnings[0].hasSuffix("/stages/stages.9/nowhere/Conv, made_up_node, /nope/Add"), plan.warnings[0])
        XCTAssertEqual(plan.preprocessing.mean, [123.675, 116.28, 103.53])
        XCTAssertEqual(plan.preprocessing.scale, [0.0171, 0.0171, 0.0171])
    }

    // MARK: Warnings

    func testUnknownKeysWarnWithTheirLine() throws {
        let yaml = """
            model_parameters:
              onnx_model: tiny.onnx
              colour_of_the_sky: blue
              remove_node_type: "Quantize;Dequantize"
              node_info:
                /stem/stem.0/Conv: {ON: BPU, Precision: int16}
            input_parameters:
              input_type_rt: featuremap
              std_value: 1 2 3
            calibration_parameters:
              cal_data_dir: cal
              cal_data_type: float32
              max_percentile: 0.9999
              calibration_type: kl
              optimization: set_model_output_int16,run_fast
            compiler_parameters:
              core_num: 2
              turbo: yes
            extra_section:
              a: 1

            """
        let config = try CompileConfig.load(path: try writeConfig(yaml))
        let w = config.warnings.map { $0.replacingOccurrences(of: config.path + ": ", with: "") }
        XCTAssertEqual(w, [
            "line 19: extra_section: unknown section, ignored",
            "line 3: model_parameters.colour_of_the_sky: unknown key, ignored",
            "line 4: model_parameters.remove_node_type: not supported here, ignored (the deployed model always takes the model input and returns float logits)",
            "line 6: model_parameters.node_info['/stem/stem.0/Conv'].Precision: unknown node_info field, ignored (known: ON, InputType, OutputType, InputType0, InputType1, ...)",
            "line 9: input_parameters.std_value: unknown key, ignored",
            "line 15: calibration_parameters.optimization: 'run_fast' is not supported here, ignored (supported: set_model_output_int8, set_model_output_int16)",
            "line 13: calibration_parameters.max_percentile: used with calibration_type max only; ignored for kl",
            "line 18: compiler_parameters.turbo: unknown key, ignored",
        ])
        XCTAssertEqual(config.calibration.modelOutputPrecision, .int16)
        XCTAssertEqual(config.input.inputTypeRT, .featuremap)
        XCTAssertEqual(config.input.normType, .noPreprocess)
    }

    // MARK: Errors

    func testWrongTypesAndValuesNameTheKeyAndLine() throws {
        let base = tinyYAML
        let cases: [(String, String, String)] = [
            ("working_dir: out", "working_dir: out\n  layer_out_dump: 3", "line 4: model_parameters.layer_out_dump: expected True or False, found '3'"),
            ("calibration_type: max", "calibration_type: fast", "line 13: calibration_parameters.calibration_type: 'fast' is not one of default, max, kl, mix, skip, load"),
            ("max_percentile: 0.99995", "max_percentile: 1.5", "line 14: calibration_parameters.max_percentile: 1.5 is not a fraction in (0, 1], e.g. 0.99995"),
            ("max_percentile: 0.99995", "max_percentile: [1]", "line 14: calibration_parameters.max_percentile: expected a single value, found a list"),
            ("mean_value: [123.675, 116.28, 103.53]", "mean_value: 1 two 3", "line 9: input_parameters.mean_value: 'two' is not a number"),
            ("mean_value: [123.675, 116.28, 103.53]", "mean_value: 1 2", "line 9: input_parameters.mean_value: has 2 values; give 1 or one per channel (3)"),
            ("scale_value: 0.0171", "scale_value: 0", "line 10: input_parameters.scale_value: a scale of 0 would erase the input"),
            ("input_type_rt: rgb", "input_type_rt: rgb\n  input_shape: 1x3x64", "line 7: input_parameters.input_shape: '1x3x64' is not an NCHW shape like 1x3x224x224"),
            ("input_type_rt: rgb", "input_type_rt: rgb\n  input_shape: 2x3x64x64", "line 7: input_parameters.input_shape: batch 2: the deployed model runs batch 1"),
            ("input_type_rt: rgb", "input_type_rt: yuv420", "line 6: input_parameters.input_type_rt: 'yuv420' is not one of nv12, rgb, bgr, yuv444, gray, featuremap"),
            ("input_type_rt: rgb", "input_type_rt: nv12;rgb", "line 6: input_parameters.input_type_rt: 'nv12;rgb' lists several inputs; this tool compiles single-input models"),
            ("input_type_train: rgb", "input_type_train: nv12", "line 7: input_parameters.input_type_train: a float model is not trained on nv12; use rgb or bgr (the deployed model converts NV12)"),
            ("input_type_train: rgb", "input_type_train: rgb\n  input_layout_train: NHWC", "line 8: input_parameters.input_layout_train: NHWC is not supported: the ConvNeXt models take NCHW input"),
            ("norm_type: data_mean_and_scale", "norm_type: data_mean_and_variance", "line 8: input_parameters.norm_type: 'data_mean_and_variance' is not one of no_preprocess, data_mean, data_scale, data_mean_and_scale"),
            ("  mean_value: [123.675, 116.28, 103.53]\n", "", "line 8: input_parameters.mean_value: is missing: norm_type data_mean_and_scale needs it"),
            ("cal_data_dir: cal", "cal_data_dir: cal\n  cal_data_type: float64", "line 13: calibration_parameters.cal_data_type: 'float64' is not one of float32, uint8"),
            ("output_model_file_prefix: tiny_int8", "output_model_file_prefix: sub/tiny", "line 4: model_parameters.output_model_file_prefix: 'sub/tiny' must be a file name prefix, not a path (working_dir sets the folder)"),
            ("output_model_file_prefix: tiny_int8", "output_model_file_prefix: tiny_int8\n  node_info: {a: {InputType: int4}}", "line 5: model_parameters.node_info['a'].InputType: 'int4' is not one of int8, int16"),
            ("output_model_file_prefix: tiny_int8", "output_model_file_prefix: tiny_int8\n  node_info: [a, b]", "line 5: model_parameters.node_info: expected a mapping of keys, found a list"),
            ("output_model_file_prefix: tiny_int8", "output_model_file_prefix: tiny_int8\n  working_dir: again", "line 5: model_parameters.working_dir: key appears twice"),
            ("  onnx_model: tiny.onnx\n", "", "line 1: model_parameters.onnx_model: is missing: the model to compile (or pass --model)"),
            ("input_parameters:", "input_parameters: [1, 2]\nfoo:", "line 5: input_parameters: expected a mapping of keys, found a list"),
            ("calibration_type: max", "calibration_type: [max", "YAML syntax error"),
        ]
        for (find, replace, expected) in cases {
            XCTAssertTrue(base.contains(find), find)
            let path = try writeConfig(base.replacingOccurrences(of: find, with: replace))
            let text = DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path) }
            if expected.hasPrefix("line") {
                XCTAssertEqual(text, "\(path): \(expected)")
            } else {
                XCTAssertTrue(text.contains(expected), text)
            }
        }
    }

    func testModelChecksNameTheKey() throws {
        let cases: [(String, String, String)] = [
            ("input_type_rt: rgb", "input_type_rt: rgb\n  input_shape: 1x3x224x224", "line 7: input_parameters.input_shape: 1x3x224x224 differs from the model's input 1x3x64x64"),
            ("input_type_train: rgb", "input_type_train: gray", "line 6: input_parameters.input_type_rt: rgb input cannot feed a model trained on gray"),
        ]
        for (find, replace, expected) in cases {
            let path = try writeConfig(tinyYAML.replacingOccurrences(of: find, with: replace))
            let text = DeploymentTestSupport.errorText {
                let config = try CompileConfig.load(path: path)
                _ = try config.resolve(against: ModelLoader.load(path: config.model.modelPath))
            }
            XCTAssertEqual(text, "\(path): \(expected)")
        }
        // Gray on both sides parses, and the model (3 channels) refuses it.
        let path = try writeConfig(tinyYAML.replacingOccurrences(of: "input_type_rt: rgb", with: "input_type_rt: gray")
            .replacingOccurrences(of: "input_type_train: rgb", with: "input_type_train: gray"))
        let text = DeploymentTestSupport.errorText {
            let config = try CompileConfig.load(path: path)
            _ = try config.resolve(against: ModelLoader.load(path: config.model.modelPath))
        }
        XCTAssertEqual(text, "\(path): line 7: input_parameters.input_type_train: gray has 1 channels, the model takes 3")
    }

    func testMissingModelAndCalibrationFolders() throws {
        var path = try writeConfig(tinyYAML.replacingOccurrences(of: "onnx_model: tiny.onnx", with: "onnx_model: ../elsewhere/missing.onnx"))
        let missingModel = URL(fileURLWithPath: scratch).deletingLastPathComponent().appendingPathComponent("elsewhere/missing.onnx").path
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path) },
                       "\(path): line 2: model_parameters.onnx_model: model file \(missingModel) does not exist")

        path = try writeConfig(tinyYAML.replacingOccurrences(of: "cal_data_dir: cal", with: "cal_data_dir: no_such_dir"))
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path) },
                       "\(path): line 12: calibration_parameters.cal_data_dir: calibration folder \(scratch)/no_such_dir does not exist")

        try FileManager.default.createDirectory(atPath: scratch + "/empty/.hidden_only", withIntermediateDirectories: true)
        try Data([1]).write(to: URL(fileURLWithPath: scratch + "/empty/.DS_Store"))
        path = try writeConfig(tinyYAML.replacingOccurrences(of: "cal_data_dir: cal", with: "cal_data_dir: empty"))
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path) },
                       "\(path): line 12: calibration_parameters.cal_data_dir: calibration folder \(scratch)/empty holds no files")

        path = try writeConfig(tinyYAML.replacingOccurrences(of: "  cal_data_dir: cal\n", with: ""))
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path) },
                       "\(path): calibration_parameters.cal_data_dir is missing (needed unless calibration_type is skip)")
        // skip needs no data.
        XCTAssertNoThrow(try CompileConfig.load(path: path, overrides: .init(calibrationType: "skip")))
    }

    func testCommandLineOverrides() throws {
        let path = try writeConfig(tinyYAML)
        let cwd = FileManager.default.currentDirectoryPath
        let config = try CompileConfig.load(path: path, overrides: .init(
            model: DeploymentTestSupport.fixture("models/tiny_opset17.onnx"), workingDir: scratch + "/elsewhere",
            calibrationType: "KL", calDataDir: scratch + "/cal", outputPrefix: "renamed"))
        XCTAssertEqual(config.model.modelPath, DeploymentTestSupport.fixture("models/tiny_opset17.onnx"))
        XCTAssertEqual(config.model.modelOrigin, "--model")
        XCTAssertEqual(config.calibration.calibrationType, .kl)
        XCTAssertEqual(config.outputModelPath, scratch + "/elsewhere/renamed.cnxk")
        XCTAssertEqual(CompileConfig.parse(yamlOrNil: tinyYAML, path: path, overrides: .init(workingDir: "rel"))?.model.workingDir,
                       URL(fileURLWithPath: cwd).appendingPathComponent("rel").standardizedFileURL.path)
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path, overrides: .init(calibrationType: "best")) },
                       "\(path): --calibration-type: 'best' is not one of default, max, kl, mix, skip, load")
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path, overrides: .init(model: scratch + "/nope.onnx")) },
                       "\(path): --model: model file \(scratch)/nope.onnx does not exist")
        XCTAssertEqual(DeploymentTestSupport.errorText { _ = try CompileConfig.load(path: path, overrides: .init(outputPrefix: "a/b")) },
                       "\(path): --output-prefix: 'a/b' must be a file name prefix, not a path (working_dir sets the folder)")
    }

    func testVariantNamesInFileNames() {
        XCTAssertEqual(CompileConfig.variantMentioned(in: "convnext_femto.onnx"), "femto")
        XCTAssertEqual(CompileConfig.variantMentioned(in: "ConvNeXt_atto_224x224_nv12"), "atto")
        XCTAssertNil(CompileConfig.variantMentioned(in: "model_output"))
        XCTAssertNil(CompileConfig.variantMentioned(in: "convnext_nanotube.onnx"))
        XCTAssertNil(CompileConfig.variantMentioned(in: "tiny_opset11.onnx"))
        XCTAssertEqual(CompileConfig.variantMentioned(in: "convnext-tiny.in12k.onnx"), "tiny")
        XCTAssertEqual(CompileConfig.variantMentioned(in: "my_convnextpico"), "pico")
    }
}

extension CompileConfig {
    /// `parse` for assertions that only need the value.
    static func parse(yamlOrNil yaml: String, path: String, overrides: Overrides) -> CompileConfig? {
        try? parse(yaml: yaml, path: path, overrides: overrides)
    }
}
