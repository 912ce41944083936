import CConvNeXtKitAPI
import Foundation

/// Reading the C caller's arguments into Swift values without ever trapping: every pointer is
/// checked for NULL, every count converted without overflow, every string checked for UTF-8.
enum CArguments {
    /// A required non-NULL pointer.
    static func required<T>(_ pointer: T?, _ name: String) throws -> T {
        guard let pointer else { throw CAPIFailure.invalidArgument("\(name) is NULL") }
        return pointer
    }

    /// A `size_t` count as an `Int` (a count above `Int.max` cannot describe real memory).
    static func count(_ value: Int, _ name: String) throws -> Int {
        guard value >= 0 else { throw CAPIFailure.invalidArgument("\(name) \(UInt(bitPattern: value)) is too large") }
        return value
    }

    /// A NUL-terminated UTF-8 string, nil for a NULL pointer.
    static func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String? {
        guard let pointer else { return nil }
        guard let text = String(validatingCString: pointer) else {
            throw CAPIFailure.invalidArgument("\(name) is not valid UTF-8")
        }
        return text
    }

    /// A string naming one case of `T` (nil for NULL), with the valid names in the error.
    static func choice<T: RawRepresentable & CaseIterable>(_ pointer: UnsafePointer<CChar>?, _ name: String,
                                                          as: T.Type) throws -> T? where T.RawValue == String {
        guard let text = try string(pointer, name) else { return nil }
        guard let value = T(rawValue: text) else {
            let valid = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw CAPIFailure.invalidArgument("\(name) \"\(text)\" is not one of \(valid)")
        }
        return value
    }
}

/// A C string the library owns, freed with its owner.
final class OwnedCString: @unchecked Sendable {
    /// The NUL-terminated UTF-8 copy; immutable until `deinit` frees it.
    let pointer: UnsafeMutablePointer<CChar>

    init(_ text: String) { pointer = strdup(text) }

    deinit { free(pointer) }
}
