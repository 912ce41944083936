import Foundation

/// How long idle worker threads (`WorkerTeam`) spin before they yield or sleep.
///
/// Spinning keeps wake-up latency far below a futex round trip (a layer phase takes tens of
/// microseconds), at the price of burning the cores between phases. `CONVNEXT_SPIN=0` (or `off`)
/// turns spinning off: waits yield or sleep at once, for machines shared with other work.
enum WorkerSpinPolicy {
    /// Read once from `CONVNEXT_SPIN`.
    static let enabled: Bool = {
        guard let value = getenv("CONVNEXT_SPIN").map({ String(cString: $0).lowercased() }) else { return true }
        return !["0", "off", "false", "no"].contains(value)
    }()

    /// Spins before yielding inside an inference (barriers, waiting for helpers).
    static var busySpins: Int { enabled ? 20_000 : 0 }
    /// Spins before sleeping between inferences.
    static var idleSpins: Int { enabled ? 200_000 : 0 }
}
