import ArgumentParser
import ConvNeXtKit
import Foundation

/// `convnext preprocess`: an image to the model's input tensor (or its NV12 frame).
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Turn a JPEG or PNG into the model input (float32 NCHW) or its NV12 frame.",
        discussion: """
            By default this is timm's evaluation transform, bit for bit as Pillow computes it: \
            shorter side to floor(size / crop-pct) with bicubic resampling, centre crop, scale \
            to 0...1, normalise by mean and std. --output-nv12 writes the resized and cropped \
            image as an NV12 frame (Y plane, then interleaved U,V) instead of floats.

            Examples:
              convnext preprocess chelsea.jpg --output-tensor chelsea.f32
              convnext preprocess chelsea.jpg --model convnext_atto.onnx --output-nv12 chelsea.nv12
              convnext preprocess chelsea.jpg --resize-mode letterbox --interpolation bilinear --output-tensor lb.f32
            """
    )

    @Argument(help: "Image file (JPEG or PNG).")
    var image: String

    @Option(name: .customLong("output-tensor"), help: "Where to write the float32 NCHW tensor [1,3,size,size].")
    var outputTensor: String?

    @Option(name: .customLong("output-nv12"), help: "Where to write the size x size NV12 frame.")
    var outputNV12: String?

    @Option(help: "Take the default size and preprocessing from this model (a file or a registry name).")
    var model: String?

    @OptionGroup var preprocess: PreprocessFlags

    @OptionGroup var lookup: ModelLookupOptions

    func validate() throws {
        guard outputTensor != nil || outputNV12 != nil else {
            throw ValidationError("give --output-tensor OUT.f32 and/or --output-nv12 OUT.nv12")
        }
    }

    func run() throws {
        try reportingErrors {
            var defaults = PreprocessOptions()
            if let model { defaults = PreprocessOptions(model: try lookup.load(model)) }
            let options = try preprocess.options(defaults: defaults)
            let decoded = try ImageDecoder.decode(path: image, applyExifOrientation: options.applyExifOrientation)
            let cropped = Preprocessor.modelImage(decoded, options: options)
            // Build every output before writing any, so a failure leaves no file behind.
            let frame = try outputNV12.map { _ in
                try NV12Frame(rgb: cropped, range: preprocess.nv12Range, path: image)
            }
            if let outputTensor {
                let tensor = Preprocessor.normalizedTensor(cropped, mean: options.mean, std: options.std)
                try tensor.writeRaw(path: outputTensor)
                print("wrote \(outputTensor): float32 1x3x\(options.size)x\(options.size) from \(decoded.width)x\(decoded.height) (\(options.resizeMode.rawValue), \(options.interpolation.rawValue))")
            }
            if let outputNV12, let frame {
                try frame.write(path: outputNV12)
                print("wrote \(outputNV12): NV12 \(frame.width)x\(frame.height), \(frame.bytes.count) bytes (\(preprocess.nv12Range.rawValue) range)")
            }
        }
    }
}
