import Foundation

/// The byte layout of a `.cnxk` deployable model file: header, JSON metadata, array table,
/// 64-byte aligned array data, and a SHA-256 footer. `docs/format.md` specifies it byte by byte.
///
/// This type knows nothing about ConvNeXt: it stores metadata bytes and named typed arrays,
/// and refuses any file whose checksum, sizes, offsets or counts do not hold.
public struct DeploymentContainer: Sendable, Equatable {
    /// `\x89 C N X K \r \n \x1A`: a non-ASCII first byte and a CR LF pair catch text-mode transfers.
    public static let magic: [UInt8] = [0x89, 0x43, 0x4E, 0x58, 0x4B, 0x0D, 0x0A, 0x1A]
    /// `CNXKEND\0`: starts the footer.
    public static let footerMagic: [UInt8] = [0x43, 0x4E, 0x58, 0x4B, 0x45, 0x4E, 0x44, 0x00]
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0
    public static let headerSize = 64
    public static let footerSize = 64
    /// Every section and every array starts at a multiple of this (cache line; mmap-friendly).
    public static let alignment = 64
    /// Checksum algorithm code in the footer: 1 = SHA-256 over every byte before the digest.
    public static let checksumSHA256: UInt32 = 1
    /// Limits that refuse absurd files before any large allocation.
    public static let maxArrays = 1 << 20
    public static let maxNameBytes = 1024
    public static let maxRank = 8
    public static let maxMetadataBytes = 64 << 20
    /// Fixed part of an array table entry (before dims and name).
    static let entryFixedSize = 24

    /// Metadata bytes (UTF-8 JSON for deployable models; opaque here).
    public var metadata: Data
    /// Arrays, in file order; names are unique.
    public var arrays: [NamedArray]

    public init(metadata: Data, arrays: [NamedArray]) {
        self.metadata = metadata
        self.arrays = arrays
    }

    /// True when `data` starts with the format's magic bytes.
    public static func hasMagic(_ data: Data) -> Bool {
        data.count >= magic.count && data.prefix(magic.count).elementsEqual(magic)
    }

    @inline(__always) static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    // MARK: Writing

    /// The complete file bytes. Fails on duplicate or over-long names and over-large metadata.
    public func encoded() throws -> Data {
        guard metadata.count <= Self.maxMetadataBytes else {
            throw ConvNeXtError.usage("deployable model metadata is \(metadata.count) bytes, more than \(Self.maxMetadataBytes)")
        }
        guard arrays.count <= Self.maxArrays else {
            throw ConvNeXtError.usage("a deployable model holds at most \(Self.maxArrays) arrays, got \(arrays.count)")
        }
        var seen = Set<String>()
        for a in arrays {
            let nameBytes = a.name.utf8.count
            guard nameBytes >= 1, nameBytes <= Self.maxNameBytes else {
                throw ConvNeXtError.usage("array name '\(a.name)' must be 1...\(Self.maxNameBytes) bytes of UTF-8")
            }
            guard a.shape.count <= Self.maxRank else { throw ConvNeXtError.usage("array '\(a.name)' has rank \(a.shape.count), at most \(Self.maxRank)") }
            guard seen.insert(a.name).inserted else { throw ConvNeXtError.usage("array name '\(a.name)' appears twice") }
        }

        let metadataOffset = Self.headerSize
        let tableOffset = Self.aligned(metadataOffset + metadata.count)
        let entrySizes = arrays.map { (Self.entryFixedSize + 8 * $0.shape.count + $0.name.utf8.count + 7) / 8 * 8 }
        let tableLength = entrySizes.reduce(0, +)
        var dataOffsets: [Int] = []
        var cursor = Self.aligned(tableOffset + tableLength)
        for a in arrays {
            dataOffsets.append(cursor)
            cursor = Self.aligned(cursor + a.byteCount)
        }
        let footerOffset = cursor
        let fileSize = footerOffset + Self.footerSize

        var out = Data(capacity: fileSize)
        // Header.
        out.append(contentsOf: Self.magic)
        Self.put(Self.majorVersion, &out)
        Self.put(Self.minorVersion, &out)
        Self.put(UInt32(Self.headerSize), &out)
        Self.put(UInt64(fileSize), &out)
        Self.put(UInt64(metadataOffset), &out)
        Self.put(UInt64(metadata.count), &out)
        Self.put(UInt64(tableOffset), &out)
        Self.put(UInt64(tableLength), &out)
        Self.put(UInt32(arrays.count), &out)
        Self.put(UInt32(0), &out) // flags
        // Metadata.
        out.append(metadata)
        Self.pad(&out, to: tableOffset)
        // Array table.
        for (i, a) in arrays.enumerated() {
            let entryStart = out.count
            Self.put(UInt64(dataOffsets[i]), &out)
            Self.put(UInt64(a.byteCount), &out)
            out.append(a.elementType.rawValue)
            out.append(UInt8(a.shape.count))
            Self.put(UInt16(a.name.utf8.count), &out)
            Self.put(UInt32(0), &out)
            for d in a.shape { Self.put(UInt64(d), &out) }
            out.append(contentsOf: Array(a.name.utf8))
            Self.pad(&out, to: entryStart + entrySizes[i])
        }
        // Array data.
        for (i, a) in arrays.enumerated() {
            Self.pad(&out, to: dataOffsets[i])
            a.values.appendLittleEndian(to: &out)
        }
        Self.pad(&out, to: footerOffset)
        // Footer: magic, algorithm, reserved, digest of everything before the digest.
        out.append(contentsOf: Self.footerMagic)
        Self.put(Self.checksumSHA256, &out)
        Self.pad(&out, to: footerOffset + 32)
        let digest = out.withUnsafeBytes { SHA256.digest($0) }
        out.append(contentsOf: digest)
        return out
    }

    private static func put<T: FixedWidthInteger>(_ v: T, _ out: inout Data) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func pad(_ out: inout Data, to size: Int) {
        if out.count < size { out.append(Data(count: size - out.count)) }
    }

    // MARK: Reading

    /// Parses and validates file bytes; `path` names the file in errors.
    ///
    /// Order: size and magic, recorded size vs actual size (truncation), footer, checksum,
    /// version, then every offset, length and count before it is used.
    public static func decode(_ data: Data, path: String) throws -> DeploymentContainer {
        try data.withUnsafeBytes { raw in try decode(raw, path: path) }
    }

    static func decode(_ raw: UnsafeRawBufferPointer, path: String) throws -> DeploymentContainer {
        func fail(_ reason: String) -> ConvNeXtError { .invalidModel(path: path, reason: reason) }
        let size = raw.count
        guard size >= magic.count, raw.prefix(magic.count).elementsEqual(magic) else {
            throw fail("not a ConvNeXtKit deployable model (.cnxk): the file does not start with the format's magic bytes")
        }
        guard size >= headerSize + footerSize else {
            throw fail("truncated: \(size) bytes, a deployable model has at least \(headerSize + footerSize)")
        }
        let reader = ByteReader(raw: raw)
        let recordedSize = reader.u64(16)
        if recordedSize != UInt64(size) {
            if recordedSize > UInt64(size) {
                throw fail("truncated: the header records \(recordedSize) bytes, the file has \(size)")
            }
            throw fail("the file has \(size) bytes but its header records \(recordedSize): trailing data or a corrupt header")
        }
        let footer = size - footerSize
        guard raw[footer..<footer + 8].elementsEqual(footerMagic) else {
            throw fail("corrupt or truncated: the end-of-file marker is missing")
        }
        let major = reader.u16(8), minor = reader.u16(10)
        let algorithm = reader.u32(footer + 8)
        guard algorithm == checksumSHA256 else {
            throw fail("unknown checksum algorithm \(algorithm)" + (major != majorVersion ? " (format version \(major).\(minor); this tool reads \(majorVersion).x)" : ""))
        }
        let stored = Array(raw[(size - 32)..<size])
        let computed = SHA256.digest(UnsafeRawBufferPointer(rebasing: raw[0..<(size - 32)]))
        guard stored == computed else {
            throw fail("checksum mismatch: the file is corrupt (SHA-256 over the file does not match the one stored in its footer)"
                + (major != majorVersion ? ", or written by format version \(major).\(minor)" : ""))
        }
        guard major == majorVersion else {
            throw fail("format version \(major).\(minor); this tool reads version \(majorVersion).x")
        }
        // The checksum holds, so what follows can only fail for a file written wrongly on purpose
        // or by a broken writer: still check everything, never trust an offset.
        let headerLength = Int(reader.u32(12))
        guard headerLength >= headerSize, headerLength % alignment == 0 else { throw fail("header size \(headerLength) is invalid") }
        guard reader.u32(60) == 0 else { throw fail("unknown flags \(reader.u32(60)) (written by a newer tool?)") }
        guard footer % alignment == 0 else { throw fail("file size \(size) is not footer-aligned") }

        func range(_ offset: UInt64, _ length: UInt64, _ what: String, from lower: Int, aligned: Bool) throws -> Range<Int> {
            guard offset <= UInt64(footer), length <= UInt64(footer), offset + length <= UInt64(footer) else {
                throw fail("\(what) at offset \(offset), \(length) bytes, runs past the data area (\(footer) bytes)")
            }
            let o = Int(offset), l = Int(length)
            guard o >= lower else { throw fail("\(what) at offset \(o) overlaps the section before it (ends at \(lower))") }
            guard !aligned || o % alignment == 0 else { throw fail("\(what) offset \(o) is not a multiple of \(alignment)") }
            return o..<(o + l)
        }
        let metadataLength = reader.u64(32)
        guard metadataLength <= UInt64(maxMetadataBytes) else { throw fail("metadata length \(metadataLength) exceeds \(maxMetadataBytes) bytes") }
        let metadataRange = try range(reader.u64(24), metadataLength, "metadata", from: headerLength, aligned: true)
        let tableRange = try range(reader.u64(40), reader.u64(48), "array table", from: metadataRange.upperBound, aligned: true)
        let count = Int(reader.u32(56))
        guard count <= maxArrays, count * entryFixedSize <= tableRange.count else {
            throw fail("array count \(count) does not fit its \(tableRange.count)-byte table")
        }

        var arrays: [NamedArray] = []
        arrays.reserveCapacity(count)
        var names = Set<String>()
        var spans: [(Range<Int>, String)] = []
        var cursor = tableRange.lowerBound
        for index in 0..<count {
            guard cursor + entryFixedSize <= tableRange.upperBound else { throw fail("array table entry \(index) runs past the table") }
            let offset = reader.u64(cursor), length = reader.u64(cursor + 8)
            let typeCode = raw[cursor + 16], rank = Int(raw[cursor + 17])
            let nameLength = Int(reader.u16(cursor + 18))
            guard let type = ArrayElementType(rawValue: typeCode) else { throw fail("array table entry \(index) has unknown element type \(typeCode)") }
            guard rank <= maxRank else { throw fail("array table entry \(index) has rank \(rank), at most \(maxRank)") }
            guard nameLength >= 1, nameLength <= maxNameBytes else { throw fail("array table entry \(index) has a name of \(nameLength) bytes") }
            let entrySize = (entryFixedSize + 8 * rank + nameLength + 7) / 8 * 8
            guard cursor + entrySize <= tableRange.upperBound else { throw fail("array table entry \(index) runs past the table") }
            var shape: [Int] = []
            for r in 0..<rank {
                let d = reader.u64(cursor + entryFixedSize + 8 * r)
                guard d <= UInt64(footer) else { throw fail("array table entry \(index): dimension \(d) is absurd") }
                shape.append(Int(d))
            }
            let nameStart = cursor + entryFixedSize + 8 * rank
            guard let name = String(validating: raw[nameStart..<nameStart + nameLength], as: UTF8.self) else {
                throw fail("array table entry \(index): the name is not valid UTF-8")
            }
            guard names.insert(name).inserted else { throw fail("array '\(name)' appears twice") }
            guard let elements = NamedArray.product(shape), elements.multipliedReportingOverflow(by: type.byteWidth) == (Int(clamping: length), false) else {
                throw fail("array '\(name)': \(length) bytes do not hold \(type) \(shape.map(String.init).joined(separator: "x"))")
            }
            let dataRange = try range(offset, length, "array '\(name)'", from: tableRange.upperBound, aligned: true)
            spans.append((dataRange, name))
            let values = ArrayValues.decodeLittleEndian(UnsafeRawBufferPointer(rebasing: raw[dataRange]), type: type, count: elements)
            arrays.append(try NamedArray(name: name, shape: shape, values: values))
            cursor += entrySize
        }
        spans.sort { $0.0.lowerBound < $1.0.lowerBound }
        for i in spans.indices.dropFirst() where spans[i].0.lowerBound < spans[i - 1].0.upperBound {
            throw fail("arrays '\(spans[i - 1].1)' and '\(spans[i].1)' overlap")
        }
        return DeploymentContainer(metadata: Data(raw[metadataRange]), arrays: arrays)
    }
}

/// Little-endian reads at offsets the caller has bounds-checked.
private struct ByteReader {
    let raw: UnsafeRawBufferPointer
    func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
}
