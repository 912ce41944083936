/// Which float engine runs a model: the fast one by default, the reference oracle on request.
public enum EngineKind: String, CaseIterable, Sendable {
    case fast
    case reference

    /// Builds the engine for `model` (the fast engine prepacks its weights here).
    public func make(model: ConvNeXtModel) throws -> any InferenceEngine {
        switch self {
        case .fast: return try FastEngine(model: model)
        case .reference: return ReferenceForward(model: model)
        }
    }
}
