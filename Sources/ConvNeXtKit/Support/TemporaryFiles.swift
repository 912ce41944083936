import Foundation

/// The temporary files this process is writing, so that SIGINT and SIGTERM can remove them, and
/// the naming that lets a later run recognise (and remove) the ones a killed process left behind.
///
/// Every temporary file is named `.<name>.convnext-tmp-<pid>-<random>` beside its final file. The
/// signal handler only calls async-signal-safe functions (`unlink`, `write`, `_exit`) on a table of
/// fixed-size C strings allocated once, so it never touches Swift collections or the allocator.
public enum TemporaryFiles {
    /// The part of a temporary file's name that marks it as ours.
    public static let marker = ".convnext-tmp-"
    /// How many temporary files can be registered at once (writes beyond it still work, but would
    /// not be removed by a signal; the next run removes them instead).
    static let slotCount = 64
    /// Bytes per slot, including the terminating NUL (Linux `PATH_MAX`).
    static let slotBytes = 4096

    private static let table = Table()

    /// Fixed storage the signal handler can read without locks or allocation.
    private final class Table: @unchecked Sendable {
        let paths: UnsafeMutablePointer<CChar>
        let used: UnsafeMutablePointer<Int32>
        let lock = NSLock()
        var installed = false

        init() {
            paths = .allocate(capacity: TemporaryFiles.slotCount * TemporaryFiles.slotBytes)
            paths.initialize(repeating: 0, count: TemporaryFiles.slotCount * TemporaryFiles.slotBytes)
            used = .allocate(capacity: TemporaryFiles.slotCount)
            used.initialize(repeating: 0, count: TemporaryFiles.slotCount)
        }
    }

    /// A temporary path beside `final` (same folder, so a rename is atomic), with a recognisable name.
    /// Long names are shortened so the temporary name stays within the 255-byte limit.
    public static func path(beside final: String) -> String {
        var name = FileIO.namePart(of: final)
        while name.utf8.count > 150 { name.removeLast() }
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let folder = FileIO.folderPart(of: final)
        return (folder == "/" ? "" : folder) + "/.\(name)\(marker)\(getpid())-\(random)"
    }

    /// Remembers `path` for removal on a signal; returns the slot for `unregister`, or nil when the
    /// table is full or the path too long (then only the next run's stale-file sweep removes it).
    @discardableResult
    public static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard bytes.count < slotBytes else { return nil }
        table.lock.lock()
        defer { table.lock.unlock() }
        for slot in 0..<slotCount where table.used[slot] == 0 {
            let start = table.paths + slot * slotBytes
            for (i, b) in bytes.enumerated() { start[i] = CChar(bitPattern: b) }
            start[bytes.count] = 0
            table.used[slot] = 1
            return slot
        }
        return nil
    }

    /// Forgets a registered path (after it was renamed into place or removed).
    public static func unregister(_ slot: Int?) {
        guard let slot, slot >= 0, slot < slotCount else { return }
        table.lock.lock()
        table.used[slot] = 0
        table.lock.unlock()
    }

    /// Removes every registered file now (for exits that bypass the normal error paths).
    public static func removeAll() {
        table.lock.lock()
        defer { table.lock.unlock() }
        for slot in 0..<slotCount where table.used[slot] != 0 {
            unlink(table.paths + slot * slotBytes)
            table.used[slot] = 0
        }
    }

    /// Installs SIGINT and SIGTERM handlers (once per process) that remove the registered files, print
    /// `error: interrupted` on stderr and exit with 128 + the signal number. SIGPIPE is ignored, so a
    /// FIFO or pipe whose reader goes away is a write error, not a silent death.
    public static func installSignalHandlers() {
        table.lock.lock()
        defer { table.lock.unlock() }
        guard !table.installed else { return }
        table.installed = true
        _ = table.paths  // allocated before any handler can run
        signal(SIGPIPE, SIG_IGN)
        for signalNumber in [SIGINT, SIGTERM] {
            let previous = signal(signalNumber, TemporaryFiles.handleSignal)
            // A signal the parent ignores (nohup, a background job of a non-interactive shell) stays ignored.
            if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                signal(signalNumber, SIG_IGN)
            }
        }
    }

    /// Seconds to wait between writing a temporary file and renaming it, from the environment variable
    /// `CONVNEXT_TEST_PAUSE_BEFORE_RENAME`: a test seam, so tests can signal a process mid-write. 0 when unset.
    static let pauseBeforeRename: Double = {
        guard let text = ProcessInfo.processInfo.environment["CONVNEXT_TEST_PAUSE_BEFORE_RENAME"],
              let seconds = Double(text), seconds > 0, seconds <= 60 else { return 0 }
        return seconds
    }()

    /// The handler itself: async-signal-safe calls only.
    private static let handleSignal: @convention(c) (Int32) -> Void = { signalNumber in
        let paths = TemporaryFiles.table.paths, used = TemporaryFiles.table.used
        for slot in 0..<TemporaryFiles.slotCount where used[slot] != 0 {
            unlink(paths + slot * TemporaryFiles.slotBytes)
        }
        let message: StaticString = "\nerror: interrupted; unfinished output files were removed\n"
        let skipNewline = isatty(STDERR_FILENO) == 0 ? 1 : 0
        _ = write(STDERR_FILENO, message.utf8Start + skipNewline, message.utf8CodeUnitCount - skipNewline)
        _exit(128 + signalNumber)
    }

    /// Removes temporary files in `folder` left by processes of ours that no longer run (killed with
    /// SIGKILL, or a power cut). Files of live processes are left alone: they may be writing now.
    @discardableResult
    public static func removeStale(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: marker, options: .backwards) else { continue }
            let pidText = name[range.upperBound...].split(separator: "-").first.map(String.init) ?? ""
            guard let pid = Int32(pidText), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH {
                let path = (folder == "/" ? "" : folder) + "/" + name
                if unlink(path) == 0 { removed.append(name) }
            }
        }
        return removed
    }
}
