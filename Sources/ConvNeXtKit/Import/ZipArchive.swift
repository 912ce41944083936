import Foundation

/// The stored (uncompressed) entries of a zip archive held in memory, as `torch.save` writes them.
///
/// Reads the end-of-central-directory record (zip64 forms included), the central directory and
/// each local header; every offset is checked against the data before use. Compressed or
/// encrypted entries are refused with a clear error: `torch.save` never writes them.
public struct ZipArchive: Sendable {
    /// One entry: its name and where its bytes are.
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// Offset of the first data byte from the start of the archive.
        public let dataOffset: Int
        /// Size in bytes (stored: compressed and uncompressed sizes are equal).
        public let size: Int
        /// CRC-32 of the data from the central directory.
        public let crc32: UInt32
    }

    public let path: String
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let index: [String: Int]
    private let data: Data

    /// Whether `data` starts with a zip local file header (`PK\3\4`) or an empty archive's end record.
    public static func looksLikeZip(_ data: Data) -> Bool {
        guard data.count >= 4 else { return false }
        let signature = data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        return signature == Signature.localHeader || signature == Signature.endOfCentralDirectory
    }

    enum Signature {
        static let localHeader: UInt32 = 0x0403_4B50
        static let centralHeader: UInt32 = 0x0201_4B50
        static let endOfCentralDirectory: UInt32 = 0x0605_4B50
        static let zip64End: UInt32 = 0x0606_4B50
        static let zip64Locator: UInt32 = 0x0706_4B50
    }

    /// Parses the directory of `data`; `path` names the file in errors.
    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        let reader = ByteReader(data: data, path: path)
        func invalid(_ reason: String) -> ConvNeXtError { .invalidModel(path: path, reason: "zip archive: \(reason)") }

        // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
        let size = data.count
        guard size >= 22 else { throw invalid("\(size) bytes is too short for a zip archive (truncated?)") }
        var endOffset: Int?
        var candidate = size - 22
        let lowest = max(0, size - 22 - 65_535)
        while candidate >= lowest {
            if try reader.u32(candidate) == Signature.endOfCentralDirectory,
               try candidate + 22 + Int(reader.u16(candidate + 20)) == size {
                endOffset = candidate
                break
            }
            candidate -= 1
        }
        guard let end = endOffset else { throw invalid("no end-of-central-directory record (truncated or not a zip)") }

        var entryCount = Int(try reader.u16(end + 10))
        var directorySize = Int(try reader.u32(end + 12))
        var directoryOffset = Int(try reader.u32(end + 16))
        let diskNumber = try reader.u16(end + 4)
        // zip64: the 32-bit fields are saturated and the real values sit in the zip64 end record.
        if end >= 20, try reader.u32(end - 20) == Signature.zip64Locator {
            let recordOffset = try reader.u64(end - 20 + 8)
            guard end >= 76, recordOffset <= UInt64(end - 76), try reader.u32(Int(recordOffset)) == Signature.zip64End else {
                throw invalid("zip64 end record offset \(recordOffset) is invalid")
            }
            let record = Int(recordOffset)
            let count64 = try reader.u64(record + 32)
            let size64 = try reader.u64(record + 40)
            let offset64 = try reader.u64(record + 48)
            guard count64 <= UInt64(size), size64 <= UInt64(size), offset64 <= UInt64(size) else {
                throw invalid("zip64 end record holds impossible values")
            }
            if entryCount == 0xFFFF { entryCount = Int(count64) }
            if directorySize == 0xFFFF_FFFF { directorySize = Int(size64) }
            if directoryOffset == 0xFFFF_FFFF { directoryOffset = Int(offset64) }
        } else if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw invalid("zip64 archive without a zip64 end record locator")
        }
        guard diskNumber == 0 || diskNumber == 0xFFFF else { throw invalid("multi-disk archives are not supported") }
        guard directoryOffset <= size, directorySize <= size - directoryOffset, directoryOffset + directorySize <= end else {
            throw invalid("central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the archive (truncated?)")
        }
        // Each central entry takes at least 46 bytes: bounds the count before allocating.
        guard entryCount <= directorySize / 46 else {
            throw invalid("\(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }

        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        var index: [String: Int] = [:]
        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for n in 0..<entryCount {
            guard cursor + 46 <= directoryEnd, try reader.u32(cursor) == Signature.centralHeader else {
                throw invalid("central directory entry \(n) is damaged")
            }
            let flags = try reader.u16(cursor + 8)
            let method = try reader.u16(cursor + 10)
            let crc = try reader.u32(cursor + 16)
            var compressedSize = UInt64(try reader.u32(cursor + 20))
            var uncompressedSize = UInt64(try reader.u32(cursor + 24))
            let nameLength = Int(try reader.u16(cursor + 28))
            let extraLength = Int(try reader.u16(cursor + 30))
            let commentLength = Int(try reader.u16(cursor + 32))
            var localOffset = UInt64(try reader.u32(cursor + 42))
            let next = cursor + 46 + nameLength + extraLength + commentLength
            guard next <= directoryEnd else { throw invalid("central directory entry \(n) runs past the directory") }
            let name = try reader.string(cursor + 46, count: nameLength)

            // zip64 extended information: 8-byte values for the saturated fields, in this order.
            if uncompressedSize == 0xFFFF_FFFF || compressedSize == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                var field = cursor + 46 + nameLength
                let extraEnd = field + extraLength
                var found = false
                while field + 4 <= extraEnd {
                    let id = try reader.u16(field)
                    let length = Int(try reader.u16(field + 2))
                    guard field + 4 + length <= extraEnd else { break }
                    if id == 0x0001 {
                        var value = field + 4
                        func take() throws -> UInt64 {
                            guard value + 8 <= field + 4 + length else { throw invalid("entry '\(name)': zip64 field too short") }
                            defer { value += 8 }
                            return try reader.u64(value)
                        }
                        if uncompressedSize == 0xFFFF_FFFF { uncompressedSize = try take() }
                        if compressedSize == 0xFFFF_FFFF { compressedSize = try take() }
                        if localOffset == 0xFFFF_FFFF { localOffset = try take() }
                        found = true
                        break
                    }
                    field += 4 + length
                }
                guard found else { throw invalid("entry '\(name)' has 32-bit overflow sizes but no zip64 field") }
            }

            guard flags & 0x0001 == 0 else { throw invalid("entry '\(name)' is encrypted") }
            guard method == 0 else {
                throw invalid("entry '\(name)' is compressed (method \(method)); only stored entries are read, as torch.save writes them")
            }
            guard compressedSize == uncompressedSize else {
                throw invalid("stored entry '\(name)' has different compressed and uncompressed sizes")
            }
            guard size >= 30, localOffset <= UInt64(size - 30) else { throw invalid("entry '\(name)' local header lies outside the archive") }
            let local = Int(localOffset)
            guard try reader.u32(local) == Signature.localHeader else {
                throw invalid("entry '\(name)' local header is damaged")
            }
            let localName = Int(try reader.u16(local + 26))
            let localExtra = Int(try reader.u16(local + 28))
            let dataOffset = local + 30 + localName + localExtra
            guard uncompressedSize <= UInt64(size), dataOffset <= size, Int(uncompressedSize) <= size - dataOffset else {
                throw invalid("entry '\(name)' data (\(uncompressedSize) bytes) runs past the end of the archive (truncated?)")
            }
            if index[name] == nil { index[name] = entries.count }
            entries.append(Entry(name: name, dataOffset: dataOffset, size: Int(uncompressedSize), crc32: crc))
            cursor = next
        }
        self.entries = entries
        self.index = index
    }

    /// The entry called `name`, if any.
    public func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// Calls `body` with the bytes of `entry` after checking their CRC-32.
    public func withContents<R>(of entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[entry.dataOffset ..< entry.dataOffset + entry.size])
            guard CRC32.checksum(bytes) == entry.crc32 else {
                throw ConvNeXtError.invalidModel(path: path, reason: "zip archive: entry '\(entry.name)' fails its CRC check (damaged file)")
            }
            return try body(bytes)
        }
    }

    /// A copy of the bytes of `entry`, CRC-checked.
    public func contents(of entry: Entry) throws -> Data {
        try withContents(of: entry) { Data($0) }
    }
}

/// Bounds-checked little-endian reads from archive bytes.
private struct ByteReader {
    let data: Data
    let path: String

    private func check(_ offset: Int, _ count: Int) throws {
        guard offset >= 0, count >= 0, offset <= data.count - count else {
            throw ConvNeXtError.invalidModel(path: path, reason: "zip archive: read at offset \(offset) past the end (truncated?)")
        }
    }

    func u16(_ offset: Int) throws -> UInt16 {
        try check(offset, 2)
        return data.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    }

    func u32(_ offset: Int) throws -> UInt32 {
        try check(offset, 4)
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    func u64(_ offset: Int) throws -> UInt64 {
        try check(offset, 8)
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    func string(_ offset: Int, count: Int) throws -> String {
        try check(offset, count)
        return data.withUnsafeBytes { raw in
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset ..< offset + count]), as: UTF8.self)
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) as zip uses it.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for byte in bytes {
                crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
