import Foundation

/// Reads the state dict of a PyTorch `.pth` file in the zip format `torch.save` writes:
/// `<archive>/data.pkl` (the pickled dict, read by the restricted ``PickleReader``) and one
/// `<archive>/data/<key>` entry of raw little-endian bytes per storage.
///
/// Checkpoints that wrap the state dict (`state_dict`, `model`, `state_dict_ema`, `model_ema`,
/// tried in that order) are unwrapped. Every tensor view (storage offset, shape, strides) is
/// checked against its storage when the file is opened.
public struct PyTorchCheckpointReader: CheckpointTensorSource, Sendable {
    public let path: String
    public var format: String { "pth" }
    public let tensors: [String: CheckpointTensorInfo]
    /// The wrapper key that held the state dict, or nil for a bare state dict.
    public let stateDictKey: String?
    private let views: [String: View]
    private let archive: ZipArchive

    /// Wrapper keys under which training scripts store the state dict, in the order tried.
    public static let wrapperKeys = ["state_dict", "model", "state_dict_ema", "model_ema"]

    /// Where one tensor's elements are in its storage entry.
    private struct View: Sendable {
        var entry: ZipArchive.Entry
        var dtype: CheckpointDType
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    /// Opens the archive, unpickles the state dict and validates every tensor view.
    public init(data: Data, path: String) throws {
        self.path = path
        func invalid(_ reason: String) -> ConvNeXtError { .invalidModel(path: path, reason: reason) }
        let archive = try ZipArchive(data: data, path: path)
        self.archive = archive

        // torch.save names every entry `<archive name>/...`; data.pkl sits at the top of that folder.
        let pickles = archive.entries.filter {
            $0.name == "data.pkl" || ($0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2)
        }
        guard let pickleEntry = pickles.first else {
            throw invalid("zip archive has no data.pkl: not a PyTorch checkpoint written by torch.save")
        }
        guard pickleEntry.size <= 1 << 28 else { throw invalid("\(pickleEntry.name) is \(pickleEntry.size) bytes, too large") }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try archive.contents(of: order), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else {
                throw ConvNeXtError.unsupportedModel(path: path, reason: "checkpoint byte order is '\(text)'; only little-endian is read")
            }
        }

        var unpickler = PickleReader(path: path, entryName: pickleEntry.name, bytes: [UInt8](try archive.contents(of: pickleEntry)))
        let root = try unpickler.read()
        guard case .dict(let rootDict) = root else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "\(pickleEntry.name) holds a \(root.kind), expected a state dict")
        }
        var stateDict = rootDict
        var wrapper: String?
        for key in Self.wrapperKeys {
            if case .dict(let inner)? = rootDict[key], Self.tensorCount(inner) > 0 {
                stateDict = inner
                wrapper = key
                break
            }
        }
        stateDictKey = wrapper

        var tensors: [String: CheckpointTensorInfo] = [:]
        var views: [String: View] = [:]
        for (key, value) in stateDict.entries {
            guard case .string(let name) = key, case .tensor(let tensor) = value else { continue }
            let storage = tensor.storage
            let entryName = prefix + "data/" + storage.key
            guard let entry = archive.entry(named: entryName) else {
                throw invalid("tensor '\(name)' refers to storage '\(storage.key)', but the archive has no \(entryName) (truncated?)")
            }
            guard entry.size >= storage.elementCount * storage.dtype.byteSize else {
                throw invalid("storage \(entryName) holds \(entry.size) bytes, less than its \(storage.elementCount) \(storage.dtype.rawValue) elements")
            }
            guard let count = CheckpointLimits.elementCount(tensor.shape) else {
                throw invalid("tensor '\(name)' has an impossible shape \(tensor.shape)")
            }
            guard tensor.offset >= 0, tensor.strides.allSatisfy({ $0 >= 0 }) else {
                throw invalid("tensor '\(name)' has a negative storage offset or stride")
            }
            if count > 0 {
                // The last element addressed must lie inside the storage.
                var last = tensor.offset
                for (size, stride) in zip(tensor.shape, tensor.strides) {
                    let (step, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
                    let (sum, overflow2) = last.addingReportingOverflow(step)
                    guard !overflow1, !overflow2 else { throw invalid("tensor '\(name)' strides overflow") }
                    last = sum
                }
                guard last < storage.elementCount else {
                    throw invalid("tensor '\(name)' (offset \(tensor.offset), size \(tensor.shape), stride \(tensor.strides)) reaches past its \(storage.elementCount)-element storage")
                }
            }
            tensors[name] = CheckpointTensorInfo(shape: tensor.shape, dtype: storage.dtype)
            views[name] = View(entry: entry, dtype: storage.dtype, offset: tensor.offset, shape: tensor.shape, strides: tensor.strides)
        }
        guard !tensors.isEmpty else {
            let keys = rootDict.entries.compactMap { if case .string(let s) = $0.key { return s } else { return nil } }
            throw ConvNeXtError.unsupportedModel(path: path,
                reason: "no tensors found in the checkpoint (top-level keys: \(keys.prefix(8).joined(separator: ", ")))")
        }
        self.tensors = tensors
        self.views = views
    }

    private static func tensorCount(_ dict: PickleDict) -> Int {
        dict.entries.reduce(0) { count, entry in
            if case .tensor = entry.value { return count + 1 }
            return count
        }
    }

    /// The values of tensor `name` converted to float32, gathered through its strides.
    public func floats(_ name: String) throws -> [Float] {
        guard let view = views[name] else { throw ConvNeXtError.invalidModel(path: path, reason: "no tensor '\(name)'") }
        guard view.dtype.isFloat else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "tensor '\(name)' has dtype \(view.dtype.rawValue), expected a float type")
        }
        return try archive.withContents(of: view.entry) { raw in
            CheckpointDecoding.strided(raw, offset: view.offset, shape: view.shape, strides: view.strides, dtype: view.dtype)
        }
    }
}
