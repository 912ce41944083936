import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext demo`: the whole pipeline on the bundled digits model, in under a minute.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline on the bundled demo model (a ConvNeXt trained on handwritten digits).",
        discussion: """
            Steps: info; classify three bundled images (top-3); compile an int8 model with NV12 input \
            from a YAML in the vendor schema (the YAML is written beside the outputs, to copy); \
            classify the same images with it; evaluate float vs int8 on the bundled validation \
            images; bench both (1-thread latency, 2-worker FPS); print the zoo-style table. \
            Progress goes to stderr, results to stdout. Everything is written to --output-dir, or \
            to a temporary folder that is removed at the end.

            Examples:
              convnext demo
              convnext demo --output-dir demo-out
              convnext demo --runs 5          # quicker timing steps (e.g. under an emulator)
            """
    )

    @Option(name: .customLong("output-dir"), help: "Keep the outputs (YAML, int8 model, report) in this folder (created if missing).")
    var outputDir: String?

    @Option(help: "Timed runs per benchmark in the bench and table steps (fewer for slow machines or emulators).")
    var runs = 200

    @OptionGroup var isaOptions: ISAOptions

    func validate() throws {
        try OptionValidation.check(runs, "--runs", in: OptionValidation.runs)
    }

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            guard let resources = Bundle.module.resourceURL?.appendingPathComponent("demo"),
                  FileManager.default.fileExists(atPath: resources.appendingPathComponent("convnext_digits.onnx").path) else {
                throw ConvNeXtError.usage("the demo files are missing from this build (Resources/demo); rebuild with `swift build -c release`")
            }
            let fm = FileManager.default
            let work: URL
            let temporary = outputDir == nil
            if let outputDir {
                work = URL(fileURLWithPath: outputDir)
                try fm.createDirectory(at: work, withIntermediateDirectories: true)
            } else {
                work = fm.temporaryDirectory.appendingPathComponent("convnext-demo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
                try fm.createDirectory(at: work, withIntermediateDirectories: true)
            }
            defer { if temporary { try? fm.removeItem(at: work) } }

            let model = resources.appendingPathComponent("convnext_digits.onnx").path
            let labels = resources.appendingPathComponent("labels.txt").path
            let val = resources.appendingPathComponent("val").path
            let calibration = resources.appendingPathComponent("calibration").path
            let images = ["3", "5", "8"].compactMap { c -> String? in
                let dir = "\(val)/\(c)"
                guard let first = (try? fm.contentsOfDirectory(atPath: dir))?.sorted().first else { return nil }
                return "\(dir)/\(first)"
            }
            let size = ["--size", "64", "--crop-pct", "1"]
            let quantized = work.appendingPathComponent("convnext_digits_int8.cnxk").path
            let yamlPath = work.appendingPathComponent("convnext_digits_nv12.yaml").path
            let started = Date()

            step("1/7 info: what the model is")
            try InfoCommand.parse([model]).run()

            step("2/7 classify \(images.count) bundled images with the float model (top-3)")
            try ClassifyCommand.parse([model] + images + ["--top", "3", "--labels", labels] + size).run()

            step("3/7 compile an int8 model with NV12 input (YAML in the vendor's schema: \(yamlPath))")
            try FileIO.writeAtomically(path: yamlPath, data: Data(Self.yaml(model: model, calibration: calibration, workingDir: work.path).utf8))
            try CompileCommand.parse([yamlPath, "--crop-pct", "1"]).run()

            step("4/7 classify the same images with the int8 model (fed through the NV12 path)")
            try ClassifyCommand.parse([quantized] + images + ["--top", "3", "--labels", labels]).run()

            step("5/7 evaluate float vs int8 on the \(try EvalDataset.scanFolders(val, classes: ClassNameResolver(numClasses: 10, ids: [], names: [])).count) bundled validation images")
            try EvalCommand.parse([model, "--compare", quantized, "--data", val, "--no-progress"] + size).run()

            step("6/7 bench float and int8: 1-thread latency, 2-worker FPS")
            try BenchCommand.parse([model, "--threads", "1", "--concurrency", "1,2", "--runs", "\(runs)", "--warmup", "\(min(runs, 20))"]).run()
            try BenchCommand.parse([quantized, "--threads", "1", "--concurrency", "1,2", "--runs", "\(runs)", "--warmup", "\(min(runs, 20))"]).run()

            step("7/7 the model-zoo table, from measurements")
            try TableCommand.parse([model, "--quantized", quantized, "--data", val, "--runs", "\(runs)"] + size).run()

            step(String(format: "done in %.1f s%@", Date().timeIntervalSince(started),
                        temporary ? " (temporary outputs removed; keep them with --output-dir)" : "; outputs in \(work.path)"))
        }
    }

    private func step(_ text: String) {
        FileHandle.standardError.write(Data("\n== \(text)\n".utf8))
        print("")
    }

    /// The vendor-schema YAML the demo compiles with; paths are absolute so the file can be copied.
    static func yaml(model: String, calibration: String, workingDir: String) -> String {
        """
        # hb_mapper-style config written by `convnext demo`: int8, NV12 camera input, calibration from images.
        model_parameters:
          onnx_model: '\(model)'
          march: 'bayes-e'
          working_dir: '\(workingDir)'
          output_model_file_prefix: 'convnext_digits_int8'
          layer_out_dump: False
        input_parameters:
          input_type_rt: 'nv12'
          input_type_train: 'rgb'
          input_layout_train: 'NCHW'
          input_shape: '1x3x64x64'
          input_space_and_range: 'regular'
          norm_type: 'data_mean_and_scale'
          mean_value: '123.675 116.28 103.53'
          scale_value: '0.01712475 0.017507 0.01742919'
        calibration_parameters:
          cal_data_dir: '\(calibration)'
          calibration_type: 'default'
        compiler_parameters:
          compile_mode: 'latency'
          optimize_level: 'O3'

        """
    }
}
