extension NV12Frame {
    /// Copies a frame out of foreign memory (the C API's caller-owned buffers), checking the size
    /// first, so a wrong `width`/`height` or length is an error before any byte is read.
    public init(width: Int, height: Int, copying buffer: UnsafeRawBufferPointer, path: String = "NV12 frame") throws {
        try Self.checkSize(width: width, height: height, path: path)
        let expected = Self.byteCount(width: width, height: height)
        guard buffer.count == expected else {
            throw ConvNeXtError.invalidInput(path: path,
                reason: "NV12 frame holds \(buffer.count) bytes, expected \(expected) for \(width)x\(height) (width*height*3/2)")
        }
        try self.init(width: width, height: height, bytes: [UInt8](buffer), path: path)
    }
}
