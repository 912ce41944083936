import Foundation

extension ModelRegistry {
    /// The pretrained timm ConvNeXt ImageNet-1k weights, as timm 1.0.31 configures them:
    /// 224x224, 1000 classes, bicubic, ImageNet mean/std; crop_pct per tag.
    ///
    /// The default tag of each name is timm's (the first it lists), so `nano` means what
    /// `timm.create_model("convnext_nano", pretrained=True)` loads. GitHub release files carry the
    /// first 8 hex digits of their SHA-256 in their names (timm's convention); those are pinned.
    /// Hub files have no digest here: they are verified by loading and counting parameters.
    public static let builtIn = ModelRegistry(entries: [
        timmEntry("convnext_atto", "d2_in1k", release: "convnext_atto_d2-01bb0f51.pth", params: 3_695_520, cropPct: 0.875),
        timmEntry("convnext_femto", "d1_in1k", release: "convnext_femto_d1-d71d5b4c.pth", params: 5_217_784, cropPct: 0.875),
        timmEntry("convnext_pico", "d1_in1k", release: "convnext_pico_d1-10ad7f0d.pth", params: 9_045_672, cropPct: 0.875),
        timmEntry("convnext_nano", "in12k_ft_in1k", release: nil, params: 15_593_560, cropPct: 0.95),
        timmEntry("convnext_nano", "d1h_in1k", release: "convnext_nano_d1h-7eb4bdea.pth", params: 15_593_560, cropPct: 0.95,
                  isDefault: false),
        timmEntry("convnext_tiny", "in12k_ft_in1k", release: nil, params: 28_589_128, cropPct: 0.95),
    ])

    /// Where timm's ConvNeXt release files live.
    static let githubReleaseBase = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-rsb-weights/"

    /// The model hub's URL of a repository's `model.safetensors`.
    static func hubURL(_ hubID: String) -> String { "https://huggingface.co/\(hubID)/resolve/main/model.safetensors" }

    private static func timmEntry(_ name: String, _ tag: String, release: String?, params: Int, cropPct: Double,
                                  isDefault: Bool = true) -> ZooEntry {
        var sources = ["hub": ZooFile(url: hubURL("timm/\(name).\(tag)"), format: "safetensors")]
        if let release {
            sources["github"] = ZooFile(url: githubReleaseBase + release, sha256: hashPrefix(ofReleaseFile: release),
                                        format: "pth")
        }
        var preprocessing = PreprocessingDefaults.imagenet
        preprocessing.cropPct = cropPct
        return ZooEntry(name: name, tag: tag, isDefault: isDefault, sources: sources, parameterCount: params,
                        classes: 1000, inputSize: 224, preprocessing: preprocessing)
    }

    /// timm names release files `<model>-<first 8 hex digits of the SHA-256>.pth`.
    static func hashPrefix(ofReleaseFile file: String) -> String? {
        let stem = file.split(separator: ".").first.map(String.init) ?? file
        guard let dash = stem.lastIndex(of: "-") else { return nil }
        let digits = String(stem[stem.index(after: dash)...])
        return digits.count == 8 && digits.allSatisfy(\.isHexDigit) ? digits.lowercased() : nil
    }
}

/// The RDK X5 model zoo's published figures for its ConvNeXts on the RDK X5 board (10 TOPS int8 NPU), per variant.
///
/// The RDK X5 model zoo does not say which pretrained tag it exported, so the figures belong to the variant
/// and are shown beside every tag of it.
public enum BoardFigures {
    /// Float top-1 (zoo), int8 top-1 on the board, 1-thread latency, multi-thread FPS.
    public static let byVariant: [String: MeasuredFigures] = [
        "atto": MeasuredFigures(floatTop1: 73.25, int8Top1: 69.75, latencyMs: 1.96, fps: 732, note: board),
        "femto": MeasuredFigures(floatTop1: 73.75, int8Top1: 72.25, latencyMs: 2.46, fps: 556, note: board),
        "pico": MeasuredFigures(floatTop1: 77.25, int8Top1: 71.03, latencyMs: 3.37, fps: 364, note: board),
        "nano": MeasuredFigures(floatTop1: 77.37, int8Top1: 71.75, latencyMs: 5.71, fps: 200, note: board),
    ]

    private static let board = "RDK X5 model zoo (int8 on the board's NPU)"

    /// The board's figures for an entry's variant, if the RDK X5 model zoo published any.
    public static func figures(for entry: ZooEntry) -> MeasuredFigures? {
        entry.variant.flatMap { byVariant[$0] }
    }
}
