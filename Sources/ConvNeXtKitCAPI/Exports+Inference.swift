import CConvNeXtKitAPI
import ConvNeXtKit
import Foundation

// Running a model: tensors, encoded images and NV12 frames in, logits and top-k out, always into
// the caller's buffers.

/// `convnextkit_infer`: logits for one float32 NCHW input, computed straight into the caller's buffer.
@_cdecl("convnextkit_infer")
public func convnextkitInfer(_ model: OpaquePointer?, _ input: UnsafePointer<Float>?, _ inputCount: Int,
                             _ logits: UnsafeMutablePointer<Float>?, _ logitsCount: Int, _ threads: Int32) -> convnextkit_status {
    reportingFailures {
        let handle = try ModelHandleRegistry.shared.handle(model)
        let inputs = UnsafeBufferPointer(start: try CArguments.required(input, "input"), count: try CArguments.count(inputCount, "input_count"))
        let outputs = UnsafeMutableBufferPointer(start: try CArguments.required(logits, "logits"),
                                                 count: try CArguments.count(logitsCount, "logits_count"))
        try handle.classifier.infer(inputs, logits: outputs, threads: try handle.threads(threads))
    }
}

/// `convnextkit_preprocess_image`: the model's input tensor for an encoded image.
@_cdecl("convnextkit_preprocess_image")
public func convnextkitPreprocessImage(_ model: OpaquePointer?, _ image: UnsafeRawPointer?, _ imageSize: Int,
                                       _ tensor: UnsafeMutablePointer<Float>?, _ tensorCount: Int) -> convnextkit_status {
    reportingFailures {
        let handle = try ModelHandleRegistry.shared.handle(model)
        let out = try CArguments.required(tensor, "tensor")
        let count = try CArguments.count(tensorCount, "tensor_count")
        let expected = handle.classifier.input.elementCount
        guard count == expected else {
            throw ConvNeXtError.invalidInput(path: "tensor", reason: "the model takes \(expected) floats, tensor_count is \(count)")
        }
        let result = try EncodedImage.withData(image, imageSize) { try handle.classifier.tensor(imageData: $0) }
        guard result.count == expected else {
            throw CAPIFailure(status: convnextkit_status(CONVNEXTKIT_ERROR_INTERNAL),
                              message: "preprocessing gave \(result.count) floats, the model takes \(expected)")
        }
        _ = UnsafeMutableBufferPointer(start: out, count: expected).update(fromContentsOf: result.data)
    }
}

/// `convnextkit_classify_image`: top-k (and optionally the logits) of an encoded JPEG or PNG.
@_cdecl("convnextkit_classify_image")
public func convnextkitClassifyImage(_ model: OpaquePointer?, _ image: UnsafeRawPointer?, _ imageSize: Int,
                                     _ top: UnsafeMutablePointer<convnextkit_prediction>?, _ topCount: Int,
                                     _ logits: UnsafeMutablePointer<Float>?, _ logitsCount: Int, _ threads: Int32) -> convnextkit_status {
    reportingFailures {
        let handle = try ModelHandleRegistry.shared.handle(model)
        let output = try ClassificationOutput(top: top, topCount, logits: logits, logitsCount, classes: handle.classifier.input.classes)
        let threads = try handle.threads(threads)
        let result = try EncodedImage.withData(image, imageSize) {
            try handle.classifier.classify(imageData: $0, top: output.k, threads: threads)
        }
        output.write(result)
    }
}

/// `convnextkit_classify_file`: top-k (and optionally the logits) of an image file.
@_cdecl("convnextkit_classify_file")
public func convnextkitClassifyFile(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                                    _ top: UnsafeMutablePointer<convnextkit_prediction>?, _ topCount: Int,
                                    _ logits: UnsafeMutablePointer<Float>?, _ logitsCount: Int, _ threads: Int32) -> convnextkit_status {
    reportingFailures {
        let handle = try ModelHandleRegistry.shared.handle(model)
        guard let path = try CArguments.string(path, "path") else { throw CAPIFailure.invalidArgument("path is NULL") }
        let output = try ClassificationOutput(top: top, topCount, logits: logits, logitsCount, classes: handle.classifier.input.classes)
        output.write(try handle.classifier.classify(imagePath: path, top: output.k, threads: try handle.threads(threads)))
    }
}

/// `convnextkit_classify_nv12`: top-k (and optionally the logits) of a raw NV12 frame.
@_cdecl("convnextkit_classify_nv12")
public func convnextkitClassifyNV12(_ model: OpaquePointer?, _ frame: UnsafePointer<UInt8>?, _ frameSize: Int,
                                    _ width: Int32, _ height: Int32,
                                    _ top: UnsafeMutablePointer<convnextkit_prediction>?, _ topCount: Int,
                                    _ logits: UnsafeMutablePointer<Float>?, _ logitsCount: Int, _ threads: Int32) -> convnextkit_status {
    reportingFailures {
        let handle = try ModelHandleRegistry.shared.handle(model)
        let bytes = UnsafeRawBufferPointer(start: try CArguments.required(frame, "frame"), count: try CArguments.count(frameSize, "frame_size"))
        let output = try ClassificationOutput(top: top, topCount, logits: logits, logitsCount, classes: handle.classifier.input.classes)
        let threads = try handle.threads(threads)
        let nv12 = try NV12Frame(width: Int(width), height: Int(height), copying: bytes)
        output.write(try handle.classifier.classify(nv12: nv12, top: output.k, threads: threads))
    }
}

/// An encoded image in the caller's memory, read in place.
enum EncodedImage {
    /// Calls `body` with `bytes` wrapped in `Data` without copying; the data must not outlive the call.
    static func withData<T>(_ bytes: UnsafeRawPointer?, _ count: Int, _ body: (Data) throws -> T) throws -> T {
        let start = try CArguments.required(bytes, "image")
        let n = try CArguments.count(count, "image_size")
        guard n <= ImageDecoder.maxFileBytes else {
            throw ConvNeXtError.invalidInput(path: "image", reason: "image_size \(n) is larger than \(ImageDecoder.maxFileBytes) bytes")
        }
        return try body(Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: start), count: n, deallocator: .none))
    }
}

/// Where a classification's results go: `top_count` predictions and, when asked, the logits.
/// Both are checked before the model runs, so a bad buffer costs no inference and nothing is
/// written on failure.
struct ClassificationOutput {
    let top: UnsafeMutableBufferPointer<convnextkit_prediction>
    let logits: UnsafeMutableBufferPointer<Float>?
    /// How many classes to rank: the buffer's size, at most the class count, at least 1.
    let k: Int

    init(top: UnsafeMutablePointer<convnextkit_prediction>?, _ topCount: Int,
         logits: UnsafeMutablePointer<Float>?, _ logitsCount: Int, classes: Int) throws {
        let n = try CArguments.count(topCount, "top_count")
        guard top != nil || n == 0 else { throw CAPIFailure.invalidArgument("top is NULL but top_count is \(n)") }
        self.top = UnsafeMutableBufferPointer(start: top, count: n)
        let m = try CArguments.count(logitsCount, "logits_count")
        if let logits {
            guard m == classes else {
                throw ConvNeXtError.invalidInput(path: "logits", reason: "the model gives \(classes) logits, logits_count is \(m)")
            }
            self.logits = UnsafeMutableBufferPointer(start: logits, count: m)
        } else {
            guard m == 0 else { throw CAPIFailure.invalidArgument("logits is NULL but logits_count is \(m)") }
            self.logits = nil
        }
        k = max(1, min(n, classes))
    }

    /// Writes the ranked classes (entries past the class count get index -1) and the logits.
    func write(_ result: ClassificationResult) {
        for i in top.indices {
            top[i] = i < result.top.count
                ? convnextkit_prediction(index: Int32(result.top[i].index), probability: result.top[i].probability)
                : convnextkit_prediction(index: -1, probability: 0)
        }
        if let logits { _ = logits.update(fromContentsOf: result.logits) }
    }
}
