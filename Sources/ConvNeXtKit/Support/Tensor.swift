import Foundation

/// A dense float32 tensor with a shape; NCHW for images at the API boundary.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape does not match element count")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { data.count }
}

extension Tensor {
    /// Reads a raw little-endian float32 file that must hold exactly `shape`'s element count.
    public static func readRaw(path: String, shape: [Int]) throws -> Tensor {
        let expected = shape.reduce(1, *)
        let bytes = try FileIO.read(path: path, maxBytes: expected * 4 + 1)
        guard bytes.count == expected * 4 else {
            throw ConvNeXtError.invalidInput(path: path,
                reason: "holds \(bytes.count) bytes, expected \(expected * 4) (float32 \(shape.map(String.init).joined(separator: "x")))")
        }
        return Tensor(shape: shape, data: floatsFromLittleEndian(bytes))
    }

    /// Writes the raw little-endian float32 data atomically (temp file, then rename).
    public func writeRaw(path: String) throws {
        try FileIO.writeAtomically(path: path, data: littleEndianBytes(data))
    }
}

/// Decodes little-endian float32 bytes.
public func floatsFromLittleEndian(_ bytes: Data) -> [Float] {
    let n = bytes.count / 4
    var out = [Float](repeating: 0, count: n)
    bytes.withUnsafeBytes { raw in
        for i in 0..<n {
            out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        }
    }
    return out
}

/// Encodes floats as little-endian float32 bytes.
public func littleEndianBytes(_ values: [Float]) -> Data {
    var data = Data(count: values.count * 4)
    data.withUnsafeMutableBytes { raw in
        for (i, v) in values.enumerated() {
            raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
        }
    }
    return data
}

extension Tensor {
    /// Reads one or more images of `imageShape` (batch 1 each) stored back to back.
    public static func readBatch(path: String, imageShape: [Int], maxImages: Int = 4096) throws -> Tensor {
        let per = imageShape.reduce(1, *)
        let bytes = try FileIO.read(path: path, maxBytes: per * 4 * maxImages)
        guard !bytes.isEmpty, bytes.count % (per * 4) == 0 else {
            throw ConvNeXtError.invalidInput(path: path,
                reason: "holds \(bytes.count) bytes, expected a multiple of \(per * 4) (float32 \(imageShape.map(String.init).joined(separator: "x")))")
        }
        let n = bytes.count / (per * 4)
        var shape = imageShape
        shape[0] = n * imageShape[0]
        return Tensor(shape: shape, data: floatsFromLittleEndian(bytes))
    }
}
