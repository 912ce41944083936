import ConvNeXtKit
import Foundation
import XCTest

/// Builders for small checkpoint files crafted inside tests: safetensors, stored zip archives,
/// and pickles of state dicts, written byte by byte the way the real writers lay them out.
enum CheckpointTestFiles {
    /// The repository root (three levels above this file).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `../shared/fixtures` beside the repository, when present.
    static var sharedFixtures: URL? {
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Folder of this test process's crafted files.
    static let temporaryFolder = FileManager.default.temporaryDirectory.appendingPathComponent("convnextkit-checkpoint-tests-\(getpid())")

    /// A new file holding `data` in `temporaryFolder` (removed when a test class finishes).
    static func temporaryFile(_ data: Data, name: String) throws -> String {
        let dir = temporaryFolder
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    // MARK: safetensors

    /// One tensor for a crafted safetensors file: raw bytes, with offsets chosen by the writer
    /// unless given.
    struct SafetensorsTensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
        var offsets: (Int, Int)? = nil
    }

    /// A safetensors file; `metadata` adds a `__metadata__` entry.
    static func safetensors(_ tensors: [SafetensorsTensor], metadata: [String: String]? = nil) -> Data {
        var entries: [String] = []
        var payload: [UInt8] = []
        if let metadata {
            let items = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        for t in tensors {
            let begin = payload.count
            payload += t.bytes
            let (b, e) = t.offsets ?? (begin, payload.count)
            entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(b),\(e)]}")
        }
        let header = Array("{\(entries.joined(separator: ","))}".utf8)
        var out = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        out.append(contentsOf: payload)
        return out
    }

    /// float32 values as little-endian bytes.
    static func f32Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// 16-bit patterns as little-endian bytes.
    static func u16Bytes(_ values: [UInt16]) -> [UInt8] {
        values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    // MARK: zip

    /// A zip archive of stored entries; `method` overrides the compression method field of entry
    /// names in it (the data stays as given).
    static func zip(_ files: [(name: String, data: [UInt8])], method: [String: UInt16] = [:]) -> Data {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: UInt16, _ buffer: inout [UInt8]) { buffer += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32, _ buffer: inout [UInt8]) { for i in 0..<4 { buffer.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        for file in files {
            let name = Array(file.name.utf8)
            let crc = crc32(file.data)
            let offset = UInt32(out.count)
            let m = method[file.name] ?? 0
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(m, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(file.data.count), &out); u32(UInt32(file.data.count), &out)
            u16(UInt16(name.count), &out); u16(0, &out)
            out += name
            out += file.data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(m, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central)
            u32(UInt32(file.data.count), &central); u32(UInt32(file.data.count), &central)
            u16(UInt16(name.count), &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central)
            central += name
        }
        let directoryOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out)
        u16(UInt16(files.count), &out); u16(UInt16(files.count), &out)
        u32(UInt32(central.count), &out); u32(directoryOffset, &out); u16(0, &out)
        return Data(out)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    // MARK: pickle

    /// Emits pickle opcodes as torch.save lays out a state dict (protocol 2).
    struct Pickle {
        var bytes: [UInt8] = [0x80, 0x02]

        mutating func op(_ code: UInt8) { bytes.append(code) }

        mutating func string(_ s: String) {
            let utf8 = Array(s.utf8)
            op(0x58)
            for i in 0..<4 { bytes.append(UInt8((utf8.count >> (8 * i)) & 0xFF)) }
            bytes += utf8
        }

        mutating func int(_ n: Int) {
            op(0x4A)
            let v = UInt32(bitPattern: Int32(n))
            for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) }
        }

        mutating func global(_ module: String, _ name: String) {
            op(0x63)
            bytes += Array("\(module)\n\(name)\n".utf8)
        }

        mutating func intTuple(_ values: [Int]) {
            op(0x28)
            for v in values { int(v) }
            op(0x74)
        }

        /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
        mutating func tensor(storageType: String, key: String, storageElements: Int, offset: Int, shape: [Int], strides: [Int]) {
            global("torch._utils", "_rebuild_tensor_v2")
            op(0x28)
            op(0x28)
            string("storage")
            global("torch", storageType)
            string(key)
            string("cpu")
            int(storageElements)
            op(0x74)
            op(0x51) // BINPERSID
            int(offset)
            intTuple(shape)
            intTuple(strides)
            op(0x89)
            global("collections", "OrderedDict")
            op(0x29)
            op(0x52)
            op(0x74)
            op(0x52)
        }

        mutating func stop() { op(0x2E) }
    }

    /// One tensor of a crafted `.pth` state dict, a contiguous float32 storage of its own.
    struct PthTensor {
        var name: String
        var shape: [Int]
        var values: [Float]
    }

    /// A `.pth` archive (torch.save layout) holding `tensors` as a state dict, optionally wrapped
    /// under `wrapper` next to an `epoch` entry.
    /// With `ordered`, the state dict is pickled as `model.state_dict()` is: an OrderedDict whose
    /// `_metadata` attribute dict arrives by BUILD after the items.
    static func pth(_ tensors: [PthTensor], wrapper: String? = nil, ordered: Bool = false, archiveName: String = "archive") -> Data {
        var p = Pickle()
        if let wrapper {
            p.op(0x7D); p.op(0x28)
            p.string("epoch"); p.int(3)
            p.string(wrapper)
        }
        if ordered {
            p.global("collections", "OrderedDict")
            p.op(0x71); p.op(0) // BINPUT 0
            p.op(0x29); p.op(0x52) // EMPTY_TUPLE, REDUCE
        } else {
            p.op(0x7D) // EMPTY_DICT
        }
        p.op(0x28) // MARK
        var files: [(name: String, data: [UInt8])] = []
        for (i, t) in tensors.enumerated() {
            p.string(t.name)
            var strides = [Int](repeating: 1, count: t.shape.count)
            if t.shape.count > 1 {
                for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
            }
            p.tensor(storageType: "FloatStorage", key: "\(i)", storageElements: t.values.count, offset: 0, shape: t.shape, strides: strides)
            files.append(("\(archiveName)/data/\(i)", f32Bytes(t.values)))
        }
        p.op(0x75) // SETITEMS
        if ordered {
            // {'_metadata': OrderedDict([('', {'version': 1})])}, then BUILD.
            p.op(0x7D)
            p.string("_metadata")
            p.op(0x68); p.op(0) // BINGET 0: collections.OrderedDict
            p.op(0x29); p.op(0x52)
            p.string("")
            p.op(0x7D); p.string("version"); p.int(1); p.op(0x73)
            p.op(0x73) // SETITEM into _metadata
            p.op(0x73) // SETITEM into the state
            p.op(0x62) // BUILD
        }
        if wrapper != nil { p.op(0x75) }
        p.stop()
        return zip(pthEntries(archiveName: archiveName, pickle: p.bytes) + files)
    }

    /// data.pkl plus the small files torch.save writes beside it.
    static func pthEntries(archiveName: String, pickle: [UInt8]) -> [(name: String, data: [UInt8])] {
        [("\(archiveName)/data.pkl", pickle),
         ("\(archiveName)/byteorder", Array("little".utf8)),
         ("\(archiveName)/version", Array("3\n".utf8))]
    }

    // MARK: state dicts

    /// The timm state dict of `model`: names, shapes, values (fc weights 4-D for the conv-MLP form).
    static func stateDict(of model: ConvNeXtModel) -> [PthTensor] {
        var out: [PthTensor] = []
        func conv(_ name: String, _ c: Conv2D) {
            out.append(PthTensor(name: name + ".weight", shape: [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel], values: c.weight))
            out.append(PthTensor(name: name + ".bias", shape: [c.outChannels], values: c.bias))
        }
        func norm(_ name: String, _ n: LayerNorm) {
            out.append(PthTensor(name: name + ".weight", shape: [n.channels], values: n.weight))
            out.append(PthTensor(name: name + ".bias", shape: [n.channels], values: n.bias))
        }
        func linear(_ name: String, _ l: Linear, fourD: Bool) {
            out.append(PthTensor(name: name + ".weight", shape: fourD ? [l.outFeatures, l.inFeatures, 1, 1] : [l.outFeatures, l.inFeatures], values: l.weight))
            out.append(PthTensor(name: name + ".bias", shape: [l.outFeatures], values: l.bias))
        }
        let fourD = model.config.blockForm == .convMLP
        conv("stem.0", model.stem.conv)
        norm("stem.1", model.stem.norm)
        for (s, stage) in model.stages.enumerated() {
            if let down = stage.downsample {
                norm("stages.\(s).downsample.0", down.norm)
                conv("stages.\(s).downsample.1", down.conv)
            }
            for (b, block) in stage.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                conv(p + ".conv_dw", block.dwConv)
                norm(p + ".norm", block.norm)
                linear(p + ".mlp.fc1", block.fc1, fourD: fourD)
                linear(p + ".mlp.fc2", block.fc2, fourD: fourD)
                if let g = block.layerScale { out.append(PthTensor(name: p + ".gamma", shape: [g.count], values: g)) }
            }
        }
        norm("head.norm", model.head.norm)
        linear("head.fc", model.head.fc, fourD: false)
        return out
    }

    /// The state dict as an F32 safetensors file.
    static func safetensors(stateDict: [PthTensor]) -> Data {
        safetensors(stateDict.map { SafetensorsTensor(name: $0.name, dtype: "F32", shape: $0.shape, bytes: f32Bytes($0.values)) })
    }

    /// Every weight of a model in a fixed order, for exact comparisons.
    static func allWeights(_ model: ConvNeXtModel) -> [[Float]] {
        stateDict(of: model).map(\.values)
    }
}

/// Asserts that `body` throws a one-line ``ConvNeXtError`` whose message contains each of `fragments`.
func assertCheckpointError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch let error as ConvNeXtError {
        let message = error.description
        XCTAssertFalse(message.contains("\n"), "error is not one line: \(message)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(message.contains(fragment), "'\(message)' does not mention '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a ConvNeXtError, got \(error)", file: file, line: line)
    }
}
