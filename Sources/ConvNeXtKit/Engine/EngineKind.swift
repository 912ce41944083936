/// Which float engine runs a model: the fast one by default, the reference oracle on request.
public enum EngineKind: String, CaseIterable, Sendable {
    case fast
    case reference

    /// Builds the engine for `model` (the fast engine prepacks its weights here). The reference
    /// computes in Double, so it refuses `precision: .bf16`.
    public func make(model: ConvNeXtModel, precision: FloatPrecision = .f32) throws -> any InferenceEngine {
        switch self {
        case .fast: return try FastEngine(model: model, precision: precision)
        case .reference:
            guard precision == .f32 else {
                throw ConvNeXtError.usage("--precision bf16 runs on the fast engine; the reference engine computes in Double")
            }
            return ReferenceForward(model: model)
        }
    }
}
