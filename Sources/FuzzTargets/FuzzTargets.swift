import ConvNeXtKit
import Foundation

/// libFuzzer entry points for every reader of untrusted files.
///
/// `scripts/fuzz` builds this target with `-sanitize=fuzzer,address -DFUZZING -parse-as-library`,
/// choosing the reader with `CONVNEXT_FUZZ_TARGET`. In a normal build it is a small tool that
/// replays files through a reader (to reproduce a finding): `FuzzTargets onnx crash-1234`.
enum FuzzTarget: String, CaseIterable {
    case onnx, cnxk, jpeg, png, yaml, safetensors, pth, nv12

    /// Feeds `data` to the reader; errors are the expected outcome for bad input, crashes are bugs.
    func run(_ data: Data) {
        switch self {
        case .onnx:
            _ = try? ONNXImporter.load(data: data, path: "fuzz.onnx")
        case .cnxk:
            // As given (header and checksum checks), then with the recorded size and SHA-256 footer
            // repaired so mutations reach the section, table and metadata parsers behind the checksum.
            Self.runDeployable(data)
            Self.runDeployable(Self.withRepairedChecksum(data))
        case .jpeg:
            _ = try? ImageDecoder.decode(data: data, path: "fuzz.jpg", applyExifOrientation: true)
        case .png:
            _ = try? ImageDecoder.decode(data: data, path: "fuzz.png")
        case .yaml:
            guard let text = String(data: data, encoding: .utf8) else { return }
            _ = try? CompileConfig.parse(yaml: text, path: "fuzz.yaml")
        case .safetensors:
            _ = try? CheckpointImporter.load(data: data, path: "fuzz.safetensors", inputSize: 32)
        case .pth:
            _ = try? CheckpointImporter.load(data: data, path: "fuzz.pth", inputSize: 32)
        case .nv12:
            Self.runNV12(data)
        }
    }

    /// The container reader, then the float model view the CLI builds from it.
    private static func runDeployable(_ data: Data) {
        if let deployable = try? DeployableModel.decode(data, path: "fuzz.cnxk") {
            _ = try? deployable.floatModel(path: "fuzz.cnxk")
        }
    }

    /// `data` with the header's file size (bytes 16..<24) and the trailing SHA-256 made consistent.
    private static func withRepairedChecksum(_ data: Data) -> Data {
        var bytes = [UInt8](data)
        guard bytes.count >= 128 else { return data }
        var size = UInt64(bytes.count).littleEndian
        withUnsafeBytes(of: &size) { for i in 0..<8 { bytes[16 + i] = $0[i] } }
        let digest = bytes.withUnsafeBytes { SHA256.digest(UnsafeRawBufferPointer(rebasing: $0[0..<(bytes.count - 32)])) }
        bytes.replaceSubrange((bytes.count - 32)..<bytes.count, with: digest)
        return Data(bytes)
    }

    /// First two bytes pick a small size (so odd, zero and mismatched sizes all occur); the rest is the frame.
    private static func runNV12(_ data: Data) {
        guard data.count >= 2 else { return }
        let width = Int(data[data.startIndex]) - 2
        let height = Int(data[data.startIndex + 1]) - 2
        let bytes = [UInt8](data.dropFirst(2))
        guard let frame = try? NV12Frame(width: width, height: height, bytes: bytes) else { return }
        let image = frame.rgbImage(range: .video, upsampling: .bilinear)
        _ = try? NV12Frame(rgb: image, range: .full)
    }
}

#if FUZZING
/// The reader under test, from the environment (read once).
nonisolated(unsafe) private var selectedTarget: FuzzTarget? = nil

/// libFuzzer's driver; SwiftPM names an executable's entry `FuzzTargets_main`, so we start it ourselves.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("FuzzTargets_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["CONVNEXT_FUZZ_TARGET"] ?? "onnx"
    guard let target = FuzzTarget(rawValue: name) else {
        print("unknown CONVNEXT_FUZZ_TARGET \(name)")
        return 2
    }
    selectedTarget = target
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { bytes, size in
        guard let bytes else { return 0 }
        selectedTarget?.run(Data(bytes: bytes, count: size))
        return 0
    }
}
#else
@main
struct FuzzReplay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count >= 2 else {
            print("usage: FuzzTargets \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
            return
        }
        for path in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                continue
            }
            target.run(data)
            print("\(path): ok")
        }
    }
}
#endif
