import Foundation

/// Opens any model file the tool understands, by content: timm checkpoints (`.safetensors`,
/// PyTorch zip `.pth`) and ONNX.
public enum ModelLoader {
    /// Loads a model from `path`, or a built-in variant name (`atto`, `femto`, ...) with random weights
    /// when `allowRandomVariants` is set.
    ///
    /// `inputSize` sets the square input resolution (a multiple of 32). When nil, checkpoints use
    /// 224 (they carry no input size) and ONNX files the size of their graph input.
    public static func load(path: String, allowRandomVariants: Bool = false, inputSize: Int? = nil) throws -> ConvNeXtModel {
        if let size = inputSize, size < 32 || size % 32 != 0 || size > 8192 {
            throw ConvNeXtError.usage("input size \(size) must be a multiple of 32 between 32 and 8192")
        }
        var model: ConvNeXtModel
        if allowRandomVariants, !FileManager.default.fileExists(atPath: path), let spec = ConvNeXtSpec.named(path) {
            model = ConvNeXtModel.random(config: spec.config(), seed: 0)
        } else {
            let data = try FileIO.read(path: path, maxBytes: 2 << 30)
            guard !data.isEmpty else { throw ConvNeXtError.invalidModel(path: path, reason: "the file is empty") }
            switch Format(detecting: data, path: path) {
            case .deployable:
                model = try DeployableModel.decode(data, path: path).floatModel(path: path)
            case .safetensors, .pytorchZip:
                model = try CheckpointImporter.load(data: data, path: path,
                                                   inputSize: inputSize ?? CheckpointImporter.defaultInputSize)
            case .legacyPickle:
                throw ConvNeXtError.unsupportedModel(path: path,
                    reason: "a legacy (pre-zip) PyTorch pickle; re-save it with a current torch.save, or export safetensors")
            case .onnx:
                model = try ONNXImporter.load(data: data, path: path)
            }
            try model.checkWeightsAreFinite(path: path)
        }
        if let size = inputSize {
            // ConvNeXt is fully convolutional: the weights run at any multiple of 32.
            model.config.inputHeight = size
            model.config.inputWidth = size
        }
        return model
    }

    /// File kinds told apart by their first bytes.
    enum Format {
        case deployable, safetensors, pytorchZip, legacyPickle, onnx

        init(detecting data: Data, path: String) {
            if DeployableModel.isDeployable(data) || path.lowercased().hasSuffix(".\(DeployableModel.fileExtension)") {
                self = .deployable
            } else if SafetensorsReader.looksLikeSafetensors(data) || path.lowercased().hasSuffix(".safetensors")
                        || (data.count > 8 && data[data.startIndex + 8] == UInt8(ascii: "{")) {
                // By name or by the JSON header's first byte too: a safetensors file with a broken header
                // length gets the safetensors reader's message, not "not an ONNX protobuf".
                self = .safetensors
            } else if ZipArchive.looksLikeZip(data) {
                self = .pytorchZip
            } else if data.count >= 2, data[data.startIndex] == 0x80, data[data.startIndex + 1] <= 5 {
                // Pickle PROTO opcode: torch.save's format before the zip archive (torch < 1.6).
                self = .legacyPickle
            } else {
                self = .onnx
            }
        }
    }
}
