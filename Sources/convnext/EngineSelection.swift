import ConvNeXtKit

/// The engine every command runs float models with. The one place to swap in a faster engine.
func makeEngine(model: ConvNeXtModel) throws -> any InferenceEngine {
    ReferenceForward(model: model)
}
