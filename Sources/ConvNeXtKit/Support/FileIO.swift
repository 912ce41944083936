import Foundation

/// File reading with size limits, and atomic writing (temp file in the same folder, then rename).
public enum FileIO {
    /// Reads a whole file, refusing files larger than `maxBytes`.
    public static func read(path: String, maxBytes: Int = 4 << 30) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ConvNeXtError.io(path: path, reason: "no such file")
        }
        guard !isDir.boolValue else { throw ConvNeXtError.io(path: path, reason: "is a directory, expected a file") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = (attributes?[.size] as? NSNumber)?.intValue, size > maxBytes {
            throw ConvNeXtError.io(path: path, reason: "file is \(size) bytes, more than the \(maxBytes) allowed")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConvNeXtError.io(path: path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw ConvNeXtError.io(path: path, reason: "read failed: \(error.localizedDescription)")
        }
    }

    /// Writes `data` to a temporary file beside `path`, then renames it over `path`.
    /// A failure leaves neither a partial file nor a damaged previous file.
    public static func writeAtomically(path: String, data: Data) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ConvNeXtError.io(path: path, reason: "folder \(dir.path) does not exist")
        }
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: temp.path, contents: data) else {
            throw ConvNeXtError.io(path: path, reason: "cannot write (permission denied or disk full)")
        }
        if rename(temp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw ConvNeXtError.io(path: path, reason: "cannot replace file: \(reason)")
        }
    }
}
