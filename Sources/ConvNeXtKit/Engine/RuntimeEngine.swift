/// An engine that runs its program on a `ConvNeXtRuntime`: `FastEngine` (float) and `Int8Engine`
/// (quantised). Their inference entry points are the runtime's, so they are written once here.
///
/// Internal: only the requirements of the public protocols (`InferenceEngine.infer`,
/// `LayerProfiling.inferProfiled`) can be public defaults of an internal protocol, so the members
/// each engine documents in its own terms (`kernelNames`, `run`) stay with the engine.
protocol RuntimeEngine: LayerProfiling {
    /// The runtime the engine was built into (plan, weights, arena pool).
    var runtime: ConvNeXtRuntime { get }
}

extension RuntimeEngine {
    /// Runs one image: `input` holds `config.inputCount` floats (NCHW), `logits` receives
    /// `config.numClasses` floats. `threads` > 1 splits this one inference across cores.
    public func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int) {
        _ = runtime.infer(input, logits: logits, threads: threads, profile: false)
    }

    /// Runs one inference and returns the CPU time per layer kind seen by the calling thread.
    public func inferProfiled(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>,
                              threads: Int) -> LayerProfile {
        runtime.infer(input, logits: logits, threads: threads, profile: true)
    }

    /// Times the model's pointwise layers on this engine's plan (`ExecutionPlan.pointwiseReport`).
    public func pointwiseReport(peaks: [ISA: Double]) -> String {
        runtime.plan.pointwiseReport(peaks: peaks)
    }
}
