import Foundation

/// Draws download progress on one terminal line (stderr): name, bar, percent, MB, MB/s.
///
/// Redraws at most ten times a second. When the output is not a terminal it draws nothing,
/// so logs and captured stderr hold only real messages.
public final class DownloadProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let output: FileHandle
    private let enabled: Bool
    private var lastDraw: Double = -1
    private var drawn = false

    /// Draws on `output` when `enabled` (default: when stderr is a terminal).
    public init(output: FileHandle = .standardError, enabled: Bool = isatty(STDERR_FILENO) != 0) {
        self.output = output
        self.enabled = enabled
    }

    /// Takes one progress report.
    public func update(_ progress: DownloadProgress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        switch progress.phase {
        case .downloading:
            guard progress.elapsed - lastDraw >= 0.1 || lastDraw < 0 else { return }
            lastDraw = progress.elapsed
            write("\r" + Self.line(for: progress) + "\u{1B}[K")
            drawn = true
        case .verifying:
            write("\r" + Self.line(for: progress) + "  verifying\u{1B}[K")
            drawn = true
        case .done:
            write("\r" + Self.line(for: progress) + "\u{1B}[K\n")
            drawn = false
            lastDraw = -1
        case .failed:
            // Clear the bar so the error that follows stands on its own line.
            if drawn { write("\r\u{1B}[K") }
            drawn = false
            lastDraw = -1
        }
    }

    private func write(_ text: String) {
        try? output.write(contentsOf: Data(text.utf8))
    }

    /// `convnext_atto.d2_in1k [##########----------]  50%  7.4/14.8 MB  3.1 MB/s`
    public static func line(for p: DownloadProgress, width: Int = 24) -> String {
        let mb = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / 1e6) }
        let rate = p.elapsed > 0 ? Double(p.bytes) / 1e6 / p.elapsed : 0
        let speed = String(format: "%.1f MB/s", rate)
        guard let total = p.total, total > 0 else {
            return "\(p.label)  \(mb(p.bytes)) MB  \(speed)"
        }
        let fraction = min(max(Double(p.bytes) / Double(total), 0), 1)
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let percent = String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
        return "\(p.label) [\(bar)] \(percent)  \(mb(p.bytes))/\(mb(total)) MB  \(speed)"
    }
}
