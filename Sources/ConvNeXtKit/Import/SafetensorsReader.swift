import Foundation

/// Reads a `.safetensors` file: an 8-byte little-endian header length, a JSON header of
/// `name -> {dtype, shape, data_offsets}` (plus an optional `__metadata__`), then the data.
///
/// The whole header is validated before any tensor is read: offsets inside the data,
/// sizes equal to the shape's element count times the element size, no overlaps.
public struct SafetensorsReader: CheckpointTensorSource, Sendable {
    public let path: String
    public var format: String { "safetensors" }
    public let tensors: [String: CheckpointTensorInfo]
    /// Byte range of each tensor relative to the start of `data`.
    private let ranges: [String: Range<Int>]
    private let data: Data

    /// Largest JSON header accepted (the format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// Whether `data` starts like a safetensors file: a plausible header length, then `{`.
    public static func looksLikeSafetensors(_ data: Data) -> Bool {
        guard data.count >= 10 else { return false }
        return data.withUnsafeBytes { raw in
            let length = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            return length >= 2 && length <= UInt64(data.count - 8) && raw[8] == UInt8(ascii: "{")
        }
    }

    /// Parses and validates the header of `data`; `path` names the file in errors.
    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        func invalid(_ reason: String) -> ConvNeXtError { .invalidModel(path: path, reason: reason) }

        guard data.count >= 8 else { throw invalid("safetensors file of \(data.count) bytes is truncated (no header length)") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw invalid("safetensors header length \(headerLength) is larger than the \(Self.maxHeaderBytes) bytes allowed")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw invalid("safetensors header length \(headerLength) runs past the end of the \(data.count)-byte file (truncated?)")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + dataStart)

        let header: [String: HeaderValue]
        do {
            header = try JSONDecoder().decode([String: HeaderValue].self, from: headerBytes)
        } catch {
            throw invalid("safetensors header is not a JSON object of tensors (\(Self.shortDescription(error)))")
        }

        var tensors: [String: CheckpointTensorInfo] = [:]
        var ranges: [String: Range<Int>] = [:]
        for (name, value) in header {
            if name == "__metadata__" { continue }
            guard case .tensor(let entry) = value else {
                throw invalid("safetensors entry '\(name)' is not {dtype, shape, data_offsets}")
            }
            guard let dtype = CheckpointDType(rawValue: entry.dtype) else {
                throw invalid("tensor '\(name)' has dtype \(entry.dtype); supported: F32, F16, BF16, F64 (and integer types, not as weights)")
            }
            guard let count = CheckpointLimits.elementCount(entry.shape) else {
                throw invalid("tensor '\(name)' has an impossible shape \(entry.shape)")
            }
            guard entry.data_offsets.count == 2 else {
                throw invalid("tensor '\(name)' needs data_offsets [begin, end], found \(entry.data_offsets.count) values")
            }
            let begin = entry.data_offsets[0], end = entry.data_offsets[1]
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw invalid("tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataSize) data bytes")
            }
            guard end - begin == count * dtype.byteSize else {
                throw invalid("tensor '\(name)' spans \(end - begin) bytes, but \(dtype.rawValue) \(entry.shape) needs \(count * dtype.byteSize)")
            }
            tensors[name] = CheckpointTensorInfo(shape: entry.shape, dtype: dtype)
            ranges[name] = dataStart + begin ..< dataStart + end
        }
        // No two tensors may share bytes.
        let ordered = ranges.filter { !$0.value.isEmpty }.sorted { $0.value.lowerBound < $1.value.lowerBound }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.value.lowerBound < previous.value.upperBound {
            throw invalid("tensors '\(previous.key)' and '\(next.key)' overlap in the data")
        }
        self.tensors = tensors
        self.ranges = ranges
    }

    /// The values of tensor `name` converted to float32.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensors[name], let range = ranges[name] else {
            throw ConvNeXtError.invalidModel(path: path, reason: "no tensor '\(name)'")
        }
        guard info.dtype.isFloat else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "tensor '\(name)' has dtype \(info.dtype.rawValue), expected a float type")
        }
        return data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[range])
            return CheckpointDecoding.contiguous(bytes, start: 0, count: info.elementCount, dtype: info.dtype)
        }
    }

    private struct HeaderEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    /// A header value: a tensor entry, or anything else (only `__metadata__` may be anything else).
    private enum HeaderValue: Decodable {
        case tensor(HeaderEntry)
        case other

        init(from decoder: Decoder) throws {
            if let entry = try? HeaderEntry(from: decoder) {
                self = .tensor(entry)
            } else {
                self = .other
            }
        }
    }

    private static func shortDescription(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        if case DecodingError.typeMismatch(_, let context) = error { return context.debugDescription }
        return "\(error)".prefix(200).replacingOccurrences(of: "\n", with: " ")
    }
}
