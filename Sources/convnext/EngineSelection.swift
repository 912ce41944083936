import ConvNeXtKit
import Foundation

/// The engine every command runs float models with: the fast engine unless `--engine reference`.
func makeEngine(model: ConvNeXtModel, kind: EngineKind = .fast) throws -> any InferenceEngine {
    try kind.make(model: model)
}

/// A model opened by path or registry name, with the engine that runs it.
typealias OpenedModel = LoadedModel

/// Opens `nameOrPath` for running (`ModelLoader.open`), resolving registry names through `lookup`.
func openModel(_ nameOrPath: String, lookup: ModelLookupOptions, inputSize: Int?,
               kind: EngineKind = .fast, precision: FloatPrecision? = nil,
               allowRandomVariants: Bool = false) throws -> OpenedModel {
    try ModelLoader.open(path: nameOrPath, engine: kind, precision: precision, inputSize: inputSize,
                         allowRandomVariants: allowRandomVariants) {
        try lookup.load($0, inputSize: $1, allowRandomVariants: allowRandomVariants)
    }
}

/// True when `nameOrPath` opens as random weights: a bare variant name not downloaded (and no `--download`).
func isRandomVariant(_ nameOrPath: String, lookup: ModelLookupOptions) -> Bool {
    guard !lookup.download, let resolver = try? lookup.resolver() else { return false }
    if case .randomVariant = resolver.locate(nameOrPath, allowRandomVariants: true) { return true }
    return false
}

/// The deployable file at `path`, or nil when it is another kind of model file.
func readDeployable(_ path: String) throws -> DeployableModel? { try ModelLoader.readDeployable(path) }
