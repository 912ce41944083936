import ConvNeXtKit
import Foundation
import Hummingbird

/// A request the service refuses or cannot serve: an HTTP status and a one-line message, sent as
/// `{"error": "..."}` (JSON) with any extra headers (`Retry-After`, `WWW-Authenticate`).
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    /// 400: the request is malformed (bad JSON, a bad query parameter).
    static func badRequest(_ message: String) -> ServiceError { ServiceError(.badRequest, message) }
    /// 404: no such model or route.
    static func notFound(_ message: String) -> ServiceError { ServiceError(.notFound, message) }
    /// 415: a body of a media type the route does not take.
    static func unsupportedMediaType(_ message: String) -> ServiceError { ServiceError(.unsupportedMediaType, message) }
    /// 422: well-formed but unusable (wrong shape or datatype, undecodable image, wrong NV12 size).
    static func unprocessable(_ message: String) -> ServiceError { ServiceError(.unprocessableContent, message) }

    /// 503 with `Retry-After`: the service is overloaded or stopping.
    static func unavailable(_ message: String, retryAfterSeconds: Int = 1) -> ServiceError {
        ServiceError(.serviceUnavailable, message, headers: [.retryAfter: String(retryAfterSeconds)])
    }

    /// The error a failure becomes on the wire: library errors (bad images, frames, tensors) are
    /// the client's input (422), pool refusals are 503, Hummingbird's own errors keep their status.
    static func from(_ error: any Error, request: Request, timeout: Duration?) -> ServiceError {
        switch error {
        case let error as ServiceError:
            return error
        case let error as WorkerPoolError:
            switch error {
            case .queueFull: return .unavailable("the inference queue is full; retry later")
            case .timedOut:
                let seconds = timeout.map { "\(Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) s" } ?? "its timeout"
                return .unavailable("no inference worker became free within \(seconds); retry later")
            case .stopping: return .unavailable("the service is shutting down")
            case .cancelled: return .unavailable("the request was cancelled while it waited")
            }
        case let error as ConvNeXtError:
            return .unprocessable(error.description)
        case let error as HTTPError:
            if error.status == .notFound && error.body == nil {
                return .notFound("no route \(request.method.rawValue) \(request.uri.path)")
            }
            if error.status == .contentTooLarge {
                return ServiceError(.contentTooLarge, error.body ?? "the request body is too large")
            }
            return ServiceError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        case let error as any HTTPResponseError:
            return ServiceError(error.status, error.status.reasonPhrase)
        case let error as DecodingError:
            return .badRequest("the JSON body does not match the request schema: \(JSONErrorText.describe(error))")
        default:
            return ServiceError(.internalServerError, "internal error: \(error)")
        }
    }

    /// The JSON response.
    func response() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body = (try? JSONEncoder.service.encode(["error": message])) ?? Data(#"{"error":"error"}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Short, readable descriptions of JSON decoding errors (the coding path and what was wrong).
enum JSONErrorText {
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the document" : String(keys.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing key '\(key.stringValue)'" + (parent == "the document" ? "" : " in \(parent)")
        case .typeMismatch(let type, let context):
            return "\(path(context)) must be \(readable(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context)) must be \(readable(type)), not null"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            let detail = underlying ?? context.debugDescription
            return context.codingPath.isEmpty ? "invalid JSON: \(detail)" : "\(path(context)): \(detail)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func readable(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is UInt8.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is [Any].Type: return "an array"
        case is [String: Any].Type: return "an object"
        default: return "a \(type)"
        }
    }
}

extension JSONEncoder {
    /// The service's response encoder: keys sorted (stable output), slashes unescaped.
    static var service: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
