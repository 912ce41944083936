import Foundation

/// File reading with size limits, and writing that never leaves a half-written file.
///
/// Reads accept regular files only (after following symlinks): a device, FIFO or socket could be
/// endless or block forever, so it is refused with one line before any byte is read, and no read
/// takes more than its limit + 1 byte even when a file grows while it is read.
///
/// Writes go to a regular file by a temporary file beside it, renamed over it when complete; a
/// symlink is followed (the link stays, its target gets the new content); a character device or
/// FIFO (`/dev/null`, a pipe to another process) is written in place with errors reported, never
/// replaced; block devices, sockets and folders are refused.
public enum FileIO {
    /// Reads a whole regular file, refusing files larger than `maxBytes`.
    public static func read(path: String, maxBytes: Int = 4 << 30) throws -> Data {
        let fd = try openRegularFile(path: path)
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, Int(info.st_size) > maxBytes {
            throw ConvNeXtError.io(path: path, reason: "file is \(info.st_size) bytes, more than the \(maxBytes) allowed")
        }
        // One byte more than allowed tells a file that grew past the limit from one that fits.
        let limit = maxBytes + 1
        var data = Data(count: Swift.min(limit, Swift.max(0, Int(info.st_size)) + 1))
        var filled = 0
        while filled < limit {
            if filled == data.count { data.count = Swift.min(limit, Swift.max(data.count * 2, 1 << 16)) }
            let n = data.withUnsafeMutableBytes { buffer in
                Foundation.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ConvNeXtError.io(path: path, reason: "read failed: \(describeErrno(errno))")
            }
            if n == 0 { break }
            filled += n
        }
        if filled > maxBytes {
            throw ConvNeXtError.io(path: path, reason: "file is more than the \(maxBytes) bytes allowed")
        }
        data.count = filled
        return data
    }

    /// Opens `path` for reading when it is a regular file (symlinks followed); throws one line otherwise.
    /// The caller closes the descriptor.
    public static func openRegularFile(path: String) throws -> Int32 {
        guard !path.isEmpty else { throw ConvNeXtError.io(path: "\"\"", reason: "empty file name") }
        // Non-blocking, so a FIFO with no writer cannot block the open; fstat then refuses it.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw ConvNeXtError.io(path: path, reason: code == ENOENT ? "no such file" : "cannot open for reading: \(describeErrno(code))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw ConvNeXtError.io(path: path, reason: "cannot read: \(describeErrno(code))")
        }
        guard kind(of: info.st_mode) == .regular else {
            close(fd)
            let what = kind(of: info.st_mode)
            if what == .directory { throw ConvNeXtError.io(path: path, reason: "is a directory, expected a file") }
            throw ConvNeXtError.io(path: path, reason: "is \(what.description), not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Reads at most `count` bytes from the start of a regular file; nil when it cannot be opened.
    public static func head(path: String, count: Int) -> Data? {
        guard let fd = try? openRegularFile(path: path) else { return nil }
        defer { close(fd) }
        var data = Data(count: count)
        let n = data.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, count) }
        guard n >= 0 else { return nil }
        data.count = n
        return data
    }

    /// Writes `data` to `path` (see the type's summary for special files). A failure leaves neither
    /// a partial file nor a damaged previous file.
    public static func writeAtomically(path: String, data: Data) throws {
        try writeAllAtomically([(path, data)])
    }

    /// Writes several files all or nothing: every regular-file output goes to its temporary file
    /// first, and only when all of them (and any in-place device or FIFO writes) succeeded are they
    /// renamed into place. On failure the temporary files are removed and no final file changes.
    public static func writeAllAtomically(_ files: [(path: String, data: Data)]) throws {
        var staged: [(temp: String, final: String, slot: Int?)] = []
        var inPlace: [(path: String, display: String, data: Data)] = []
        defer {
            // Whatever is still staged here was not renamed: remove it.
            for s in staged {
                unlink(s.temp)
                TemporaryFiles.unregister(s.slot)
            }
        }
        for file in files {
            switch try destination(of: file.path) {
            case .replace(let final):
                let temp = TemporaryFiles.path(beside: final)
                let slot = TemporaryFiles.register(temp)
                staged.append((temp, final, slot))
                try writeNewFile(temp: temp, final: final, display: file.path, data: file.data)
            case .inPlace(let target):
                inPlace.append((target, file.path, file.data))
            }
        }
        for target in inPlace { try writeInPlace(path: target.path, display: target.display, data: target.data) }
        if TemporaryFiles.pauseBeforeRename > 0, !staged.isEmpty { Thread.sleep(forTimeInterval: TemporaryFiles.pauseBeforeRename) }
        while let s = staged.first {
            if rename(s.temp, s.final) != 0 {
                throw ConvNeXtError.io(path: s.final, reason: "cannot replace file: \(describeErrno(errno))")
            }
            TemporaryFiles.unregister(s.slot)
            staged.removeFirst()
        }
    }

    // MARK: - Destinations

    /// Where bytes for an output path go.
    enum Destination: Equatable {
        /// A regular file (new or existing) at this path, replaced by rename.
        case replace(String)
        /// An existing character device or FIFO at this path, written in place.
        case inPlace(String)
    }

    /// Follows symlinks (at most 40, like the kernel) to the node an output path names, and decides how
    /// to write it.
    static func destination(of path: String) throws -> Destination {
        guard !path.isEmpty else { throw ConvNeXtError.io(path: "\"\"", reason: "empty output file name") }
        var current = path
        for _ in 0..<40 {
            var info = stat()
            if lstat(current, &info) != 0 {
                let code = errno
                guard code == ENOENT else { throw ConvNeXtError.io(path: path, reason: "cannot write: \(describeErrno(code))") }
                try checkNewFile(current, display: path)
                return .replace(current)
            }
            switch kind(of: info.st_mode) {
            case .symlink:
                current = try readLink(current, display: path)
            case .regular:
                return .replace(current)
            case .characterDevice, .fifo:
                return .inPlace(current)
            case .directory:
                throw ConvNeXtError.io(path: path, reason: "is a directory, expected a file name")
            case let other:
                throw ConvNeXtError.io(path: path, reason: "is \(other.description); refusing to write to it")
            }
        }
        throw ConvNeXtError.io(path: path, reason: "too many levels of symbolic links (a link loop?)")
    }

    /// The path a symlink points to, relative targets resolved against the link's folder.
    private static func readLink(_ link: String, display: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(link, &buffer, 4096)
        guard n >= 0 else { throw ConvNeXtError.io(path: display, reason: "cannot read the symbolic link: \(describeErrno(errno))") }
        let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("/") { return target }
        let folder = folderPart(of: link)
        return folder == "." ? target : folder + "/" + target
    }

    /// The folder part of a path: everything before the last `/` ("." for a bare name, "/" at the root).
    /// Plain string work: Foundation's path helpers are not used on user-given paths.
    public static func folderPart(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = path[..<slash]
        return folder.isEmpty ? "/" : String(folder)
    }

    /// The name part of a path: everything after the last `/`.
    public static func namePart(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Checks that a file can be created at `path`: its folder exists and its name fits.
    private static func checkNewFile(_ path: String, display: String) throws {
        if path.hasSuffix("/") { throw ConvNeXtError.io(path: display, reason: "is a folder name (ends with /), expected a file name") }
        let name = namePart(of: path)
        if name.utf8.count > 255 {
            throw ConvNeXtError.io(path: display, reason: "file name is \(name.utf8.count) bytes, more than the 255 a file system allows")
        }
        let folder = folderPart(of: path)
        var info = stat()
        guard stat(folder, &info) == 0, kind(of: info.st_mode) == .directory else {
            throw ConvNeXtError.io(path: display, reason: "folder \(folder) does not exist")
        }
    }

    /// Creates `temp` (beside `final`) holding `data`, flushed to disk. Keeps an existing file's permissions.
    private static func writeNewFile(temp: String, final: String, display: String, data: Data) throws {
        TemporaryFiles.removeStale(in: folderPart(of: final))
        var existing = stat()
        let keepMode = stat(final, &existing) == 0 ? existing.st_mode & 0o7777 : nil
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw ConvNeXtError.io(path: display, reason: "cannot create a file beside it: \(describeErrno(errno))") }
        var closed = false
        defer { if !closed { close(fd) } }
        if let keepMode { _ = fchmod(fd, keepMode) }
        try writeAll(fd: fd, data: data, display: display)
        if fsync(fd) != 0, errno != EINVAL {
            throw ConvNeXtError.io(path: display, reason: "cannot write: \(describeErrno(errno))")
        }
        closed = true
        if close(fd) != 0 { throw ConvNeXtError.io(path: display, reason: "cannot write: \(describeErrno(errno))") }
    }

    /// Writes into an existing character device or FIFO without replacing it.
    private static func writeInPlace(path: String, display: String, data: Data) throws {
        // Non-blocking open: a FIFO nobody reads fails at once (ENXIO) instead of waiting forever.
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENXIO { throw ConvNeXtError.io(path: display, reason: "is a FIFO with no reader; nothing was written") }
            throw ConvNeXtError.io(path: display, reason: "cannot open for writing: \(describeErrno(code))")
        }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        try writeAll(fd: fd, data: data, display: display)
    }

    /// Writes every byte of `data`, retrying short writes and EINTR.
    private static func writeAll(fd: Int32, data: Data, display: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, Swift.min(buffer.count - offset, 1 << 24))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ConvNeXtError.io(path: display, reason: "cannot write: \(describeErrno(errno))")
                }
                if n == 0 { throw ConvNeXtError.io(path: display, reason: "cannot write: the device accepts no more data") }
                offset += n
            }
        }
    }

    // MARK: - File kinds and errors

    /// What kind of node a `st_mode` describes.
    enum NodeKind: Equatable, CustomStringConvertible {
        case regular, directory, symlink, characterDevice, blockDevice, fifo, socket, unknown

        var description: String {
            switch self {
            case .regular: return "a regular file"
            case .directory: return "a directory"
            case .symlink: return "a symbolic link"
            case .characterDevice: return "a character device"
            case .blockDevice: return "a block device"
            case .fifo: return "a FIFO (named pipe)"
            case .socket: return "a socket"
            case .unknown: return "an unknown kind of file"
            }
        }
    }

    static func kind(of mode: mode_t) -> NodeKind {
        switch mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFCHR: return .characterDevice
        case S_IFBLK: return .blockDevice
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        default: return .unknown
        }
    }

    /// A Foundation file or stream error in words: its POSIX cause when it has one, else the meaning
    /// of its Cocoa code, never a bare "NSCocoaErrorDomain error 512".
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return describeErrno(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return describeErrno(Int32(underlying.code))
        }
        guard ns.domain == NSCocoaErrorDomain else { return ns.localizedDescription }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device (disk full)"
        case NSFileWriteVolumeReadOnlyError: return "read-only file system"
        case NSFileWriteFileExistsError: return "a file of that name exists"
        case NSFileReadCorruptFileError: return "the file is corrupt"
        case NSFileReadInapplicableStringEncodingError, NSFileWriteInapplicableStringEncodingError: return "not valid text in the expected encoding"
        case NSFileReadUnknownError: return "cannot read (unknown error)"
        case NSFileWriteUnknownError: return "cannot write (unknown error)"
        case NSPropertyListReadCorruptError: return "the data is not in the expected format"
        default: return "file error \(ns.code)"
        }
    }

    /// A POSIX error in words, with the common ones phrased for users.
    public static func describeErrno(_ code: Int32) -> String {
        switch code {
        case ENOSPC: return "no space left on the device (disk full)"
        case EDQUOT: return "disk quota exceeded"
        case EACCES, EPERM: return "permission denied"
        case EROFS: return "read-only file system"
        case ENAMETOOLONG: return "file name too long"
        case ELOOP: return "too many levels of symbolic links (a link loop?)"
        case EPIPE: return "the reader closed the pipe"
        default: return String(cString: strerror(code))
        }
    }
}
