import Dispatch
import Foundation

/// Thin `async` forms of the synchronous calls, for Swift concurrency callers.
///
/// Each runs the synchronous core on a Dispatch worker thread, so a long inference never
/// occupies one of the cooperative pool's few threads; inputs and outputs are passed through
/// without copies.
extension ImageClassifier {
    /// Opens a model off the caller's thread (loading and packing weights takes milliseconds to seconds).
    public static func open(path: String, options: Options = Options()) async throws -> ImageClassifier {
        try await offloaded { try ImageClassifier(path: path, options: options) }
    }

    /// ``classify(imageData:top:threads:name:)`` without blocking the caller's thread.
    public func classify(imageData: Data, top k: Int = 5, threads: Int = 1, name: String = "image") async throws -> ClassificationResult {
        try await Self.offloaded { try self.classify(imageData: imageData, top: k, threads: threads, name: name) }
    }

    /// ``classify(imagePath:top:threads:)`` without blocking the caller's thread.
    public func classify(imagePath: String, top k: Int = 5, threads: Int = 1) async throws -> ClassificationResult {
        try await Self.offloaded { try self.classify(imagePath: imagePath, top: k, threads: threads) }
    }

    /// ``classify(nv12:top:threads:)`` without blocking the caller's thread.
    public func classify(nv12 frame: NV12Frame, top k: Int = 5, threads: Int = 1) async throws -> ClassificationResult {
        try await Self.offloaded { try self.classify(nv12: frame, top: k, threads: threads) }
    }

    /// ``classify(nv12:width:height:top:threads:)`` without blocking the caller's thread.
    public func classify(nv12 bytes: [UInt8], width: Int, height: Int, top k: Int = 5, threads: Int = 1) async throws -> ClassificationResult {
        try await Self.offloaded { try self.classify(nv12: bytes, width: width, height: height, top: k, threads: threads) }
    }

    /// ``classify(tensor:top:threads:)`` without blocking the caller's thread.
    public func classify(tensor: Tensor, top k: Int = 5, threads: Int = 1) async throws -> ClassificationResult {
        try await Self.offloaded { try self.classify(tensor: tensor, top: k, threads: threads) }
    }

    /// ``infer(_:threads:)`` without blocking the caller's thread.
    public func infer(_ input: Tensor, threads: Int = 1) async throws -> Tensor {
        try await Self.offloaded { try self.infer(input, threads: threads) }
    }

    /// Runs `body` on a Dispatch global queue and resumes the caller with its result (the
    /// values move by reference: tensors and images are copy-on-write, nothing is copied).
    static func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
