import Foundation

/// What `convnext info` prints about a model, as text or JSON.
public struct ModelReport: Sendable, Codable {
    public var file: String
    public var format: String
    public var opset: Int?
    public var variant: String
    public var blockForm: String
    public var inputShape: [Int]
    public var classes: Int
    public var params: Int
    public var macs: Int
    public var gmacs: Double
    public var stages: [StageStatistics]
    /// What a deployed (compiled) model takes as input, when it is not the float NCHW tensor of
    /// `inputShape` (an NV12 frame, pixel-domain values normalised inside the model).
    public var deployedInput: String?

    enum CodingKeys: String, CodingKey {
        case file, format, opset, variant, blockForm = "block_form", inputShape = "input_shape", classes, params, macs, gmacs, stages
        case deployedInput = "deployed_input"
    }

    public init(model: ConvNeXtModel) {
        file = model.source.path
        format = model.source.format
        opset = model.source.opset
        variant = model.config.variantName
        blockForm = model.config.blockForm.rawValue
        inputShape = model.config.inputShape
        classes = model.config.numClasses
        params = model.parameterCount
        macs = model.macCount
        gmacs = Double(macs) / 1e9
        stages = model.stageStatistics
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func text() -> String {
        var lines: [String] = []
        lines.append("model:       \(file) (\(format)\(opset.map { ", opset \($0)" } ?? ""))")
        lines.append("variant:     \(variant) (\(blockForm == "conv_mlp" ? "1x1-conv MLP" : "Linear MLP") blocks)")
        lines.append("input:       \(deployedInput ?? "\(inputShape.map(String.init).joined(separator: "x")) (NCHW float32)")")
        lines.append("classes:     \(classes)")
        lines.append("parameters:  \(Self.grouped(params)) (\(String(format: "%.2f", Double(params) / 1e6)) M)")
        lines.append("MACs:        \(Self.grouped(macs)) (\(String(format: "%.3f", gmacs)) GMAC)")
        lines.append("")
        lines.append("| stage | resolution | channels | blocks | params | MMACs |")
        lines.append("|---|---|---|---|---|---|")
        for s in stages {
            lines.append("| \(s.stage) | \(s.height)x\(s.width) | \(s.channels) | \(s.blocks) | \(Self.grouped(s.params)) | \(String(format: "%.1f", Double(s.macs) / 1e6)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// 3695520 -> "3,695,520".
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }
}
