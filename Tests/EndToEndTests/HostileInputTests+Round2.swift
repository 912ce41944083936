import ConvNeXtKit
import Foundation
import XCTest

/// Issue 14 ("hostile inputs, round 2"): special-file outputs, degenerate calibration values, signals
/// during writes, full disks, non-regular inputs, duplicate initializers, non-finite weights and
/// symlinked calibration data.
extension HostileInputTests {
    var isRoot: Bool { getuid() == 0 }

    /// A good input tensor for the tiny model, in the inputs folder.
    func tinyInputTensor() throws -> String { try input("in.f32", Data(count: 3 * 64 * 64 * 4)) }

    /// What kind of node `path` is, without following a symlink.
    func nodeType(_ path: String) -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & S_IFMT
    }

    // MARK: - Special-file outputs (item 1)

    func testOutputsOntoFIFOsDevicesAndSymlinksAreNeverReplaced() throws {
        let tensor = try tinyInputTensor()
        let model = Self.tinyModel
        let image = CLI.fixture("images/decode/rgb444.jpg")
        let fifo = inputs.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)

        // A FIFO nobody reads: refused at once (not a hang), still a FIFO afterwards.
        for args in [["infer", model, "--input-tensor", tensor, "--output-tensor", fifo],
                     ["pack", model, "--output", fifo],
                     ["preprocess", image, "--size", "64", "--output-nv12", fifo]] {
            let r = try expectCleanFailure(args, "FIFO without reader")
            XCTAssertTrue(r.stderr.contains("no reader"), r.stderr)
            XCTAssertEqual(nodeType(fifo), S_IFIFO, "the FIFO was replaced by \(args[0])")
        }

        // A FIFO with a reader gets the bytes streamed into it.
        let received = LockedData()
        let reader = Thread {
            let fd = open(fifo, O_RDONLY)
            guard fd >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                received.append(Data(buffer[0..<n]))
            }
            close(fd)
            received.finish()
        }
        reader.start()
        usleep(100_000)
        let streamed = try run(["infer", model, "--input-tensor", tensor, "--output-tensor", fifo])
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        XCTAssertTrue(received.waitFinished(seconds: 10))
        XCTAssertEqual(received.data.count, 40, "10 logits streamed into the FIFO")
        XCTAssertEqual(nodeType(fifo), S_IFIFO)

        // /dev/full: written in place, the error reported in one line, the device untouched.
        if FileManager.default.isWritableFile(atPath: "/dev/full") {
            for args in [["infer", model, "--input-tensor", tensor, "--output-tensor", "/dev/full"],
                         ["pack", model, "--output", "/dev/full"],
                         ["preprocess", image, "--size", "64", "--output-nv12", "/dev/full"]] {
                let r = try expectCleanFailure(args, "/dev/full")
                XCTAssertTrue(r.stderr.contains("/dev/full") && r.stderr.contains("no space left"), r.stderr)
            }
            XCTAssertEqual(nodeType("/dev/full"), S_IFCHR)
        } else {
            print("skipped the /dev/full part: /dev/full is not writable here")
        }

        // A character device of our own (root only): the null device, written in place, kept a device.
        let device = inputs.appendingPathComponent("null-device").path
        if isRoot, mknod(device, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 {
            for args in [["infer", model, "--input-tensor", tensor, "--output-tensor", device],
                         ["pack", model, "--output", device]] {
                let r = try run(args)
                XCTAssertEqual(r.status, 0, r.stderr)
                XCTAssertEqual(nodeType(device), S_IFCHR, "the device was replaced by \(args[0])")
            }
        } else {
            print("skipped the mknod part: creating a character device needs root")
        }

        // A symlink is followed: the link stays a link, its target gets the content.
        let target = inputs.appendingPathComponent("target.f32").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        let link = outputs.appendingPathComponent("link.f32").path
        XCTAssertEqual(symlink(target, link), 0)
        let linked = try run(["infer", model, "--input-tensor", tensor, "--output-tensor", "link.f32"])
        XCTAssertEqual(linked.status, 0, linked.stderr)
        XCTAssertEqual(nodeType(link), S_IFLNK)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)).count, 40)
        // A relative, dangling link creates its target; a link loop is one line.
        let relative = outputs.appendingPathComponent("rel.f32").path
        XCTAssertEqual(symlink("made-by-link.f32", relative), 0)
        XCTAssertEqual(try run(["infer", model, "--input-tensor", tensor, "--output-tensor", "rel.f32"]).status, 0)
        XCTAssertEqual(nodeType(relative), S_IFLNK)
        XCTAssertEqual(try Data(contentsOf: outputs.appendingPathComponent("made-by-link.f32")).count, 40)
        for name in try FileManager.default.contentsOfDirectory(atPath: outputs.path) {
            try FileManager.default.removeItem(at: outputs.appendingPathComponent(name))
        }
        let loop = inputs.appendingPathComponent("loop").path
        XCTAssertEqual(symlink(loop, loop), 0)
        let r = try expectCleanFailure(["infer", model, "--input-tensor", tensor, "--output-tensor", loop], "symlink loop")
        XCTAssertTrue(r.stderr.contains("symbolic links"), r.stderr)

        // Names that are no files: empty, too long, a folder.
        let empty = try expectCleanFailure(["pack", model, "--output", ""], "--output \"\"")
        XCTAssertTrue(empty.stderr.contains("empty output file name"), empty.stderr)
        let long = try expectCleanFailure(["pack", model, "--output", String(repeating: "a", count: 300)], "300-character name")
        XCTAssertTrue(long.stderr.contains("too long") || long.stderr.contains("more than the 255"), long.stderr)
        let folder = try expectCleanFailure(["pack", model, "--output", inputs.path], "a folder as output")
        XCTAssertTrue(folder.stderr.contains("is a directory"), folder.stderr)
    }

    // MARK: - Degenerate calibration values (items 2 and 3)

    func testDenormalTinyZeroAndConstantCalibrationValuesCompile() throws {
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        let cal = inputs.appendingPathComponent("cal")
        try FileManager.default.createDirectory(at: cal, withIntermediateDirectories: true)
        func calibrate(_ value: Float) throws {
            let floats = [Float](repeating: value, count: 3 * 64 * 64)
            try floats.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: cal.appendingPathComponent("0.f32"))
        }
        func expectCompiles(_ yaml: String, _ label: String) throws {
            let r = try run(["compile", try config(yaml)])
            XCTAssertFalse(r.timedOut, "hangs: \(label)")
            XCTAssertFalse(r.signalled, "traps: \(label): \(r.stderr)")
            XCTAssertEqual(r.status, 0, "\(label): \(r.stderr)")
            let model = outputs.appendingPathComponent("out/q.cnxk").path
            XCTAssertTrue(FileManager.default.fileExists(atPath: model), label)
            // The compiled model runs and gives finite logits.
            let tensor = try tinyInputTensor()
            let infer = try run(["infer", model, "--input-tensor", tensor, "--output-tensor", "l.f32"])
            XCTAssertEqual(infer.status, 0, "\(label): \(infer.stderr)")
            let logits = try RawFloats.read(outputs.appendingPathComponent("l.f32").path)
            XCTAssertTrue(logits.count == 10 && logits.allSatisfy(\.isFinite), "\(label): \(logits)")
            try FileManager.default.removeItem(at: outputs.appendingPathComponent("out"))
            try FileManager.default.removeItem(at: outputs.appendingPathComponent("l.f32"))
        }
        // 1e-37 trapped (1 / bin width overflowed), 1e-44 hung (bin width underflowed to 0).
        for value: Float in [1e-37, Float(bitPattern: 7) /* 9.8e-45, a denormal */, 0, 5] {
            try calibrate(value)
            for method in ["max", "kl"] {
                try expectCompiles(goodConfig().replacingOccurrences(of: "calibration_type: max", with: "calibration_type: \(method)"),
                                   "all \(value), \(method)")
            }
        }
        try calibrate(100)
        for scale in ["1e-38", "1e-45"] {
            let yaml = goodConfig().replacingOccurrences(
                of: "input_parameters: {input_type_rt: featuremap}",
                with: "input_parameters: {input_type_rt: featuremap, norm_type: data_mean_and_scale, mean_value: 0 0 0, scale_value: \(scale) \(scale) \(scale)}")
            try expectCompiles(yaml, "scale_value \(scale)")
        }
        // A scale that overflows the data to infinity is one line naming the file.
        let overflowing = goodConfig().replacingOccurrences(
            of: "input_parameters: {input_type_rt: featuremap}",
            with: "input_parameters: {input_type_rt: featuremap, norm_type: data_mean_and_scale, mean_value: 0 0 0, scale_value: 1e38 1e38 1e38}")
        let r = try expectCleanFailure(["compile", try config(overflowing)], "scale_value 1e38")
        XCTAssertTrue(r.stderr.contains("0.f32") && r.stderr.contains("finite"), r.stderr)
    }

    // MARK: - Signals during writes (item 4)

    func testSIGINTAndSIGTERMDuringWritesRemoveTemporaryFiles() throws {
        let tensor = try tinyInputTensor()
        let cases: [(args: [String], signal: Int32)] = [
            (["pack", Self.tinyModel, "--output", "m.cnxk"], SIGINT),
            (["infer", Self.tinyModel, "--input-tensor", tensor, "--output-tensor", "l.f32"], SIGTERM),
        ]
        for (args, signalNumber) in cases {
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = args
            process.currentDirectoryURL = outputs
            process.environment = ProcessInfo.processInfo.environment.merging(["CONVNEXT_TEST_PAUSE_BEFORE_RENAME": "20"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            let errPipe = Pipe()
            process.standardError = errPipe
            try process.run()
            var sawTemporary = false
            for _ in 0..<400 where !sawTemporary {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: outputs.path)) ?? []
                sawTemporary = names.contains { $0.contains(".convnext-tmp-") }
                if !sawTemporary { usleep(50_000) }
            }
            XCTAssertTrue(sawTemporary, "\(args[0]): the write should be under way")
            kill(process.processIdentifier, signalNumber)
            process.waitUntilExit()
            let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(process.terminationStatus, 128 + signalNumber, "\(args[0]): \(stderr)")
            XCTAssertTrue(stderr.contains("interrupted"), stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs.path), [], "\(args[0]): temporary file left")
        }

        // A temporary file of a process that died without cleaning up (SIGKILL) is removed by the next write
        // into the same folder; one of a live process is left alone.
        let dead = outputs.appendingPathComponent(".m.cnxk.convnext-tmp-999999999-1a2b").path
        let live = outputs.appendingPathComponent(".m.cnxk.convnext-tmp-\(getpid())-1a2b").path
        try Data("partial".utf8).write(to: URL(fileURLWithPath: dead))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: live))
        let r = try run(["pack", Self.tinyModel, "--output", "m.cnxk"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted(),
                       [".m.cnxk.convnext-tmp-\(getpid())-1a2b", "m.cnxk"])
    }

    // MARK: - Full disks (item 5)

    /// Mounts a small tmpfs (root only) and returns its path; skips with the reason otherwise.
    func smallDisk(kilobytes: Int) throws -> String {
        guard isRoot else { throw XCTSkip("the full-disk test mounts a tmpfs, which needs root") }
        let mountPoint = inputs.appendingPathComponent("disk").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", mountPoint]
        mount.standardError = FileHandle.nullDevice
        do {
            try mount.run()
            mount.waitUntilExit()
        } catch {
            throw XCTSkip("cannot run mount: \(error)")
        }
        guard mount.terminationStatus == 0 else { throw XCTSkip("mount -t tmpfs failed (no CAP_SYS_ADMIN in this container?)") }
        addTeardownBlock {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint]
            try? umount.run()
            umount.waitUntilExit()
        }
        return mountPoint
    }

    func testFullDiskWritesNothing() throws {
        let disk = try smallDisk(kilobytes: 96)
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("cal"), withIntermediateDirectories: true)
        _ = try input("cal/0.f32", Data(count: 3 * 64 * 64 * 4))
        // The reports (27 KB) fit, the 131 KB model does not: before, the reports were left behind.
        let yaml = goodConfig().replacingOccurrences(of: "working_dir: \(outputs.path)/out", with: "working_dir: \(disk)/out")
        let r = try expectCleanFailure(["compile", try config(yaml)], "compile onto a full disk")
        XCTAssertTrue(r.stderr.contains("disk full"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk), [], "compile left files on the full disk")
        let pack = try expectCleanFailure(["pack", Self.tinyModel, "--output", "\(disk)/m.cnxk"], "pack onto a full disk")
        XCTAssertTrue(pack.stderr.contains("m.cnxk") && pack.stderr.contains("disk full"), pack.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk), [])
    }

    // MARK: - Non-regular inputs (item 6)

    func testNonRegularAndEndlessInputsAreRefused() throws {
        let tensor = try tinyInputTensor()
        let fifo = inputs.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let image = CLI.fixture("images/decode/rgb444.jpg")
        for special in ["/dev/zero", fifo] {
            try expectModelRejected(special, special)
            try expectCleanFailure(["classify", Self.tinyModel, special], "image \(special)")
            try expectCleanFailure(["infer", Self.tinyModel, "--input-tensor", special, "--output-tensor", "l.f32"], "tensor \(special)")
            try expectCleanFailure(["compile", special], "config \(special)")
            try expectCleanFailure(["classify", Self.tinyModel, image, "--labels", special], "labels \(special)")
            try expectCleanFailure(["pack", Self.tinyModel, "--output", "m.cnxk", "--config", special], "pack config \(special)")
            let registry = try expectCleanFailure(["zoo"], "CONVNEXT_REGISTRY=\(special)", environment: ["CONVNEXT_REGISTRY": special])
            XCTAssertTrue(registry.stderr.contains("not a regular file"), registry.stderr)
        }
        _ = tensor
    }

    // MARK: - ONNX files ONNX Runtime refuses (item 7)

    /// Protobuf bytes: a varint.
    static func varint(_ value: UInt64) -> Data {
        var v = value, out = Data()
        repeat {
            var byte = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            out.append(byte)
        } while v != 0
        return out
    }

    /// Protobuf bytes: a length-delimited field.
    static func field(_ number: UInt64, _ payload: Data) -> Data {
        varint(number << 3 | 2) + varint(UInt64(payload.count)) + payload
    }

    /// The tiny model with one more float initializer `name` appended. Protobuf merges a repeated
    /// `graph` field into one graph, so the appended initializer joins the original ones.
    func onnxWithExtraInitializer(name: String, dims: [Int64], values: [Float]) throws -> Data {
        var tensor = Data()
        for d in dims { tensor += Self.varint(1 << 3) + Self.varint(UInt64(d)) }
        tensor += Self.varint(2 << 3) + Self.varint(1)  // data_type FLOAT
        tensor += Self.field(8, Data(name.utf8))
        tensor += Self.field(9, values.withUnsafeBufferPointer { Data(buffer: $0) })
        return try fixtureData("models/tiny_opset11.onnx") + Self.field(7, Self.field(5, tensor))
    }

    func testDuplicateONNXInitializersAreRefused() throws {
        let data = try onnxWithExtraInitializer(name: "stem.0.bias", dims: [8], values: [Float](repeating: 1, count: 8))
        let path = try input("duplicate.onnx", data)
        let r = try expectCleanFailure(["info", path], "duplicate initializer")
        XCTAssertTrue(r.stderr.contains("'stem.0.bias' is defined twice"), r.stderr)
        try expectModelRejected(path, "duplicate initializer")
    }

    // MARK: - Non-finite weights (item 8)

    /// The tiny safetensors checkpoint with `value` written into element 0 of tensor `name`.
    func safetensors(setting name: String, to value: Float) throws -> Data {
        var data = try fixtureData("checkpoints/tiny_opset11.safetensors")
        let headerLength = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let entry = try XCTUnwrap(header[name] as? [String: Any])
        let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
        let at = 8 + headerLength + offsets[0]
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(at..<(at + 4), with: $0) }
        return data
    }

    func testNonFiniteWeightsAreRefusedNamingTheTensor() throws {
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("cal"), withIntermediateDirectories: true)
        _ = try input("cal/0.f32", Data(count: 3 * 64 * 64 * 4))
        for (label, value) in [("inf", Float.infinity), ("nan", Float.nan)] {
            let path = try input("\(label).safetensors", try safetensors(setting: "stages.1.blocks.0.mlp.fc1.weight", to: value))
            let r = try expectCleanFailure(["info", path], "\(label) weight")
            XCTAssertTrue(r.stderr.contains("stages.1.blocks.0.mlp.fc1.weight") && r.stderr.contains("finite"), r.stderr)
            try expectModelRejected(path, "\(label) weight")
            let compile = try expectCleanFailure(["compile", try config(goodConfig(model: "\(label).safetensors"))], "compile \(label) weight")
            XCTAssertTrue(compile.stderr.contains("stages.1.blocks.0.mlp.fc1.weight"), compile.stderr)
        }
    }

    // MARK: - Symlinked calibration data (item 9)

    func testSymlinkedCalibrationDataIsFollowedAndLoopsRefused() throws {
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        let real = inputs.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        for i in 0..<3 {
            let floats = [Float](repeating: Float(i) * 0.5, count: 3 * 64 * 64)
            try floats.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: real.appendingPathComponent("\(i).f32"))
        }
        // A symlinked folder, a folder of symlinked files, and a mix: all three samples every time.
        XCTAssertEqual(symlink(real.path, inputs.appendingPathComponent("linked").path), 0)
        let files = inputs.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let mix = inputs.appendingPathComponent("mix")
        try FileManager.default.createDirectory(at: mix, withIntermediateDirectories: true)
        for i in 0..<3 {
            XCTAssertEqual(symlink(real.appendingPathComponent("\(i).f32").path, files.appendingPathComponent("\(i).f32").path), 0)
        }
        try FileManager.default.copyItem(at: real.appendingPathComponent("0.f32"), to: mix.appendingPathComponent("0.f32"))
        XCTAssertEqual(symlink("../real/1.f32", mix.appendingPathComponent("1.f32").path), 0)
        XCTAssertEqual(symlink(real.appendingPathComponent("2.f32").path, mix.appendingPathComponent("2.f32").path), 0)
        for dir in ["linked", "files", "mix"] {
            let r = try run(["compile", try config(goodConfig(calDir: dir))])
            XCTAssertEqual(r.status, 0, "\(dir): \(r.stderr)")
            let report = try String(contentsOf: outputs.appendingPathComponent("out/q_quant_report.json"), encoding: .utf8)
            XCTAssertTrue(report.contains("\"calibration_data_count\" : 3"), "\(dir): \(report.prefix(600))")
            try FileManager.default.removeItem(at: outputs.appendingPathComponent("out"))
        }
        // A link loop, and a broken link: one line each, naming the link.
        let loop = inputs.appendingPathComponent("loop")
        try FileManager.default.createDirectory(at: loop, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: real.appendingPathComponent("0.f32"), to: loop.appendingPathComponent("0.f32"))
        XCTAssertEqual(symlink(loop.path, loop.appendingPathComponent("self").path), 0)
        let looped = try expectCleanFailure(["compile", try config(goodConfig(calDir: "loop"))], "calibration link loop")
        XCTAssertTrue(looped.stderr.contains("loop"), looped.stderr)
        let broken = inputs.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        XCTAssertEqual(symlink("missing.f32", broken.appendingPathComponent("0.f32").path), 0)
        let dangling = try expectCleanFailure(["compile", try config(goodConfig(calDir: "broken"))], "broken calibration link")
        XCTAssertTrue(dangling.stderr.contains("broken symbolic link"), dangling.stderr)
    }
}

/// Bytes collected by a reader thread.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    private let done = DispatchSemaphore(value: 0)

    func append(_ more: Data) { lock.lock(); bytes += more; lock.unlock() }
    func finish() { done.signal() }
    func waitFinished(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
    var data: Data { lock.lock(); defer { lock.unlock() }; return bytes }
}

/// Should-fix: re-signed `.cnxk` files with inconsistent metadata, and messages that mislead.
extension HostileInputTests {
    /// Compiles the tiny model and returns the `.cnxk` bytes.
    func compiledTinyModel() throws -> Data {
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("cal"), withIntermediateDirectories: true)
        let floats = (0..<(3 * 64 * 64)).map { Float($0 % 255) / 255 }
        _ = try input("cal/0.f32", floats.withUnsafeBufferPointer { Data(buffer: $0) })
        let yaml = goodConfig().replacingOccurrences(of: "working_dir: \(outputs.path)/out", with: "working_dir: \(inputs.path)/out")
        let r = try run(["compile", try config(yaml)])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: inputs.appendingPathComponent("out/q.cnxk"))
    }

    /// `file` with its metadata JSON edited by `edit`, then re-signed (checksum and sizes valid).
    func resigned(_ file: Data, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let container = try DeploymentContainer.decode(file, path: "q.cnxk")
        var metadata = try XCTUnwrap(try JSONSerialization.jsonObject(with: container.metadata) as? [String: Any])
        edit(&metadata)
        let json = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
        return try DeploymentContainer(metadata: json, arrays: container.arrays).encoded()
    }

    func testResignedCompiledFilesWithInconsistentMetadataAreRefused() throws {
        let compiled = try compiledTinyModel()
        let tensor = try tinyInputTensor()
        func edited(_ key: String, _ field: String, _ value: Any) -> (inout [String: Any]) -> Void {
            { metadata in
                var section = metadata[key] as? [String: Any] ?? [:]
                section[field] = value
                metadata[key] = section
            }
        }
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("model.dims", edited("model", "dims", [16, 32, 64, 128]), "differs from the quantized model"),
            ("headNormEpsilon -1", edited("quantization", "headNormEpsilon", -1), "epsilon"),
            ("NV12 input_width 63", { metadata in
                edited("preprocessing", "input_width", 63)(&metadata)
                edited("preprocessing", "input_type_rt", "nv12")(&metadata)
            }, "input size 63x64"),
            ("crop_pct 7", edited("image_defaults", "crop_pct", 7), "image_defaults.crop_pct 7"),
        ]
        for (label, edit, expected) in cases {
            let path = try input("edited.cnxk", try resigned(compiled, edit))
            for args in [["info", path], ["infer", path, "--input-tensor", tensor, "--output-tensor", "l.f32"],
                         ["classify", path, CLI.fixture("images/decode/rgb444.jpg")]] {
                let r = try expectCleanFailure(args, "\(label) (\(args[0]))")
                XCTAssertTrue(r.stderr.contains(path) && r.stderr.contains(expected), "\(label) (\(args[0])): \(r.stderr)")
                XCTAssertFalse(r.stderr.contains("preprocessing flags"), r.stderr)
            }
        }
        // The unedited file, re-signed, still runs.
        let same = try input("same.cnxk", try resigned(compiled) { _ in })
        XCTAssertEqual(try run(["info", same]).status, 0)
    }

    func testSafetensorsWithABrokenHeaderLengthIsReportedAsSafetensors() throws {
        var data = try fixtureData("checkpoints/tiny_opset11.safetensors")
        data.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        for name in ["huge.safetensors", "huge.bin"] {
            let path = try input(name, data)
            let r = try expectCleanFailure(["info", path], "huge header length in \(name)")
            XCTAssertTrue(r.stderr.contains("safetensors header length"), r.stderr)
            XCTAssertFalse(r.stderr.contains("ONNX"), r.stderr)
        }
    }
}

extension HostileInputTests {
    func testRawFrameWithoutTheNV12FlagSuggestsIt() throws {
        let frame = try input("frame.nv12", Data(count: 64 * 64 * 3 / 2))
        let r = try expectCleanFailure(["classify", Self.tinyModel, frame], "NV12 frame without --nv12")
        XCTAssertTrue(r.stderr.contains("--nv12 WIDTHxHEIGHT"), r.stderr)
    }

    func testFoundationErrorsAreDescribedInWords() {
        let error = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteUnknownError,
                            userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))])
        XCTAssertEqual(FileIO.describe(error), "no space left on the device (disk full)")
        XCTAssertEqual(FileIO.describe(NSError(domain: NSCocoaErrorDomain, code: NSFileReadNoSuchFileError)), "no such file")
        XCTAssertFalse(FileIO.describe(NSError(domain: NSCocoaErrorDomain, code: 512)).contains("NSCocoaErrorDomain"))
    }
}

extension HostileInputTests {
    /// Was "permission denied or disk full"; it is a name too long for the file system.
    func testOverlongOutputPrefixIsNamedAsSuch() throws {
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("cal"), withIntermediateDirectories: true)
        _ = try input("cal/0.f32", Data(count: 3 * 64 * 64 * 4))
        let yaml = goodConfig().replacingOccurrences(of: "output_model_file_prefix: q",
                                                     with: "output_model_file_prefix: \(String(repeating: "p", count: 300))")
        let r = try expectCleanFailure(["compile", try config(yaml)], "300-character prefix")
        XCTAssertTrue(r.stderr.contains("too long"), r.stderr)
        XCTAssertFalse(r.stderr.contains("permission denied"), r.stderr)
    }
}

extension HostileInputTests {
    /// `info` on an NV12 int8 model printed "input: 1x3x64x64 (NCHW float32)".
    func testInfoShowsTheDeployedNV12Input() throws {
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: inputs.appendingPathComponent("model.onnx").path)
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("cal"), withIntermediateDirectories: true)
        let pixels = (0..<(3 * 64 * 64)).map { Float($0 % 256) }
        _ = try input("cal/0.f32", pixels.withUnsafeBufferPointer { Data(buffer: $0) })
        let yaml = goodConfig().replacingOccurrences(
            of: "input_parameters: {input_type_rt: featuremap}",
            with: "input_parameters: {input_type_rt: nv12, input_type_train: rgb, input_space_and_range: bt601_video, norm_type: data_mean_and_scale, mean_value: 123.675 116.28 103.53, scale_value: 0.01712475 0.017507 0.01742919}")
        let compiled = try run(["compile", try config(yaml)])
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        let r = try run(["info", outputs.appendingPathComponent("out/q.cnxk").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("input:       NV12 64x64 (6144 bytes"), r.stdout)
        XCTAssertTrue(r.stdout.contains("BT.601 video range") && r.stdout.contains("crop_pct"), r.stdout)
        XCTAssertFalse(r.stdout.contains("NCHW float32)"), r.stdout)
    }
}
