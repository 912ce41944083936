import Foundation

/// Element type of an array stored in a deployable model file; the raw value is the on-disk code.
public enum ArrayElementType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1
    case int8 = 2
    case int16 = 3
    case int32 = 4
    case uint8 = 5

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .float32, .int32: return 4
        case .int16: return 2
        case .int8, .uint8: return 1
        }
    }

    /// Short name: `f32`, `i8`, `i16`, `i32`, `u8`.
    public var description: String {
        switch self {
        case .float32: return "f32"
        case .int8: return "i8"
        case .int16: return "i16"
        case .int32: return "i32"
        case .uint8: return "u8"
        }
    }
}

/// The values of a stored array, typed.
public enum ArrayValues: Sendable, Equatable {
    case float32([Float])
    case int8([Int8])
    case int16([Int16])
    case int32([Int32])
    case uint8([UInt8])

    public var elementType: ArrayElementType {
        switch self {
        case .float32: return .float32
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .uint8: return .uint8
        }
    }

    public var count: Int {
        switch self {
        case .float32(let v): return v.count
        case .int8(let v): return v.count
        case .int16(let v): return v.count
        case .int32(let v): return v.count
        case .uint8(let v): return v.count
        }
    }

    /// Bit-exact equality (so NaN payloads and -0 compare as stored, unlike `==` on Float).
    public func bitwiseEqual(_ other: ArrayValues) -> Bool {
        switch (self, other) {
        case (.float32(let a), .float32(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
        default:
            return self == other
        }
    }
}

/// A named, shaped, typed array: the unit of storage in a deployable model file.
public struct NamedArray: Sendable, Equatable {
    /// Unique within a file, UTF-8, 1...1024 bytes (e.g. `stages.0.blocks.1.mlp.fc1.weight`).
    public var name: String
    /// Dimensions (row-major); their product is the element count. Rank 0...8.
    public var shape: [Int]
    public var values: ArrayValues

    /// Fails when the shape does not describe the values.
    public init(name: String, shape: [Int], values: ArrayValues) throws {
        guard shape.allSatisfy({ $0 >= 0 }), Self.product(shape) == values.count else {
            throw ConvNeXtError.usage("array '\(name)': shape \(shape) does not hold \(values.count) values")
        }
        self.name = name
        self.shape = shape
        self.values = values
    }

    /// A float32 array.
    public init(name: String, shape: [Int], floats: [Float]) throws {
        try self.init(name: name, shape: shape, values: .float32(floats))
    }

    public var elementType: ArrayElementType { values.elementType }
    public var byteCount: Int { values.count * values.elementType.byteWidth }

    /// The float values, or nil for integer arrays.
    public var floats: [Float]? {
        if case .float32(let v) = values { return v }
        return nil
    }

    /// Product of dimensions, nil on overflow.
    static func product(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (m, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = m
        }
        return n
    }
}

// MARK: Little-endian encoding

extension ArrayValues {
    /// Appends the values as little-endian bytes.
    func appendLittleEndian(to out: inout Data) {
        switch self {
        case .float32(let v): Self.append(v.lazy.map { $0.bitPattern }, count: v.count, to: &out)
        case .int32(let v): Self.append(v.lazy.map { UInt32(bitPattern: $0) }, count: v.count, to: &out)
        case .int16(let v): Self.append(v.lazy.map { UInt16(bitPattern: $0) }, count: v.count, to: &out)
        case .int8(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
        case .uint8(let v): out.append(contentsOf: v)
        }
    }

    private static func append<S: Sequence>(_ words: S, count: Int, to out: inout Data) where S.Element: FixedWidthInteger {
        let width = MemoryLayout<S.Element>.size
        let start = out.count
        out.count += count * width
        out.withUnsafeMutableBytes { raw in
            var offset = start
            for w in words {
                raw.storeBytes(of: w.littleEndian, toByteOffset: offset, as: S.Element.self)
                offset += width
            }
        }
    }

    /// Decodes `count` little-endian elements of `type` from `raw` (bounds checked by the caller).
    static func decodeLittleEndian(_ raw: UnsafeRawBufferPointer, type: ArrayElementType, count: Int) -> ArrayValues {
        switch type {
        case .float32:
            return .float32((0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) })
        case .int32:
            return .int32((0..<count).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) })
        case .int16:
            return .int16((0..<count).map { Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) })
        case .int8:
            return .int8((0..<count).map { Int8(bitPattern: raw[$0]) })
        case .uint8:
            return .uint8(Array(UnsafeRawBufferPointer(rebasing: raw[0..<count])))
        }
    }
}
