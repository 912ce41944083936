import ConvNeXtKit
import Foundation

/// A model the service answers for: its name in URLs, where it came from, and the classifier.
public struct ServedModel: Sendable {
    /// The name in `/v2/models/{name}` and `?model=`.
    public let name: String
    /// The file or registry name it was opened from.
    public let source: String
    public let classifier: ImageClassifier

    public init(name: String, source: String, classifier: ImageClassifier) {
        self.name = name
        self.source = source
        self.classifier = classifier
    }

    /// Splits a command-line model argument into a name and a path: `NAME=PATH`, or a path (or
    /// registry name) served under its file stem (`models/convnext_atto.onnx` -> `convnext_atto`).
    ///
    /// - Throws: ``ConvNeXtError/usage(_:)`` when the name would be empty or holds characters
    ///   other than letters, digits, `_`, `-` and `.`.
    public static func parseArgument(_ argument: String) throws -> (name: String, path: String) {
        if let equals = argument.firstIndex(of: "="), isValidName(String(argument[..<equals])) {
            let path = String(argument[argument.index(after: equals)...])
            guard !path.isEmpty else { throw ConvNeXtError.usage("'\(argument)': no model path after '='") }
            return (String(argument[..<equals]), path)
        }
        let stem = URL(fileURLWithPath: argument).deletingPathExtension().lastPathComponent
        guard isValidName(stem) else {
            throw ConvNeXtError.usage("'\(argument)': the file stem '\(stem)' cannot be a model name in URLs; use NAME=PATH (letters, digits, _ - .)")
        }
        return (stem, argument)
    }

    /// Letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 128 characters.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 128,
              CharacterSet.alphanumerics.contains(first), first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-.".unicodeScalars.contains($0)) }
    }

    // MARK: - Tensors

    /// The float input's shape `[1, 3, H, W]`.
    var inputShape: [Int] { classifier.config.inputShape }
    /// The NV12 frame shape `[H * 3 / 2, W]` for the model's input size.
    var nv12Shape: [Int] { [classifier.config.inputHeight * 3 / 2, classifier.config.inputWidth] }
    /// The logits' shape `[1, classes]`.
    var outputShape: [Int] { [1, classifier.config.numClasses] }
    /// True when the deployed model takes NV12 camera frames (a `.cnxk` compiled with `input_type_rt: nv12`).
    var takesNV12: Bool { classifier.input.format == "nv12" }
}
