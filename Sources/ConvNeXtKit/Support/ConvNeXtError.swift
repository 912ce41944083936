/// Every error the library reports; messages name the file and what is wrong, on one line.
public enum ConvNeXtError: Error, CustomStringConvertible, Sendable {
    /// A file could not be opened, read or written.
    case io(path: String, reason: String)
    /// A model file is not readable as the format it claims (truncated, corrupt, wrong type).
    case invalidModel(path: String, reason: String)
    /// A readable model that is not a ConvNeXt this tool understands.
    case unsupportedModel(path: String, reason: String)
    /// Input data (tensor, image, frame) of the wrong size or content.
    case invalidInput(path: String, reason: String)
    /// A configuration value that is wrong.
    case invalidConfig(path: String, reason: String)
    /// Anything else the user asked for that cannot be done.
    case usage(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .invalidModel(let path, let reason): return "\(path): not a valid model: \(reason)"
        case .unsupportedModel(let path, let reason): return "\(path): not a supported ConvNeXt: \(reason)"
        case .invalidInput(let path, let reason): return "\(path): \(reason)"
        case .invalidConfig(let path, let reason): return "\(path): \(reason)"
        case .usage(let message): return message
        }
    }
}
