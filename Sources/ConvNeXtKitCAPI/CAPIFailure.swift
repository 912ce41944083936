import CConvNeXtKitAPI
import ConvNeXtKit
import Foundation

/// A failure reported through the C boundary: a status code and a one-line message.
struct CAPIFailure: Error {
    var status: convnextkit_status
    var message: String

    /// A null pointer, a bad option value, an unknown handle: the caller's mistake in using the API.
    static func invalidArgument(_ message: String) -> CAPIFailure {
        CAPIFailure(status: convnextkit_status(CONVNEXTKIT_ERROR_INVALID_ARGUMENT), message: message)
    }

    /// The status and message for any error the library throws.
    init(_ error: any Error) {
        switch error {
        case let failure as CAPIFailure:
            self = failure
            return
        case let error as ConvNeXtError:
            let code: Int
            switch error {
            case .io: code = Int(CONVNEXTKIT_ERROR_IO)
            case .invalidModel: code = Int(CONVNEXTKIT_ERROR_INVALID_MODEL)
            case .unsupportedModel: code = Int(CONVNEXTKIT_ERROR_UNSUPPORTED_MODEL)
            case .invalidInput: code = Int(CONVNEXTKIT_ERROR_INVALID_INPUT)
            case .invalidConfig: code = Int(CONVNEXTKIT_ERROR_INVALID_CONFIG)
            case .usage: code = Int(CONVNEXTKIT_ERROR_INVALID_ARGUMENT)
            }
            self.init(status: convnextkit_status(code), message: error.description)
        default:
            self.init(status: convnextkit_status(CONVNEXTKIT_ERROR_INTERNAL), message: String(describing: error))
        }
    }

    init(status: convnextkit_status, message: String) {
        self.status = status
        self.message = message
    }
}

/// Runs one API call: its errors become a status code and the calling thread's last error
/// message. Swift errors never cross into C.
func reportingFailures(_ body: () throws -> Void) -> convnextkit_status {
    do {
        try body()
        return convnextkit_status(CONVNEXTKIT_OK)
    } catch {
        let failure = CAPIFailure(error)
        LastError.set(failure.message)
        return failure.status
    }
}

/// The message of the last failed call, one per thread (a `pthread` key whose destructor frees
/// the message when the thread exits).
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Returned while no call on this thread has failed.
    nonisolated(unsafe) private static let empty: UnsafeMutablePointer<CChar> = strdup("")

    /// Replaces this thread's message (the previous one's memory is freed).
    static func set(_ message: String) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(previous)
    }

    /// This thread's message, valid until the next failing call on this thread.
    static var current: UnsafePointer<CChar> {
        UnsafePointer(pthread_getspecific(key)?.assumingMemoryBound(to: CChar.self) ?? empty)
    }
}
