import Foundation

/// Where calibration samples come from.
public enum CalibrationSource: Sendable, Equatable {
    /// Raw NCHW tensors, one sample per file (numpy `tofile`), in a folder searched recursively.
    /// float32 samples are in the pixel domain (0...255) unless norm_type is no_preprocess;
    /// for nv12 input_type_rt they are still RGB/BGR planes of input_type_train, not NV12.
    case rawTensors(directory: String, dataType: CompileConfig.CalibrationDataType)
    /// Image files in a folder searched recursively, decoded by the `imageLoader` given to `load`.
    case images(directory: String)
    /// Seeded random samples (calibration_type skip): uniform 0...255 pixels for image inputs,
    /// standard normal values for feature maps.
    case random(count: Int, seed: UInt64)

    /// Chooses the source for a config: random for `skip`, images when every file in
    /// cal_data_dir is an image, raw tensors otherwise.
    public static func detect(_ config: CompileConfig, randomCount: Int = 8) throws -> CalibrationSource {
        if config.calibration.calibrationType == .skip { return .random(count: randomCount, seed: 0) }
        guard let dir = config.calibration.dataDir else {
            throw ConvNeXtError.invalidConfig(path: config.path, reason: "calibration_parameters.cal_data_dir is missing")
        }
        let files = try CalibrationData.listFiles(directory: dir)
        let images = files.filter(CalibrationData.isImage)
        if !images.isEmpty, images.count == files.count { return .images(directory: dir) }
        if let image = images.first {
            throw ConvNeXtError.invalidInput(path: image, reason: "calibration folder \(dir) mixes images and raw tensors; keep one kind")
        }
        return .rawTensors(directory: dir, dataType: config.calibration.dataType)
    }
}

/// Calibration samples as the float model's input tensors, and the files they came from.
public struct CalibrationSet: Sendable {
    public var tensors: [Tensor]
    /// One file per tensor (empty for random samples).
    public var files: [String]
    public var warnings: [String]
    /// `float32`, `uint8`, `images` or `random`.
    public var kind: String
}

/// Loads calibration data: lists folders, checks every file's size, converts pixels to the
/// float model's input with `(x - mean) * scale` per channel.
public enum CalibrationData {
    /// File extensions treated as images.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "ppm", "pgm", "webp", "tif", "tiff", "gif"]
    /// More files than this is refused (hb_mapper's guidance is about 100 samples).
    public static let defaultMaxSamples = 2000

    /// Decodes one image file into the float model's input tensor (NCHW, batch 1), applying the
    /// preprocessing the config describes. The image helper's decoder plugs in here.
    public typealias ImageLoader = @Sendable (_ path: String, _ inputShape: [Int], _ preprocessing: DeployedPreprocessing) throws -> Tensor

    static func isImage(_ path: String) -> Bool {
        imageExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// Deepest folder nesting `listFiles` descends into.
    public static let maxFolderDepth = 64

    /// Every non-hidden file under `directory`, recursively, sorted by relative path. Symbolic links are
    /// followed, to files and to folders (as `eval` does); a folder reached twice through links (a link
    /// loop) is refused with one line, as are broken links and entries that are not regular files or
    /// folders (FIFOs, devices), rather than calibrating silently on fewer samples.
    public static func listFiles(directory: String) throws -> [String] {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        let rootPath = root.hasSuffix("/") ? root : root + "/"
        var relative: [String] = []
        var visited: Set<[UInt64]> = []
        func walk(_ folder: String, prefix: String, depth: Int) throws {
            var info = stat()
            guard stat(folder, &info) == 0 else {
                throw ConvNeXtError.io(path: folder, reason: "cannot list the folder: \(FileIO.describeErrno(errno))")
            }
            guard visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else {
                throw ConvNeXtError.invalidInput(path: folder, reason: "a symbolic link loop: this folder is reached twice")
            }
            guard depth <= maxFolderDepth else {
                throw ConvNeXtError.invalidInput(path: folder, reason: "calibration folders nest deeper than \(maxFolderDepth) levels")
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: folder)
            } catch {
                throw ConvNeXtError.io(path: folder, reason: "cannot list the folder")
            }
            for name in names where !name.hasPrefix(".") {
                let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
                var entry = stat()
                guard stat(path, &entry) == 0 else {
                    let code = errno
                    var link = stat()
                    if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK {
                        throw ConvNeXtError.invalidInput(path: path, reason: "a broken symbolic link (\(FileIO.describeErrno(code)))")
                    }
                    throw ConvNeXtError.io(path: path, reason: "cannot read: \(FileIO.describeErrno(code))")
                }
                switch entry.st_mode & S_IFMT {
                case S_IFDIR: try walk(path, prefix: prefix + name + "/", depth: depth + 1)
                case S_IFREG: relative.append(prefix + name)
                default: throw ConvNeXtError.invalidInput(path: path, reason: "is not a regular file or folder (a FIFO, socket or device)")
                }
            }
        }
        try walk(root, prefix: "", depth: 0)
        return relative.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { rootPath + $0 }
    }

    /// Loads every sample of `source` as the float model's input of `inputShape` (NCHW, batch 1).
    /// Errors name the file; `progress` gets (loaded, total).
    public static func load(_ source: CalibrationSource, inputShape: [Int], preprocessing: DeployedPreprocessing,
                            maxSamples: Int = defaultMaxSamples, imageLoader: ImageLoader? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws -> CalibrationSet {
        let count = inputShape.reduce(1, *)
        let channels = inputShape.count == 4 ? inputShape[1] : 1
        switch source {
        case .random(let n, let seed):
            var rng = SeededGenerator(seed: seed)
            var tensors: [Tensor] = []
            for i in 0..<n {
                var data: [Float]
                if preprocessing.normType == .noPreprocess {
                    data = (0..<count).map { _ in rng.normal() }
                } else {
                    data = (0..<count).map { _ in Float(rng.next() % 256) }
                    preprocessing.normalise(&data, channels: channels)
                }
                tensors.append(Tensor(shape: inputShape, data: data))
                progress?(i + 1, n)
            }
            return CalibrationSet(tensors: tensors, files: [], warnings: [], kind: "random")

        case .images(let dir):
            let files = try listFiles(directory: dir)
            try checkCount(files.count, dir: dir, maxSamples: maxSamples)
            guard let imageLoader else {
                throw ConvNeXtError.usage("\(dir): calibration from image files is not supported in this build yet; write raw NCHW tensors (numpy tofile) instead")
            }
            var tensors: [Tensor] = []
            for (i, file) in files.enumerated() {
                let t = try imageLoader(file, inputShape, preprocessing)
                guard t.count == count else {
                    throw ConvNeXtError.invalidInput(path: file, reason: "decoded to \(t.count) values, the model input needs \(count)")
                }
                if let bad = t.data.firstIndex(where: { !$0.isFinite }) {
                    throw ConvNeXtError.invalidInput(path: file, reason: "value \(bad) becomes \(t.data[bad]) after norm_type \(preprocessing.normType.rawValue) (mean_value, scale_value); calibration data must stay finite")
                }
                tensors.append(Tensor(shape: inputShape, data: t.data))
                progress?(i + 1, files.count)
            }
            return CalibrationSet(tensors: tensors, files: files, warnings: [], kind: "images")

        case .rawTensors(let dir, let dataType):
            let files = try listFiles(directory: dir)
            try checkCount(files.count, dir: dir, maxSamples: maxSamples)
            let expected = count * dataType.byteWidth
            let shapeText = inputShape.map(String.init).joined(separator: "x")
            var tensors: [Tensor] = []
            var low = Float.infinity, high = -Float.infinity
            for (i, file) in files.enumerated() {
                // stat follows symlinks (attributesOfItem would give the link's own size).
                var info = stat()
                let size = stat(file, &info) == 0 ? Int(info.st_size) : -1
                guard size == expected else {
                    var reason = "calibration file holds \(size) bytes, expected \(expected) (\(dataType.rawValue) NCHW \(shapeText))"
                    let other: CompileConfig.CalibrationDataType = dataType == .float32 ? .uint8 : .float32
                    if size == count * other.byteWidth { reason += "; it has the size of \(other.rawValue) data: set cal_data_type: \(other.rawValue)" }
                    throw ConvNeXtError.invalidInput(path: file, reason: reason)
                }
                let bytes = try FileIO.read(path: file, maxBytes: expected)
                guard bytes.count == expected else {
                    throw ConvNeXtError.invalidInput(path: file, reason: "read \(bytes.count) bytes, expected \(expected)")
                }
                var data: [Float]
                switch dataType {
                case .float32:
                    data = floatsFromLittleEndian(bytes)
                    if let bad = data.firstIndex(where: { !$0.isFinite }) {
                        throw ConvNeXtError.invalidInput(path: file, reason: "value \(bad) is \(data[bad]); calibration data must be finite")
                    }
                case .uint8:
                    data = bytes.map { Float($0) }
                }
                for v in data {
                    low = Swift.min(low, v)
                    high = Swift.max(high, v)
                }
                preprocessing.normalise(&data, channels: channels)
                if let bad = data.firstIndex(where: { !$0.isFinite }) {
                    throw ConvNeXtError.invalidInput(path: file, reason: "value \(bad) becomes \(data[bad]) after norm_type \(preprocessing.normType.rawValue) (mean_value, scale_value); calibration data must stay finite")
                }
                tensors.append(Tensor(shape: inputShape, data: data))
                progress?(i + 1, files.count)
            }
            var warnings: [String] = []
            if dataType == .float32, preprocessing.normType != .noPreprocess, low < 0 || high <= 8 {
                warnings.append("\(dir): calibration values span \(low)...\(high), not the 0...255 pixel domain that norm_type \(preprocessing.normType.rawValue) expects; were they normalised already?")
            }
            return CalibrationSet(tensors: tensors, files: files, warnings: warnings, kind: dataType.rawValue)
        }
    }

    private static func checkCount(_ n: Int, dir: String, maxSamples: Int) throws {
        guard n > 0 else { throw ConvNeXtError.invalidInput(path: dir, reason: "the calibration folder holds no files") }
        guard n <= maxSamples else {
            throw ConvNeXtError.invalidInput(path: dir, reason: "the calibration folder holds \(n) files, more than the \(maxSamples) this tool loads (about 100 are enough)")
        }
    }
}
