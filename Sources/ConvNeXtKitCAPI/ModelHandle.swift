import CConvNeXtKitAPI
import ConvNeXtKit
import Foundation

/// What a `convnextkit_model *` stands for: an opened classifier, the thread count its calls use
/// by default, and the C strings it hands out (kept until the handle is freed).
final class ModelHandle: Sendable {
    let classifier: ImageClassifier
    let defaultThreads: Int
    /// `precision`, `format`, `engine`, `variant`, `interpolation`, `resize_mode` of `convnextkit_input`.
    let descriptionStrings: [String: OwnedCString]
    /// One per class, when the model has labels.
    let labelStrings: [OwnedCString]

    init(classifier: ImageClassifier, defaultThreads: Int) {
        self.classifier = classifier
        self.defaultThreads = defaultThreads
        let input = classifier.input
        descriptionStrings = ["precision": input.precision, "format": input.format, "engine": input.engine,
                              "variant": input.variant, "interpolation": input.interpolation,
                              "resize_mode": input.resizeMode].mapValues(OwnedCString.init)
        labelStrings = classifier.labels?.names.map(OwnedCString.init) ?? []
    }

    /// A call's `threads` argument: 0 is the handle's default, otherwise 1...max.
    func threads(_ requested: Int32) throws -> Int {
        guard requested != 0 else { return defaultThreads }
        guard requested > 0, Int(requested) <= ImageClassifier.maxThreads else {
            throw CAPIFailure.invalidArgument("threads must be 0 (the model's default) or 1...\(ImageClassifier.maxThreads), not \(requested)")
        }
        return Int(requested)
    }
}

/// The live handles. A handle is a number, not an address: a closed, never opened or corrupted
/// handle is found missing and reported, instead of being dereferenced. Each call holds its own
/// reference, so closing a model while another thread still runs it is safe.
final class ModelHandleRegistry: @unchecked Sendable {
    /// The one registry of the process.
    static let shared = ModelHandleRegistry()

    private let lock = NSLock()
    private var handles: [UInt: ModelHandle] = [:]
    // Never reused, so a stale handle cannot reach a model opened later. Starts high so that small
    // integers passed by mistake are not handles.
    private var nextID: UInt = 0x1000

    /// Registers `handle` and returns the pointer C callers hold.
    func insert(_ handle: ModelHandle) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        let id = nextID
        nextID += 16
        handles[id] = handle
        return OpaquePointer(bitPattern: id)!
    }

    /// The model behind `pointer`, or an error for NULL and for handles that are not open.
    func handle(_ pointer: OpaquePointer?) throws -> ModelHandle {
        guard let pointer else { throw CAPIFailure.invalidArgument("model is NULL") }
        lock.lock()
        defer { lock.unlock() }
        guard let handle = handles[UInt(bitPattern: Int(bitPattern: pointer))] else {
            throw CAPIFailure.invalidArgument("model \(pointer) is not an open model (closed, or never returned by convnextkit_open)")
        }
        return handle
    }

    /// Forgets `pointer`; the model is freed when the last running call on it returns.
    func remove(_ pointer: OpaquePointer) {
        lock.lock()
        defer { lock.unlock() }
        handles[UInt(bitPattern: Int(bitPattern: pointer))] = nil
    }
}
