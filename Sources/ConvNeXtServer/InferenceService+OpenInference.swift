import ConvNeXtKit
import Foundation
import NIOCore

extension InferenceService {
    /// The protocol version string of every model (the service serves one version of each).
    static let modelVersion = "1"

    /// `GET /v2/models/{name}`: inputs, outputs, datatypes, shapes.
    func metadata(of model: ServedModel) -> OpenInference.ModelMetadata {
        let float = OpenInference.TensorMetadata(name: OpenInference.floatInputName, datatype: "FP32", shape: model.inputShape)
        let nv12 = OpenInference.TensorMetadata(name: OpenInference.nv12InputName, datatype: "UINT8", shape: model.nv12Shape)
        return OpenInference.ModelMetadata(
            name: model.name, versions: [Self.modelVersion], platform: "convnextkit",
            inputs: [model.takesNV12 ? nv12 : float],
            outputs: [.init(name: OpenInference.outputName, datatype: "FP32", shape: model.outputShape)],
            parameters: .init(facts: ModelFacts(model), alternativeInput: model.takesNV12 ? float : nv12))
    }

    /// `POST /v2/models/{name}/infer`: parses the JSON body, runs the model and encodes the
    /// answer, all on a worker thread.
    func infer(model: ServedModel, body: ByteBuffer) async throws -> EncodedJSON {
        try await onWorker { _ in
            let request: OpenInference.InferenceRequest
            do {
                request = try JSONDecoder().decode(OpenInference.InferenceRequest.self, from: Data(body.readableBytesView))
            } catch let error as DecodingError {
                throw ServiceError.badRequest("the JSON body does not match the inference request schema: \(JSONErrorText.describe(error))")
            }
            let outputs = try Self.requestedOutputs(request.outputs, classes: model.classifier.config.numClasses)
            let input = try self.inputTensor(of: request, for: model)
            let start = ContinuousClock.now
            let logits = try model.classifier.infer(input).data
            self.metrics.inference(model: model.name, preprocess: nil, inference: ContinuousClock.now - start)
            guard logits.allSatisfy(\.isFinite) else {
                throw ServiceError.unprocessable("the model's logits are not finite (NaN or infinite): check the input values")
            }
            let tensors = outputs.map { classification -> OpenInference.OutputTensor in
                guard let k = classification else {
                    return .init(name: OpenInference.outputName, datatype: "FP32", shape: model.outputShape, data: .float32(logits))
                }
                return .init(name: OpenInference.outputName, datatype: "BYTES", shape: [1, k],
                             data: .strings(Self.classificationStrings(logits, top: k, labels: model.classifier.labels)))
            }
            return try EncodedJSON(OpenInference.InferenceResponse(modelName: model.name, modelVersion: Self.modelVersion,
                                                                   id: request.id, outputs: tensors))
        }
    }

    /// The outputs to return: each entry is nil for raw logits or K for top-K classification strings.
    static func requestedOutputs(_ outputs: [OpenInference.RequestedOutput]?, classes: Int) throws -> [Int?] {
        guard let outputs, !outputs.isEmpty else { return [nil] }
        return try outputs.map { output in
            guard output.name == OpenInference.outputName else {
                throw ServiceError.unprocessable("unknown output '\(output.name)'; the model's output is '\(OpenInference.outputName)'")
            }
            guard let k = output.parameters?.classification else { return nil }
            guard (1...classes).contains(k) else {
                throw ServiceError.unprocessable("output '\(output.name)': classification must be between 1 and \(classes), not \(k)")
            }
            return k
        }
    }

    /// The model's input tensor from the request's one input: FP32 `[1,3,H,W]` as the model
    /// takes it, or UINT8 NV12 `[H*3/2, W]` converted as the model converts camera frames.
    func inputTensor(of request: OpenInference.InferenceRequest, for model: ServedModel) throws -> Tensor {
        guard request.inputs.count == 1, let input = request.inputs.first else {
            throw ServiceError.unprocessable("the request has \(request.inputs.count) inputs; the model takes exactly one")
        }
        let accepted = "'\(OpenInference.floatInputName)' (FP32 \(model.inputShape)) or '\(OpenInference.nv12InputName)' (UINT8 \(model.nv12Shape))"
        let expectedShape: [Int]
        switch (input.name, input.data) {
        case (OpenInference.floatInputName, .float32): expectedShape = model.inputShape
        case (OpenInference.nv12InputName, .uint8): expectedShape = model.nv12Shape
        default:
            throw ServiceError.unprocessable("input '\(input.name)' of datatype \(input.datatype): this model takes \(accepted)")
        }
        guard input.shape == expectedShape else {
            throw ServiceError.unprocessable("input '\(input.name)' has shape \(input.shape); this model takes \(accepted)")
        }
        let count = expectedShape.reduce(1, *)
        guard input.data.count == count else {
            throw ServiceError.unprocessable("input '\(input.name)' has \(input.data.count) values; shape \(expectedShape) holds \(count)")
        }
        switch input.data {
        case .float32(let values):
            return Tensor(shape: expectedShape, data: values)
        case .uint8(let bytes):
            let frame = try NV12Frame(width: model.classifier.config.inputWidth, height: model.classifier.config.inputHeight, bytes: bytes)
            return model.classifier.tensor(nv12: frame)
        }
    }

    /// The classification extension's strings: `"value:index:label"` for the K highest logits
    /// (the value is the output's own, the logit; `:label` is left out when the model has no labels).
    static func classificationStrings(_ logits: [Float], top k: Int, labels: LabelSet?) -> [String] {
        let order = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        return order.prefix(k).map { index in
            let value = "\(logits[index]):\(index)"
            return labels.map { "\(value):\($0.names[index])" } ?? value
        }
    }
}
