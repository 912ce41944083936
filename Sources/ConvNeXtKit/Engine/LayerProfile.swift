import Foundation

/// The layer kinds `convnext bench --profile` reports time for.
public enum LayerKind: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case stem, dwconv, norm, pointwise1, pointwise2, downsample, head, sync

    /// Short key for JSON output.
    public var key: String {
        switch self {
        case .stem: return "stem"
        case .dwconv: return "dwconv"
        case .norm: return "norm"
        case .pointwise1: return "pointwise1"
        case .pointwise2: return "pointwise2"
        case .downsample: return "downsample"
        case .head: return "head"
        case .sync: return "sync"
        }
    }

    public var description: String {
        switch self {
        case .stem: return "stem"
        case .dwconv: return "dwconv"
        case .norm: return "norm"
        case .pointwise1: return "pointwise 1"
        case .pointwise2: return "pointwise 2"
        case .downsample: return "downsample"
        case .head: return "head"
        case .sync: return "sync (waiting for other threads)"
        }
    }
}

/// Seconds spent per layer kind in one or more inferences: CPU time of the calling thread
/// (team member 0), so other processes on a busy machine do not inflate it.
public struct LayerProfile: Sendable, Equatable {
    public var seconds: [Double] = Array(repeating: 0, count: LayerKind.allCases.count)

    public init() {}

    public subscript(kind: LayerKind) -> Double {
        get { seconds[kind.rawValue] }
        set { seconds[kind.rawValue] = newValue }
    }

    public var total: Double { seconds.reduce(0, +) }

    public static func + (a: LayerProfile, b: LayerProfile) -> LayerProfile {
        var r = a
        for i in r.seconds.indices { r.seconds[i] += b.seconds[i] }
        return r
    }
}

/// An engine that can report where one inference spends its time (`convnext bench --profile`).
public protocol LayerProfiling: InferenceEngine {
    /// Runs one inference and returns the CPU time per layer kind seen by the calling thread.
    func inferProfiled(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>,
                       threads: Int) -> LayerProfile
    /// Times the model's pointwise layers as the engine runs them (`convnext bench --kernels`):
    /// one line per layer with its rate and its share of the kernel ISA's peak in `peaks`.
    func pointwiseReport(peaks: [ISA: Double]) -> String
}

extension LayerProfile {
    /// The profile held in `sink` (nanoseconds per kind).
    init(nanoseconds sink: UnsafePointer<UInt64>) {
        self.init()
        for kind in LayerKind.allCases { self[kind] = Double(sink[kind.rawValue]) * 1e-9 }
    }
}

/// Monotonic nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Adds the thread CPU time since the previous lap to a layer kind; does nothing when not
/// profiling. (A lap costs a system call, about 0.1-0.3 us; a profiled atto inference has ~400.)
struct Stopwatch {
    private let sink: UnsafeMutablePointer<UInt64>?
    private var last: UInt64

    init(sink: UnsafeMutablePointer<UInt64>?) {
        self.sink = sink
        last = sink == nil ? 0 : cpuNanoseconds()
    }

    @inline(__always)
    mutating func lap(_ kind: LayerKind) {
        guard let sink else { return }
        let now = cpuNanoseconds()
        sink[kind.rawValue] &+= now &- last
        last = now
    }
}

/// CPU time of the calling thread, in nanoseconds.
@inline(__always)
func cpuNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
