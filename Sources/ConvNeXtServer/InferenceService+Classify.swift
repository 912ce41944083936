import ConvNeXtKit
import Foundation
import NIOCore

/// What a `/v1/classify` body holds, from its `Content-Type` and `?nv12=`.
enum ClassifyInput: Sendable {
    /// An encoded JPEG or PNG (`image/jpeg`, `image/png`).
    case image
    /// A raw NV12 frame (`application/octet-stream` with `?nv12=WxH`).
    case nv12(width: Int, height: Int)

    /// Reads the media type and query; 415 for other media types, 400 for a bad `nv12` size.
    static func from(contentType: String?, nv12: String?) throws -> ClassifyInput {
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "image/jpeg", "image/jpg", "image/png":
            guard nv12 == nil else {
                throw ServiceError.badRequest("?nv12= is for raw frames sent as application/octet-stream, not \(mediaType)")
            }
            return .image
        case "application/octet-stream":
            guard let nv12 else {
                throw ServiceError.badRequest("an application/octet-stream body is a raw NV12 frame: give its size as ?nv12=WIDTHxHEIGHT")
            }
            do {
                let size = try NV12Frame.parseSize(nv12)
                return .nv12(width: size.width, height: size.height)
            } catch let error as ConvNeXtError {
                throw ServiceError.badRequest("nv12=\(nv12): \(error.description)")
            }
        case "":
            throw ServiceError.unsupportedMediaType("give the body's Content-Type: image/jpeg, image/png, or application/octet-stream with ?nv12=WxH")
        default:
            throw ServiceError.unsupportedMediaType("Content-Type \(mediaType) is not accepted: send image/jpeg, image/png, or application/octet-stream with ?nv12=WxH")
        }
    }
}

/// The `/v1/classify` answer: top-k classes and where the time went.
struct ClassifyResponse: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var index: Int
        var label: String?
        var probability: Float
    }

    /// Milliseconds per step; `queue` is the wait for a worker.
    struct Times: Encodable, Sendable {
        var queue: Double
        var decode: Double
        var preprocess: Double
        var inference: Double
        var postprocess: Double
    }

    var model: String
    var top: [Entry]
    var times: Times

    enum CodingKeys: String, CodingKey {
        case model, top
        case times = "times_ms"
    }
}

extension InferenceService {
    /// Decodes the body (the model's own preprocessing for photos and frames), classifies it and
    /// ranks the top `k`, all on a worker thread.
    func classify(model: ServedModel, body: ByteBuffer, input: ClassifyInput, top k: Int) async throws -> EncodedJSON {
        try await onWorker { queued in
            let classifier = model.classifier
            let clock = ContinuousClock()
            let start = clock.now
            let tensor: Tensor
            let decoded: ContinuousClock.Instant
            switch input {
            case .image:
                let image = try ImageDecoder.decode(data: Data(body.readableBytesView), path: "request body",
                                                    applyExifOrientation: classifier.preprocessing.applyExifOrientation)
                decoded = clock.now
                tensor = try classifier.tensor(image: image, name: "request body")
            case .nv12(let width, let height):
                let expected = NV12Frame.byteCount(width: width, height: height)
                guard body.readableBytes == expected else {
                    throw ServiceError.unprocessable("the NV12 body holds \(body.readableBytes) bytes; a \(width)x\(height) frame is \(expected) (width*height*3/2)")
                }
                let frame = try NV12Frame(width: width, height: height, bytes: Array(body.readableBytesView), path: "request body")
                decoded = clock.now
                tensor = classifier.tensor(nv12: frame)
            }
            let preprocessed = clock.now
            let result = try classifier.classify(tensor: tensor, top: min(k, classifier.config.numClasses))
            self.metrics.inference(model: model.name, preprocess: preprocessed - start,
                                   inference: .nanoseconds(Int64(result.inferenceMilliseconds * 1e6)))
            let times = ClassifyResponse.Times(queue: Self.milliseconds(queued), decode: Self.milliseconds(decoded - start),
                                               preprocess: Self.milliseconds(preprocessed - decoded),
                                               inference: result.inferenceMilliseconds, postprocess: result.postprocessMilliseconds)
            return try EncodedJSON(ClassifyResponse(model: model.name, top: result.top.map {
                ClassifyResponse.Entry(index: $0.index, label: $0.label, probability: $0.probability)
            }, times: times))
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
