import Foundation

/// Opens any model file the tool understands, by content: ONNX, and the other importers as they register.
public enum ModelLoader {
    /// Loads a model from `path`, or a built-in variant name (`atto`, `femto`, ...) with random weights
    /// when `allowRandomVariants` is set.
    public static func load(path: String, allowRandomVariants: Bool = false) throws -> ConvNeXtModel {
        if allowRandomVariants, !FileManager.default.fileExists(atPath: path), let spec = ConvNeXtSpec.named(path) {
            return ConvNeXtModel.random(config: spec.config(), seed: 0)
        }
        let data = try FileIO.read(path: path, maxBytes: 2 << 30)
        guard !data.isEmpty else { throw ConvNeXtError.invalidModel(path: path, reason: "the file is empty") }
        if DeployableModel.isDeployable(data) || path.lowercased().hasSuffix(".\(DeployableModel.fileExtension)") {
            return try DeployableModel.decode(data, path: path).floatModel(path: path)
        }
        return try ONNXImporter.load(data: data, path: path)
    }
}
