import Foundation

/// One pretrained model of the zoo: where its weights live and what they need to be used correctly.
///
/// Identified by timm's `name.tag` (`convnext_atto.d2_in1k`). The same weights may be published
/// in several places (`sources`): a GitHub release `.pth` and a model-hub `model.safetensors`.
public struct ZooEntry: Sendable, Equatable {
    /// Architecture name as timm spells it, e.g. `convnext_atto`.
    public var name: String
    /// Pretrained tag, e.g. `d2_in1k`.
    public var tag: String
    /// Whether plain `name` (or the short variant name) means this tag.
    public var isDefault: Bool
    /// Files by source name (`hub`, `github`, or any name a registry file gives).
    public var sources: [String: ZooFile]
    /// Every weight of the model (state_dict element count); checked after download when known.
    public var parameterCount: Int?
    /// Class count; checked after download when known.
    public var classes: Int?
    /// Square input resolution the weights were trained at.
    public var inputSize: Int
    /// How images are prepared for these weights (crop_pct, interpolation, mean, std).
    public var preprocessing: PreprocessingDefaults
    /// Figures we measured for these weights, when someone has (accuracy, speed).
    public var ours: MeasuredFigures?

    public init(name: String, tag: String, isDefault: Bool = false, sources: [String: ZooFile],
                parameterCount: Int?, classes: Int? = 1000, inputSize: Int = 224,
                preprocessing: PreprocessingDefaults = .imagenet, ours: MeasuredFigures? = nil) {
        self.name = name
        self.tag = tag
        self.isDefault = isDefault
        self.sources = sources
        self.parameterCount = parameterCount
        self.classes = classes
        self.inputSize = inputSize
        self.preprocessing = preprocessing
        self.ours = ours
    }

    /// `name.tag`, the key of the entry.
    public var id: String { "\(name).\(tag)" }

    /// The ConvNeXt variant (`atto`, `nano`, ...) when the name is one of timm's plain ConvNeXts.
    public var variant: String? {
        ConvNeXtSpec.named(name)?.name
    }

    /// Source names, the default first: sources whose SHA-256 is pinned come first (a download that
    /// can be checked byte for byte beats one that cannot), then `hub`, `github`, then the rest by name.
    public var sourceNames: [String] {
        func rank(_ source: String) -> (Int, Int, String) {
            let pinned = sources[source]?.sha256 == nil ? 1 : 0
            let known = source == "hub" ? 0 : source == "github" ? 1 : 2
            return (pinned, known, source)
        }
        return sources.keys.sorted { rank($0) < rank($1) }
    }

    /// The source `download` uses when none is asked for.
    public var defaultSource: String? { sourceNames.first }
}

/// A downloadable weight file.
public struct ZooFile: Sendable, Equatable, Codable {
    /// Where to fetch it (http or https).
    public var url: String
    /// Its SHA-256: the full 64 hex digits, or a prefix of at least 8 (timm puts 8 in release file names).
    public var sha256: String?
    /// Its size in bytes, when known.
    public var size: Int64?
    /// `pth`, `safetensors` or `onnx`: checked against what the file turns out to be.
    public var format: String

    public init(url: String, sha256: String? = nil, size: Int64? = nil, format: String) {
        self.url = url
        self.sha256 = sha256
        self.size = size
        self.format = format
    }

    /// The file name the cache stores it under: the last component of the URL's path.
    public var fileName: String {
        URL(string: url)?.lastPathComponent ?? "model.\(format)"
    }

    /// Formats a registry may declare, as `ModelSource.format` names them.
    public static let formats = ["pth", "safetensors", "onnx"]
}

/// Accuracy and speed figures for one model, from the RDK X5 model zoo or from our own runs.
public struct MeasuredFigures: Sendable, Equatable, Codable {
    /// ImageNet-1k top-1 (%) of the float model.
    public var floatTop1: Double?
    /// ImageNet-1k top-1 (%) after int8 quantization.
    public var int8Top1: Double?
    /// Single-image latency with one thread, milliseconds.
    public var latencyMs: Double?
    /// Images per second with all threads.
    public var fps: Double?
    /// Where the figures come from (machine, command, date).
    public var note: String?

    public init(floatTop1: Double? = nil, int8Top1: Double? = nil, latencyMs: Double? = nil, fps: Double? = nil,
                note: String? = nil) {
        self.floatTop1 = floatTop1
        self.int8Top1 = int8Top1
        self.latencyMs = latencyMs
        self.fps = fps
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case floatTop1 = "float_top1", int8Top1 = "int8_top1", latencyMs = "latency_ms", fps, note
    }
}
