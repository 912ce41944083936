/// Turns NCHW float images into logits. Implementations are immutable after creation and
/// safe to share: many inferences may run at once, each with its own scratch memory.
public protocol InferenceEngine: Sendable {
    /// The architecture this engine runs (input shape, classes).
    var config: ConvNeXtConfig { get }

    /// Short name for reports (`reference`, `fast-f32`, `int8`).
    var name: String { get }

    /// Runs one image: `input` holds `config.inputCount` floats (NCHW), `logits` receives
    /// `config.numClasses` floats. `threads` > 1 splits this one inference across cores.
    func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int)
}

extension InferenceEngine {
    /// Convenience: logits `[1, classes]` for one image tensor.
    public func infer(_ input: Tensor, threads: Int = 1) -> Tensor {
        var out = [Float](repeating: 0, count: config.numClasses)
        input.data.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { infer(inp, logits: $0, threads: threads) }
        }
        return Tensor(shape: [1, config.numClasses], data: out)
    }

    /// Logits for each image of a batch stored back to back.
    public func inferBatch(_ input: Tensor, threads: Int = 1) -> [Tensor] {
        let n = config.inputCount
        return stride(from: 0, to: input.count, by: n).map { start in
            infer(Tensor(shape: config.inputShape, data: Array(input.data[start..<start + n])), threads: threads)
        }
    }
}

extension ReferenceForward: InferenceEngine {
    public var config: ConvNeXtConfig { model.config }
    public var name: String { "reference" }

    public func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int) {
        let out = run(Tensor(shape: model.config.inputShape, data: Array(input)))
        for i in 0..<min(out.count, logits.count) { logits[i] = out.data[i] }
    }
}
