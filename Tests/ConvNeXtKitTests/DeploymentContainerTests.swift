import ConvNeXtKit
import Foundation
import XCTest

/// The byte container: round trip, alignment, and refusal of corrupt, truncated or crafted files.
final class DeploymentContainerTests: XCTestCase {
    private func sampleContainer() throws -> DeploymentContainer {
        DeploymentContainer(metadata: Data(#"{"hello":"world"}"#.utf8), arrays: [
            try NamedArray(name: "weights", shape: [2, 3], floats: [1, -2, 3.5, .infinity, -0.0, 1e-30]),
            try NamedArray(name: "codes", shape: [5], values: .int8([-128, -1, 0, 1, 127])),
            try NamedArray(name: "wide", shape: [2, 2], values: .int16([-32768, 32767, 0, 7])),
            try NamedArray(name: "acc", shape: [3], values: .int32([Int32.min, Int32.max, 42])),
            try NamedArray(name: "bytes", shape: [1, 1, 4], values: .uint8([0, 128, 255, 9])),
            try NamedArray(name: "scalar", shape: [], floats: [3.25]),
            try NamedArray(name: "empty", shape: [0], floats: []),
            try NamedArray(name: "ünïcode/näme", shape: [1], floats: [7]),
        ])
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(SHA256.digest(Data())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(SHA256.digest(Data("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(SHA256.digest(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Incremental updates of odd sizes give the same digest as one call.
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = SHA256()
        var offset = 0
        var step = 1
        while offset < million.count {
            let end = min(offset + step, million.count)
            hasher.update(million.subdata(in: offset..<end))
            offset = end
            step = step % 97 + 13
        }
        XCTAssertEqual(SHA256.hex(hasher.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA256OfFixtureMatchesManifest() throws {
        // The manifest's hash of tiny_opset11.onnx, computed by Python's hashlib.
        let data = try FileIO.read(path: DeploymentTestSupport.fixture("models/tiny_opset11.onnx"))
        XCTAssertEqual(SHA256.hex(SHA256.digest(data)), "aa51ca5401dfeb7ee71984e9a069d5ec45cc76cab11f17a02762b9eeb2383ce1")
    }

    func testRoundTripKeepsEveryArrayBitExact() throws {
        let original = try sampleContainer()
        let bytes = try original.encoded()
        let decoded = try DeploymentContainer.decode(bytes, path: "sample.cnxk")
        XCTAssertEqual(decoded.metadata, original.metadata)
        XCTAssertEqual(decoded.arrays.map(\.name), original.arrays.map(\.name))
        for (a, b) in zip(decoded.arrays, original.arrays) {
            XCTAssertEqual(a.shape, b.shape, a.name)
            XCTAssertTrue(a.values.bitwiseEqual(b.values), a.name)
        }
        // Same input, same bytes.
        XCTAssertEqual(try original.encoded(), bytes)
    }

    func testLayoutIsAlignedAndLittleEndian() throws {
        let bytes = try sampleContainer().encoded()
        XCTAssertEqual(Array(bytes.prefix(8)), DeploymentContainer.magic)
        XCTAssertEqual(bytes.count % 64, 0)
        func u64(_ o: Int) -> UInt64 { bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) } }
        XCTAssertEqual(u64(16), UInt64(bytes.count))
        XCTAssertEqual(u64(24), 64)
        XCTAssertEqual(u64(40) % 64, 0)
        // First table entry: the f32 array "weights" at an aligned offset, value 1.0 first.
        let table = Int(u64(40))
        let dataOffset = Int(u64(table))
        XCTAssertEqual(dataOffset % 64, 0)
        XCTAssertEqual(u64(table + 8), 24)
        XCTAssertEqual(bytes[table + 16], ArrayElementType.float32.rawValue)
        XCTAssertEqual(Array(bytes[dataOffset..<dataOffset + 4]), [0x00, 0x00, 0x80, 0x3F])
        XCTAssertEqual(Array(bytes[(bytes.count - 64)..<(bytes.count - 56)]), DeploymentContainer.footerMagic)
    }

    func testEveryFlippedByteIsRefused() throws {
        let bytes = try sampleContainer().encoded()
        for i in 0..<bytes.count {
            for mask: UInt8 in [0x01, 0x80] {
                var damaged = bytes
                damaged[i] ^= mask
                XCTAssertThrowsError(try DeploymentContainer.decode(damaged, path: "damaged.cnxk"), "byte \(i) mask \(mask) accepted") { error in
                    let text = "\(error)"
                    XCTAssertTrue(text.hasPrefix("damaged.cnxk: not a valid model: "), text)
                }
            }
        }
    }

    func testTruncationAnywhereIsRefused() throws {
        let bytes = try sampleContainer().encoded()
        for length in Array(0..<130) + [bytes.count / 2, bytes.count - 64, bytes.count - 33, bytes.count - 1] {
            let text = DeploymentTestSupport.errorText { _ = try DeploymentContainer.decode(bytes.prefix(length), path: "cut.cnxk") }
            XCTAssertTrue(text.contains("truncated") || text.contains("magic"), "length \(length): \(text)")
        }
        let cut = DeploymentTestSupport.errorText { _ = try DeploymentContainer.decode(bytes.prefix(bytes.count - 10), path: "cut.cnxk") }
        XCTAssertEqual(cut, "cut.cnxk: not a valid model: truncated: the header records \(bytes.count) bytes, the file has \(bytes.count - 10)")
        let extra = DeploymentTestSupport.errorText { _ = try DeploymentContainer.decode(bytes + Data([0]), path: "x.cnxk") }
        XCTAssertTrue(extra.contains("trailing data"), extra)
    }

    /// Re-signs bytes after editing them, as a broken or hostile writer would: the checksum then
    /// holds and only the structural checks stand between the file and a crash.
    private func resigned(_ bytes: Data) -> Data {
        var out = bytes
        let digest = out.prefix(out.count - 32).withUnsafeBytes { SHA256.digest($0) }
        out.replaceSubrange((out.count - 32)..<out.count, with: digest)
        return out
    }

    private func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
    }

    func testCraftedHeadersWithValidChecksumAreRefused() throws {
        let bytes = try sampleContainer().encoded()
        let table = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self))) }
        var cases: [(String, Data)] = []
        var d = bytes; put(UInt32(0xFFFF_FFFF), at: 56, in: &d); cases.append(("array count", d))
        d = bytes; put(UInt64(1) << 62, at: 32, in: &d); cases.append(("metadata length", d))
        d = bytes; put(UInt64.max - 3, at: 24, in: &d); cases.append(("metadata", d))
        d = bytes; put(UInt64(bytes.count), at: 40, in: &d); cases.append(("array table", d))
        d = bytes; put(UInt64.max, at: table, in: &d); cases.append(("weights", d))
        d = bytes; put(UInt64(1) << 60, at: table + 8, in: &d); cases.append(("weights", d))
        d = bytes; put(UInt8(99), at: table + 16, in: &d); cases.append(("element type", d))
        d = bytes; put(UInt8(200), at: table + 17, in: &d); cases.append(("rank", d))
        d = bytes; put(UInt16(60000), at: table + 18, in: &d); cases.append(("name", d))
        d = bytes; put(UInt64(1) << 40, at: table + 24, in: &d); cases.append(("dimension", d))
        d = bytes; put(UInt64(4), at: table + 32, in: &d); cases.append(("do not hold f32 2x4", d))
        d = bytes; put(UInt16(2), at: 8, in: &d); cases.append(("version", d))
        d = bytes; put(UInt32(1), at: 60, in: &d); cases.append(("flags", d))
        d = bytes; put(UInt64(65), at: table, in: &d); cases.append(("weights", d))
        for (expected, data) in cases {
            let text = DeploymentTestSupport.errorText { _ = try DeploymentContainer.decode(resigned(data), path: "crafted.cnxk") }
            XCTAssertTrue(text.hasPrefix("crafted.cnxk: not a valid model: "), text)
            XCTAssertTrue(text.contains(expected), "expected '\(expected)' in: \(text)")
        }
    }

    func testOverlappingArraysAreRefused() throws {
        var bytes = try sampleContainer().encoded()
        let table = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self))) }
        let first = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: table, as: UInt64.self)) }
        // Point the second entry ("codes"; the first entry takes 24 + 2 * 8 + 7 -> 48 bytes) at the first array's data.
        put(first, at: table + 48, in: &bytes)
        let text = DeploymentTestSupport.errorText { _ = try DeploymentContainer.decode(resigned(bytes), path: "o.cnxk") }
        XCTAssertTrue(text.contains("overlap"), text)
    }

    func testWriterRefusesBadNames() throws {
        let a = try NamedArray(name: "x", shape: [1], floats: [1])
        XCTAssertThrowsError(try DeploymentContainer(metadata: Data(), arrays: [a, a]).encoded())
        let long = try NamedArray(name: String(repeating: "n", count: 1025), shape: [1], floats: [1])
        XCTAssertThrowsError(try DeploymentContainer(metadata: Data(), arrays: [long]).encoded())
        XCTAssertThrowsError(try NamedArray(name: "bad", shape: [2, 2], floats: [1, 2, 3]))
    }
}
