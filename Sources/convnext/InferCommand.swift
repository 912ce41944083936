import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext infer`: raw float32 NCHW tensor in, raw float32 logits out.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model on a raw float32 NCHW tensor and write the raw float32 logits.",
        discussion: """
            The input file holds one or more images back to back, each of the model's input \
            shape (little-endian float32, NCHW). The output holds the logits of each image.

            Examples:
              convnext infer convnext_atto.onnx --input-tensor input.f32 --output-tensor logits.f32
              convnext infer convnext_atto.pth --input-tensor input.f32 --output-tensor logits.f32
              convnext infer convnext_atto.onnx --input-tensor input.f32 --output-tensor logits.f32 --threads 2
              convnext infer convnext_atto.onnx --input-tensor input.f32 --output-tensor ref.f32 --engine reference
              convnext infer convnext_atto.onnx --input-tensor input.f32 --output-tensor bf16.f32 --precision bf16
            """
    )

    @Argument(help: "Model file (.onnx, .safetensors or PyTorch .pth), or a registry name (atto, convnext_atto.d2_in1k; see `convnext zoo`).")
    var model: String

    @Option(help: "Square input size, a multiple of 32 (default: 224 for checkpoints, the graph's for ONNX).")
    var size: Int?

    @Option(name: .customLong("input-tensor"), help: "Raw little-endian float32 NCHW input.")
    var inputTensor: String

    @Option(name: .customLong("output-tensor"), help: "Where to write the raw float32 logits.")
    var outputTensor: String

    @OptionGroup var lookup: ModelLookupOptions

    @Option(help: "Engine: fast (optimised, default) or reference (the plain NCHW oracle).")
    var engine: EngineKind = .fast

    @Option(help: "Threads per inference (fast engine).")
    var threads: Int = 1

    @OptionGroup var isaOptions: ISAOptions

    @OptionGroup var precisionOptions: PrecisionOptions

    func validate() throws {
        try OptionValidation.modelSize(size, "--size")
        try OptionValidation.check(threads, "--threads", in: OptionValidation.threads)
    }

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            let m = try openModel(model, lookup: lookup, inputSize: size, kind: engine, precision: precisionOptions.precision)
            let input = try Tensor.readBatch(path: inputTensor, imageShape: m.config.inputShape)
            let logits = m.engine.inferBatch(input, threads: threads)
            try Tensor(shape: [logits.count, m.config.numClasses], data: logits.flatMap { $0.data })
                .writeRaw(path: outputTensor)
        }
    }
}

extension EngineKind: ExpressibleByArgument {}
