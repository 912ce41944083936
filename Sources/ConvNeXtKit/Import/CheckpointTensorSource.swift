import Foundation

/// Element types found in checkpoint tensors; the float types convert to float32 when read.
public enum CheckpointDType: String, Sendable, CaseIterable {
    case float32 = "F32", float16 = "F16", bfloat16 = "BF16", float64 = "F64"
    case int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8", uint8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Whether the tool can read the values as weights (converted to float32).
    public var isFloat: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }
}

/// Shape and element type of one named checkpoint tensor.
public struct CheckpointTensorInfo: Sendable, Equatable {
    public var shape: [Int]
    public var dtype: CheckpointDType

    public init(shape: [Int], dtype: CheckpointDType) {
        self.shape = shape
        self.dtype = dtype
    }

    /// Number of elements (the product of the shape).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Named tensors of a checkpoint file: shapes are validated when the file is opened,
/// values are converted to float32 when asked for.
public protocol CheckpointTensorSource {
    /// The file, for messages.
    var path: String { get }
    /// `safetensors` or `pth`.
    var format: String { get }
    /// Every tensor of the state dict, by name.
    var tensors: [String: CheckpointTensorInfo] { get }
    /// The values of tensor `name` as float32, row-major (contiguous) in its shape.
    func floats(_ name: String) throws -> [Float]
}

/// Limits that protect against absurd sizes in a file before anything is allocated.
enum CheckpointLimits {
    /// Largest tensor accepted (elements), as for ONNX initializers.
    static let maxTensorElements = 1 << 28
    /// Most dimensions of one tensor.
    static let maxRank = 8

    /// Element count of `shape`, or nil when a dimension is negative, the rank is too high
    /// or the product exceeds `maxTensorElements`.
    static func elementCount(_ shape: [Int]) -> Int? {
        guard shape.count <= maxRank else { return nil }
        var count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maxTensorElements else { return nil }
            count = product
        }
        return count
    }
}

/// Element decoding from little-endian checkpoint bytes to float32.
enum CheckpointDecoding {
    /// Float32 value of IEEE half-precision bits (normals, subnormals, infinities, NaN).
    @inline(__always)
    static func float(halfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa x 2^-24, exact in float32.
            let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Float32 value of bfloat16 bits (the high half of a float32).
    @inline(__always)
    static func float(bfloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Element `index` of a little-endian buffer of `dtype`; the caller checked the bounds.
    @inline(__always)
    static func element(_ raw: UnsafeRawBufferPointer, _ index: Int, _ dtype: CheckpointDType) -> Float {
        switch dtype {
        case .float32:
            return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
        case .float16:
            return float(halfBits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        case .bfloat16:
            return float(bfloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        case .float64:
            return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))))
        default:
            return .nan
        }
    }

    /// `count` contiguous elements of `dtype` starting at element `start`.
    static func contiguous(_ raw: UnsafeRawBufferPointer, start: Int, count: Int, dtype: CheckpointDType) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .float32:
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: (start + i) * 4, as: UInt32.self)))
                }
            case .float16:
                for i in 0..<count {
                    out[i] = float(halfBits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: (start + i) * 2, as: UInt16.self)))
                }
            case .bfloat16:
                for i in 0..<count {
                    out[i] = float(bfloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: (start + i) * 2, as: UInt16.self)))
                }
            default:
                for i in 0..<count { out[i] = element(raw, start + i, dtype) }
            }
            initialized = count
        }
    }

    /// Gathers a strided view (element strides, storage offset) into a contiguous row-major array.
    /// The caller checked that every addressed element lies inside `raw`.
    static func strided(_ raw: UnsafeRawBufferPointer, offset: Int, shape: [Int], strides: [Int],
                        dtype: CheckpointDType) -> [Float] {
        let count = shape.reduce(1, *)
        if count == 0 { return [] }
        var contiguousStrides = [Int](repeating: 1, count: shape.count)
        if shape.count > 1 {
            for d in stride(from: shape.count - 2, through: 0, by: -1) {
                contiguousStrides[d] = contiguousStrides[d + 1] * shape[d + 1]
            }
        }
        // Size-1 dimensions may carry any stride; they never move the index.
        let isContiguous = (0..<shape.count).allSatisfy { shape[$0] == 1 || strides[$0] == contiguousStrides[$0] }
        if isContiguous { return contiguous(raw, start: offset, count: count, dtype: dtype) }
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var source = offset
        for i in 0..<count {
            out[i] = element(raw, source, dtype)
            // Odometer step over the dimensions, last fastest.
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                source += strides[d]
                if index[d] < shape[d] { break }
                source -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }
}
