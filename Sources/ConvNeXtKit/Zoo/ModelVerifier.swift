import Foundation

/// Checks that a weight file is the one a registry entry describes: size and SHA-256 (full or
/// prefix) where known, then that it loads as a ConvNeXt of the declared format with the
/// expected parameter and class counts.
enum ModelVerifier {
    /// Verifies `path`; `displayName` names the file in errors (the URL, for a download still in
    /// its temporary file). `digest` skips re-hashing when the caller hashed the bytes already.
    /// Returns the marker to store beside the file.
    static func verify(path: String, entry: ZooEntry, file: ZooFile, displayName: String,
                       digest knownDigest: String? = nil) throws -> VerificationMarker {
        func fail(_ reason: String) -> ConvNeXtError { .invalidModel(path: displayName, reason: reason) }
        guard let stat = ModelCache.fileStat(path) else { throw ConvNeXtError.io(path: displayName, reason: "no such file") }
        if let size = file.size, size != stat.size {
            throw ConvNeXtError.io(path: displayName, reason: "\(stat.size) bytes, but \(entry.id) is \(size) bytes")
        }
        let digest = try knownDigest ?? SHA256.hex(file: path)
        if let expected = file.sha256, !SHA256.matches(digest: digest, expected: expected) {
            throw ConvNeXtError.io(path: displayName, reason:
                "SHA-256 \(digest.prefix(max(expected.count, 16))) does not match \(expected), the digest of \(entry.id)")
        }
        let model: ConvNeXtModel
        do {
            model = try ModelLoader.load(path: path, inputSize: entry.inputSize)
        } catch let error as ConvNeXtError {
            // The loader names the (temporary) path; say which download it was instead.
            let inner = error.description.replacingOccurrences(of: path + ": ", with: "")
            throw fail("does not load as \(entry.id): \(inner)")
        }
        if model.source.format != file.format {
            throw fail("is a \(model.source.format) file, but the registry says \(file.format)")
        }
        if let expected = entry.parameterCount, model.parameterCount != expected {
            throw fail("has \(model.parameterCount) parameters, but \(entry.id) has \(expected)")
        }
        if let expected = entry.classes, model.config.numClasses != expected {
            throw fail("has \(model.config.numClasses) classes, but \(entry.id) has \(expected)")
        }
        return VerificationMarker(sha256: digest, size: stat.size, modified: stat.modified,
                                  params: model.parameterCount, format: file.format, url: file.url)
    }
}
