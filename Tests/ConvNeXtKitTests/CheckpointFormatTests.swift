import ConvNeXtKit
import Foundation
import XCTest

/// Crafted safetensors, zip and pickle files: conversions, strided views, and every kind of
/// bad input refused with a one-line error naming the file.
final class CheckpointFormatTests: XCTestCase {
    override class func tearDown() {
        try? FileManager.default.removeItem(at: CheckpointTestFiles.temporaryFolder)
        super.tearDown()
    }

    typealias Files = CheckpointTestFiles

    // MARK: safetensors

    func testSafetensorsHalfAndBFloat16ConvertToFloat() throws {
        let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x8000, 0x7C00, 0x3555, 0x03FF]
        let halfExpected: [Float] = [1, -2, 65504, 0x1p-24, 0x1p-14, -0.0, .infinity, 0.333251953125, 1023 * 0x1p-24]
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x4049, 0xFF80, 0x0001]
        let bf16Expected: [Float] = [1, -3, 3.140625, -.infinity, Float(bitPattern: 0x0001_0000)]
        let data = Files.safetensors([
            .init(name: "half", dtype: "F16", shape: [3, 3], bytes: Files.u16Bytes(half)),
            .init(name: "bf16", dtype: "BF16", shape: [5], bytes: Files.u16Bytes(bf16)),
            .init(name: "f32", dtype: "F32", shape: [2], bytes: Files.f32Bytes([1.5, -7])),
            .init(name: "nan", dtype: "F16", shape: [1], bytes: Files.u16Bytes([0x7E00])),
        ], metadata: ["format": "pt"])
        let reader = try SafetensorsReader(data: data, path: "crafted.safetensors")
        XCTAssertEqual(reader.tensors["half"], CheckpointTensorInfo(shape: [3, 3], dtype: .float16))
        let halfValues = try reader.floats("half")
        XCTAssertEqual(halfValues.map(\.bitPattern), halfExpected.map(\.bitPattern))
        XCTAssertEqual(try reader.floats("bf16").map(\.bitPattern), bf16Expected.map(\.bitPattern))
        XCTAssertEqual(try reader.floats("f32"), [1.5, -7])
        XCTAssertTrue(try reader.floats("nan")[0].isNaN)
    }

    func testSafetensorsHeaderThatLiesIsRefused() throws {
        let good = Files.f32Bytes([1, 2, 3, 4])
        let cases: [(String, [Files.SafetensorsTensor], [String])] = [
            ("offsets past the data", [.init(name: "w", dtype: "F32", shape: [4], bytes: good, offsets: (0, 64))], ["'w'", "outside"]),
            ("size not matching shape", [.init(name: "w", dtype: "F32", shape: [5], bytes: good)], ["'w'", "needs 20"]),
            ("begin after end", [.init(name: "w", dtype: "F32", shape: [0], bytes: good, offsets: (12, 8))], ["'w'"]),
            ("negative offset", [.init(name: "w", dtype: "F32", shape: [1], bytes: good, offsets: (-4, 0))], ["'w'"]),
            ("overlap", [.init(name: "a", dtype: "F32", shape: [3], bytes: good, offsets: (0, 12)),
                         .init(name: "b", dtype: "F32", shape: [3], bytes: [], offsets: (4, 16))], ["overlap"]),
            ("absurd shape", [.init(name: "w", dtype: "F32", shape: [1 << 40, 1 << 40], bytes: good, offsets: (0, 16))], ["impossible shape"]),
            ("negative dim", [.init(name: "w", dtype: "F32", shape: [-4], bytes: good)], ["impossible shape"]),
            ("unknown dtype", [.init(name: "w", dtype: "Q7", shape: [4], bytes: good)], ["dtype Q7"]),
        ]
        for (label, tensors, fragments) in cases {
            let path = try Files.temporaryFile(Files.safetensors(tensors), name: "lying-\(label.replacingOccurrences(of: " ", with: "-")).safetensors")
            assertCheckpointError([path] + fragments) { _ = try ModelLoader.load(path: path) }
        }
    }

    func testSafetensorsHeaderLengthAndJSONAreChecked() throws {
        var tooLong = Data()
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { tooLong.append(contentsOf: $0) }
        tooLong.append(contentsOf: Array("{}".utf8))
        assertCheckpointError(["header length"]) { _ = try SafetensorsReader(data: tooLong, path: "x.safetensors") }

        var notJSON = Data()
        withUnsafeBytes(of: UInt64(6).littleEndian) { notJSON.append(contentsOf: $0) }
        notJSON.append(contentsOf: Array("{oops}".utf8))
        let path = try Files.temporaryFile(notJSON, name: "not-json.safetensors")
        assertCheckpointError([path, "JSON"]) { _ = try ModelLoader.load(path: path) }

        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":\"big\",\"data_offsets\":[0,4]}}".utf8)
        var bad = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bad.append(contentsOf: $0) }
        bad.append(contentsOf: header)
        bad.append(contentsOf: [0, 0, 0, 0])
        assertCheckpointError(["'w'", "dtype, shape, data_offsets"]) { _ = try SafetensorsReader(data: bad, path: "x.safetensors") }
    }

    func testTruncatedSafetensorsIsRefused() throws {
        let full = try Data(contentsOf: Files.repoRoot.appendingPathComponent("Fixtures/checkpoints/tiny_opset11.safetensors"))
        for cut in [4, 100, full.count / 2, full.count - 1] {
            let path = try Files.temporaryFile(full.prefix(cut), name: "truncated-\(cut).safetensors")
            assertCheckpointError([path]) { _ = try ModelLoader.load(path: path) }
        }
    }

    func testSafetensorsIntegerTensorIsNotAWeight() throws {
        let dict = Files.stateDict(of: ConvNeXtModel.random(config: ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [8, 8, 8, 8],
                                                                                        blockForm: .convMLP, numClasses: 3)))
        let tensors = dict.map { t -> Files.SafetensorsTensor in
            t.name == "head.fc.bias" ? .init(name: t.name, dtype: "I32", shape: t.shape, bytes: Files.f32Bytes(t.values))
                : .init(name: t.name, dtype: "F32", shape: t.shape, bytes: Files.f32Bytes(t.values))
        }
        let path = try Files.temporaryFile(Files.safetensors(tensors), name: "int-bias.safetensors")
        assertCheckpointError([path, "head.fc.bias", "I32"]) { _ = try ModelLoader.load(path: path, inputSize: 32) }
    }

    // MARK: pickle safety

    private func pickleArchive(_ body: (inout Files.Pickle) -> Void) -> Data {
        var p = Files.Pickle()
        body(&p)
        return Files.zip(Files.pthEntries(archiveName: "archive", pickle: p.bytes))
    }

    func testPickleGlobalOutsideAllowListIsRefused() throws {
        for (module, name) in [("os", "system"), ("builtins", "eval"), ("__builtin__", "exec"), ("subprocess", "Popen"),
                               ("torch.storage", "_load_from_bytes"), ("posix", "system"), ("torch", "load")] {
            let data = pickleArchive { p in
                p.global(module, name)
                p.string("touch /tmp/convnextkit-pwned")
                p.op(0x85) // TUPLE1
                p.op(0x52) // REDUCE
                p.stop()
            }
            let path = try Files.temporaryFile(data, name: "evil-\(module)-\(name).pth")
            assertCheckpointError([path, "archive/data.pkl", "'\(module).\(name)'", "refuses"]) { _ = try ModelLoader.load(path: path) }
        }
    }

    func testPickleStackGlobalIsCheckedToo() throws {
        let data = pickleArchive { p in
            p.string("os")
            p.string("system")
            p.op(0x93) // STACK_GLOBAL
            p.stop()
        }
        assertCheckpointError(["'os.system'"]) { _ = try PyTorchCheckpointReader(data: data, path: "evil.pth") }
    }

    func testPickleOpcodesOutsideTheSetAreRefused() throws {
        // INST, OBJ, NEWOBJ, PERSID (text), EXT1: each could build arbitrary objects.
        for code: UInt8 in [0x69, 0x6F, 0x81, 0x50, 0x82] {
            let data = pickleArchive { p in
                p.op(0x28)
                p.op(code)
                p.stop()
            }
            assertCheckpointError(["opcode 0x\(String(code, radix: 16))", "refused"]) {
                _ = try PyTorchCheckpointReader(data: data, path: "odd.pth")
            }
        }
    }

    func testPickleNestingAndDamageAreRefused() throws {
        let deep = pickleArchive { p in
            for _ in 0..<200 { p.op(0x5D) } // EMPTY_LIST
            for _ in 0..<199 { p.op(0x61) } // APPEND
            p.stop()
        }
        assertCheckpointError(["nest deeper"]) { _ = try PyTorchCheckpointReader(data: deep, path: "deep.pth") }

        let selfContaining = pickleArchive { p in
            p.op(0x5D); p.op(0x71); p.op(0) // EMPTY_LIST, BINPUT 0
            p.op(0x68); p.op(0) // BINGET 0
            p.op(0x61) // APPEND: the list into itself
            p.stop()
        }
        assertCheckpointError(["inside itself"]) { _ = try PyTorchCheckpointReader(data: selfContaining, path: "cycle.pth") }

        let underflow = pickleArchive { p in p.op(0x74); p.stop() } // TUPLE without MARK
        assertCheckpointError(["mark"]) { _ = try PyTorchCheckpointReader(data: underflow, path: "underflow.pth") }

        let noStop = pickleArchive { p in p.op(0x7D) }
        assertCheckpointError(["truncated"]) { _ = try PyTorchCheckpointReader(data: noStop, path: "nostop.pth") }

        let badMemo = pickleArchive { p in p.op(0x68); p.op(9); p.stop() }
        assertCheckpointError(["memo 9"]) { _ = try PyTorchCheckpointReader(data: badMemo, path: "memo.pth") }

        let notDict = pickleArchive { p in p.int(5); p.stop() }
        assertCheckpointError(["int", "state dict"]) { _ = try PyTorchCheckpointReader(data: notDict, path: "int.pth") }
    }

    /// What Python's own pickler writes for an OrderedDict with a `_metadata` attribute (protocol 2),
    /// as `model.state_dict()` carries: parsed through BUILD; holding no tensors, it is then refused.
    func testPythonPickledOrderedDictWithMetadataParses() throws {
        let data = Files.zip(Files.pthEntries(archiveName: "archive", pickle: Self.pythonOrderedDictPickle))
        assertCheckpointError(["no tensors", "a.weight, b"]) { _ = try PyTorchCheckpointReader(data: data, path: "ordered.pth") }
    }

    /// `pickle.dumps(d, protocol=2)` of `OrderedDict(a.weight=1.5, b=2)` with
    /// `d._metadata = OrderedDict([('', {'version': 1}), ('stem', {'version': 1})])`.
    static let pythonOrderedDictPickle: [UInt8] = [
        0x80, 0x02, 0x63, 0x63, 0x6F, 0x6C, 0x6C, 0x65, 0x63, 0x74, 0x69, 0x6F, 0x6E, 0x73, 0x0A, 0x4F,
        0x72, 0x64, 0x65, 0x72, 0x65, 0x64, 0x44, 0x69, 0x63, 0x74, 0x0A, 0x71, 0x00, 0x29, 0x52, 0x71,
        0x01, 0x28, 0x58, 0x08, 0x00, 0x00, 0x00, 0x61, 0x2E, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x71,
        0x02, 0x47, 0x3F, 0xF8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62,
        0x71, 0x03, 0x4B, 0x02, 0x75, 0x7D, 0x71, 0x04, 0x58, 0x09, 0x00, 0x00, 0x00, 0x5F, 0x6D, 0x65,
        0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x71, 0x05, 0x68, 0x00, 0x29, 0x52, 0x71, 0x06, 0x28, 0x58,
        0x00, 0x00, 0x00, 0x00, 0x71, 0x07, 0x7D, 0x71, 0x08, 0x58, 0x07, 0x00, 0x00, 0x00, 0x76, 0x65,
        0x72, 0x73, 0x69, 0x6F, 0x6E, 0x71, 0x09, 0x4B, 0x01, 0x73, 0x58, 0x04, 0x00, 0x00, 0x00, 0x73,
        0x74, 0x65, 0x6D, 0x71, 0x0A, 0x7D, 0x71, 0x0B, 0x68, 0x09, 0x4B, 0x01, 0x73, 0x75, 0x73, 0x62,
        0x2E,
    ]

    // MARK: tensors in .pth archives

    func testPthStridedViewsAndHalfStoragesAreGathered() throws {
        let storage: [Float] = (0..<12).map { Float($0) * 0.5 - 1 }
        let halfBits: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x4200]
        let bf16Bits: [UInt16] = [0x3F80, 0x4000, 0x4040]
        var p = Files.Pickle()
        p.op(0x7D); p.op(0x28)
        // A transposed view with a storage offset: element [i][j] = storage[2 + i + 3j].
        p.string("transposed")
        p.tensor(storageType: "FloatStorage", key: "0", storageElements: 12, offset: 2, shape: [3, 3], strides: [1, 3])
        // A second tensor on the same storage, contiguous from offset 8.
        p.string("tail")
        p.tensor(storageType: "FloatStorage", key: "0", storageElements: 12, offset: 8, shape: [2, 2], strides: [2, 1])
        // Broadcast dimension with stride 0 and a size-1 dimension with an odd stride.
        p.string("broadcast")
        p.tensor(storageType: "FloatStorage", key: "0", storageElements: 12, offset: 1, shape: [2, 1, 3], strides: [0, 99, 1])
        p.string("half")
        p.tensor(storageType: "HalfStorage", key: "1", storageElements: 4, offset: 0, shape: [2, 2], strides: [2, 1])
        p.string("bf16")
        p.tensor(storageType: "BFloat16Storage", key: "2", storageElements: 3, offset: 1, shape: [2], strides: [1])
        p.string("step")
        p.int(17) // a non-tensor value in the dict is skipped
        p.op(0x75)
        p.stop()
        let data = Files.zip(Files.pthEntries(archiveName: "ckpt", pickle: p.bytes) + [
            ("ckpt/data/0", Files.f32Bytes(storage)),
            ("ckpt/data/1", Files.u16Bytes(halfBits)),
            ("ckpt/data/2", Files.u16Bytes(bf16Bits)),
        ])
        let reader = try PyTorchCheckpointReader(data: data, path: "views.pth")
        XCTAssertNil(reader.stateDictKey)
        XCTAssertEqual(Set(reader.tensors.keys), ["transposed", "tail", "broadcast", "half", "bf16"])
        var transposed: [Float] = []
        for i in 0..<3 { for j in 0..<3 { transposed.append(storage[2 + i + 3 * j]) } }
        XCTAssertEqual(try reader.floats("transposed"), transposed)
        XCTAssertEqual(try reader.floats("tail"), Array(storage[8..<12]))
        XCTAssertEqual(try reader.floats("broadcast"), Array(storage[1..<4]) + Array(storage[1..<4]))
        XCTAssertEqual(try reader.floats("half"), [1, -2, 0.5, 3])
        XCTAssertEqual(reader.tensors["half"]?.dtype, .float16)
        XCTAssertEqual(try reader.floats("bf16"), [2, 3])
    }

    func testPthViewPastItsStorageIsRefused() throws {
        func archive(offset: Int, shape: [Int], strides: [Int], storageElements: Int, bytes: Int) -> Data {
            var p = Files.Pickle()
            p.op(0x7D); p.op(0x28)
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "0", storageElements: storageElements, offset: offset, shape: shape, strides: strides)
            p.op(0x75); p.stop()
            return Files.zip(Files.pthEntries(archiveName: "a", pickle: p.bytes) + [("a/data/0", [UInt8](repeating: 0, count: bytes))])
        }
        assertCheckpointError(["'w'", "reaches past"]) {
            _ = try PyTorchCheckpointReader(data: archive(offset: 3, shape: [2, 2], strides: [2, 1], storageElements: 6, bytes: 24), path: "p.pth")
        }
        assertCheckpointError(["'w'", "reaches past"]) {
            _ = try PyTorchCheckpointReader(data: archive(offset: 0, shape: [4], strides: [Int(Int32.max)], storageElements: 6, bytes: 24), path: "p.pth")
        }
        assertCheckpointError(["a/data/0", "holds 8 bytes"]) {
            _ = try PyTorchCheckpointReader(data: archive(offset: 0, shape: [2], strides: [1], storageElements: 6, bytes: 8), path: "p.pth")
        }
        assertCheckpointError(["negative"]) {
            _ = try PyTorchCheckpointReader(data: archive(offset: -1, shape: [2], strides: [1], storageElements: 6, bytes: 24), path: "p.pth")
        }
        // A storage the archive does not hold.
        var p = Files.Pickle()
        p.op(0x7D); p.op(0x28); p.string("w")
        p.tensor(storageType: "FloatStorage", key: "7", storageElements: 1, offset: 0, shape: [1], strides: [1])
        p.op(0x75); p.stop()
        assertCheckpointError(["a/data/7"]) {
            _ = try PyTorchCheckpointReader(data: Files.zip(Files.pthEntries(archiveName: "a", pickle: p.bytes)), path: "p.pth")
        }
    }

    func testWrappedStateDictIsUnwrapped() throws {
        let tensors = [Files.PthTensor(name: "a.weight", shape: [2], values: [1, 2])]
        for key in PyTorchCheckpointReader.wrapperKeys {
            let reader = try PyTorchCheckpointReader(data: Files.pth(tensors, wrapper: key), path: "wrapped.pth")
            XCTAssertEqual(reader.stateDictKey, key)
            XCTAssertEqual(try reader.floats("a.weight"), [1, 2])
        }
        assertCheckpointError(["no tensors", "epoch"]) {
            _ = try PyTorchCheckpointReader(data: Files.pth([], wrapper: "optimizer"), path: "empty.pth")
        }
    }

    // MARK: zip archives

    func testTruncatedPthIsRefused() throws {
        let full = try Data(contentsOf: Files.repoRoot.appendingPathComponent("Fixtures/checkpoints/tiny_opset11.pth"))
        XCTAssertNoThrow(try PyTorchCheckpointReader(data: full, path: "full.pth"))
        for cut in [10, 100, 5000, full.count / 2, full.count - 30, full.count - 1] {
            let path = try Files.temporaryFile(full.prefix(cut), name: "truncated-\(cut).pth")
            assertCheckpointError([path]) { _ = try ModelLoader.load(path: path, inputSize: 64) }
        }
    }

    func testDamagedPthDataFailsItsCRC() throws {
        var data = try Data(contentsOf: Files.repoRoot.appendingPathComponent("Fixtures/checkpoints/tiny_opset11.pth"))
        let reader = try PyTorchCheckpointReader(data: data, path: "ok.pth")
        XCTAssertEqual(try reader.floats("stem.1.weight").count, 8)
        // Flip one byte inside the last storage (stored just before the central directory).
        let archive = try ZipArchive(data: data, path: "ok.pth")
        guard let entry = archive.entry(named: "tiny_opset11/data/64") else { return XCTFail("fixture layout changed") }
        data[entry.dataOffset + 1] ^= 0x40
        let damaged = try PyTorchCheckpointReader(data: data, path: "damaged.pth")
        let name = damaged.tensors.keys.first { (try? damaged.floats($0)) == nil }
        XCTAssertNotNil(name, "no tensor reported the damaged storage")
        if let name { assertCheckpointError(["damaged.pth", "CRC"]) { _ = try damaged.floats(name) } }
    }

    func testCompressedAndEncryptedEntriesAreRefused() throws {
        let entries = Files.pthEntries(archiveName: "a", pickle: [0x80, 0x02, 0x7D, 0x2E])
        assertCheckpointError(["a/data.pkl", "compressed (method 8)"]) {
            _ = try ZipArchive(data: Files.zip(entries, method: ["a/data.pkl": 8]), path: "deflated.pth")
        }
        assertCheckpointError(["compressed (method 14)"]) {
            _ = try ZipArchive(data: Files.zip(entries, method: ["a/version": 14]), path: "lzma.pth")
        }
        // Encrypted: set the flag bit in the central directory entry of the first file.
        var data = [UInt8](Files.zip(entries))
        if let start = (0..<(data.count - 4)).first(where: { data[$0] == 0x50 && data[$0 + 1] == 0x4B && data[$0 + 2] == 1 && data[$0 + 3] == 2 }) {
            data[start + 8] |= 1
        }
        assertCheckpointError(["encrypted"]) { _ = try ZipArchive(data: Data(data), path: "locked.pth") }
    }

    func testZipDirectoryOffsetsAreChecked() throws {
        let good = [UInt8](Files.zip(Files.pthEntries(archiveName: "a", pickle: [0x80, 0x02, 0x7D, 0x2E])))
        let end = good.count - 22
        // Central directory offset beyond the archive.
        var badOffset = good
        badOffset[end + 16] = 0xFF; badOffset[end + 17] = 0xFF; badOffset[end + 18] = 0xFF; badOffset[end + 19] = 0x7F
        assertCheckpointError(["central directory"]) { _ = try ZipArchive(data: Data(badOffset), path: "z.pth") }
        // An entry count the directory cannot hold.
        var badCount = good
        badCount[end + 10] = 0xFE; badCount[end + 11] = 0xFF
        assertCheckpointError(["entries"]) { _ = try ZipArchive(data: Data(badCount), path: "z.pth") }
        // An entry whose size runs past the end.
        var badSize = good
        if let start = (0..<(good.count - 4)).first(where: { good[$0] == 0x50 && good[$0 + 1] == 0x4B && good[$0 + 2] == 1 && good[$0 + 3] == 2 }) {
            for k in 20..<28 { badSize[start + k] = 0x7F }
        }
        assertCheckpointError(["runs past"]) { _ = try ZipArchive(data: Data(badSize), path: "z.pth") }
        // Not a checkpoint at all: a zip without data.pkl.
        assertCheckpointError(["no data.pkl"]) {
            _ = try PyTorchCheckpointReader(data: Files.zip([("readme.txt", Array("hi".utf8))]), path: "plain.zip")
        }
    }

    func testTorchZip64EndRecordsAreRead() throws {
        // torch.save writes zip64 end records even for small files; the fixture has them.
        let data = try Data(contentsOf: Files.repoRoot.appendingPathComponent("Fixtures/checkpoints/tiny_linear_opset11.pth"))
        let bytes = [UInt8](data)
        XCTAssertTrue((0..<(bytes.count - 4)).contains { bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 6 && bytes[$0 + 3] == 6 })
        let archive = try ZipArchive(data: data, path: "zip64.pth")
        XCTAssertEqual(archive.entries.count, 71)
        XCTAssertNotNil(archive.entry(named: "tiny_linear_opset11/data.pkl"))
    }

    /// Damaged copies of real checkpoints (bytes flipped where the structure is: pickle, zip
    /// directory, safetensors header) either load or throw a ConvNeXtError; none may crash.
    func testDamagedCheckpointsNeverCrash() throws {
        var seed: UInt64 = 0x5EED
        func next() -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: seed >> 33)
        }
        let trials = Int(ProcessInfo.processInfo.environment["CHECKPOINT_DAMAGE_TRIALS"] ?? "") ?? 600
        for name in ["tiny_opset11.pth", "tiny_linear_opset11.safetensors"] {
            let original = try Data(contentsOf: Files.repoRoot.appendingPathComponent("Fixtures/checkpoints/\(name)"))
            var loaded = 0, refused = 0
            for trial in 0..<trials {
                var data = original
                let flips = 1 + next() % 3
                for _ in 0..<flips {
                    // Half the flips in the first 7 KB (pickle / header), half in the last 5 KB (zip directory).
                    let region = trial % 2 == 0 ? 0 ..< min(7000, data.count) : max(0, data.count - 5000) ..< data.count
                    let at = region.lowerBound + next() % region.count
                    data[at] = UInt8(truncatingIfNeeded: next())
                }
                do {
                    _ = try CheckpointImporter.load(data: data, path: name, inputSize: 64)
                    loaded += 1
                } catch is ConvNeXtError {
                    refused += 1
                }
            }
            XCTAssertEqual(loaded + refused, trials)
            XCTAssertGreaterThan(refused, trials / 6, "\(name): damage is rarely detected")
        }
    }

    // MARK: model shapes

    func testStateDictsThatAreNotConvNeXtAreRefused() throws {
        let config = ConvNeXtConfig(depths: [1, 1, 1, 1], dims: [8, 8, 16, 16], blockForm: .linearMLP, numClasses: 4)
        let dict = Files.stateDict(of: ConvNeXtModel.random(config: config, seed: 1))

        // ConvNeXt-V2 adds GRN parameters the model has no place for.
        let v2 = dict + [Files.PthTensor(name: "stages.0.blocks.0.mlp.grn.weight", shape: [1, 1, 1, 32], values: [Float](repeating: 0, count: 32))]
        let v2Path = try Files.temporaryFile(Files.safetensors(stateDict: v2), name: "v2.safetensors")
        assertCheckpointError([v2Path, "grn"]) { _ = try ModelLoader.load(path: v2Path) }

        // A wrong shape names the tensor.
        let wrong = dict.map { $0.name == "stages.1.blocks.0.norm.bias" ? Files.PthTensor(name: $0.name, shape: [3], values: [0, 0, 0]) : $0 }
        let wrongPath = try Files.temporaryFile(Files.pth(wrong), name: "wrong-shape.pth")
        assertCheckpointError([wrongPath, "stages.1.blocks.0.norm.bias", "[3]"]) { _ = try ModelLoader.load(path: wrongPath) }

        // A missing tensor is named.
        let missing = dict.filter { $0.name != "head.fc.bias" }
        let missingPath = try Files.temporaryFile(Files.pth(missing), name: "missing.pth")
        assertCheckpointError([missingPath, "head.fc.bias"]) { _ = try ModelLoader.load(path: missingPath) }

        // Some other network entirely.
        let resnet = [Files.PthTensor(name: "conv1.weight", shape: [2, 3, 1, 1], values: [Float](repeating: 0, count: 6))]
        let resnetPath = try Files.temporaryFile(Files.pth(resnet), name: "resnet.pth")
        assertCheckpointError([resnetPath, "not a timm ConvNeXt", "conv1.weight"]) { _ = try ModelLoader.load(path: resnetPath) }
    }

    func testLegacyPicklePthIsRefusedClearly() throws {
        let path = try Files.temporaryFile(Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]),
                                           name: "legacy.pth")
        assertCheckpointError([path, "legacy"]) { _ = try ModelLoader.load(path: path) }
    }
}
