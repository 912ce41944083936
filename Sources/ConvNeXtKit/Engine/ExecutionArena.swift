import CConvNeXtKernels
import Foundation

/// Per-thread scratch of a GEMM call: float tiles before a shared epilogue (quantised outputs of
/// float layers), the row offsets of a fused float store, and the bf16-rounded A rows of a bf16
/// layer (nil when the program has none).
struct GEMMScratch {
    let floats: UnsafeMutablePointer<Float>
    let rowOffsets: UnsafeMutablePointer<Int>
    let bf16: UnsafeMutablePointer<UInt16>?
}

/// Scratch memory of one inference at a time, and the thread team that runs it: the runtime's one
/// arena type, for every precision.
///
/// Feature maps are NHWC with a zero border of 3 pixels, two per stage (block input and output
/// alternate); the borders are zeroed once here and never written, so an inference clears nothing.
final class ExecutionArena: @unchecked Sendable {
    let threads: Int
    /// Per stage: the two padded maps.
    let maps: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)]
    /// Per thread: float chunk (dwconv output, stem output), A (GEMM input), H (hidden), GEMM scratch.
    let chunkFloat: [UnsafeMutablePointer<Float>]
    let chunkA: [UnsafeMutableRawPointer]
    let chunkH: [UnsafeMutableRawPointer]
    let gemmScratch: [GEMMScratch]
    /// Next chunk of the running phase (threads take chunks atomically).
    let chunkCounter: UnsafeMutablePointer<Int32>
    /// The thread team of this arena (threads > 1), running one parallel phase at a time.
    private var team: WorkerTeam?
    /// The running phase's body and part count, set before the team runs and cleared after.
    private var phase: ((Int) -> Void)?
    private var phaseParts = 0
    /// Nanoseconds per layer kind of part 0 (the calling thread) while profiling.
    let profileSink: UnsafeMutablePointer<UInt64>
    private var watch = Stopwatch(sink: nil)
    private var allocations: [UnsafeMutableRawPointer] = []

    init(plan: ExecutionPlan, threads: Int) {
        self.threads = threads
        var allocations: [UnsafeMutableRawPointer] = []
        func raw(_ bytes: Int) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: max(bytes, 64))
            allocations.append(p)
            return p
        }
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> { raw(count * 4).assumingMemoryBound(to: Float.self) }
        let geometries = plan.stages.map(\.geometry)
        maps = geometries.map { (floats($0.paddedFloats), floats($0.paddedFloats)) }
        chunkFloat = (0..<threads).map { _ in floats(plan.chunkFloatCount) }
        chunkA = (0..<threads).map { _ in raw(plan.chunkABytes) }
        chunkH = (0..<threads).map { _ in raw(plan.chunkHBytes) }
        let bf16Elements = plan.gemmScratchBF16Elements
        gemmScratch = (0..<threads).map { _ in
            GEMMScratch(floats: floats(plan.gemmScratchFloats),
                        rowOffsets: raw(plan.maxChunkPixels * MemoryLayout<Int>.stride).assumingMemoryBound(to: Int.self),
                        bf16: bf16Elements > 0 ? raw(bf16Elements * 2).assumingMemoryBound(to: UInt16.self) : nil)
        }
        chunkCounter = raw(4).assumingMemoryBound(to: Int32.self)
        profileSink = raw(LayerKind.allCases.count * 8).assumingMemoryBound(to: UInt64.self)
        self.allocations = allocations
        if threads > 1 {
            team = WorkerTeam(size: threads) { [unowned(unsafe) self] index in
                if index < self.phaseParts { self.phase?(index) }
            }
        }
    }

    /// Starts (or, with false, stops) timing the next inference into `profileSink`.
    func startProfile(_ on: Bool) {
        if on { profileSink.update(repeating: 0, count: LayerKind.allCases.count) }
        watch = Stopwatch(sink: on ? profileSink : nil)
    }

    /// Adds part 0's CPU time since its previous lap to `kind`; other parts and unprofiled runs do nothing.
    @inline(__always)
    func lap(_ kind: LayerKind, part: Int) {
        if part == 0 { watch.lap(kind) }
    }

    /// Runs `body(part)` for parts 0..<parts (at most `threads`) on the team, the caller as part 0,
    /// and returns when all are done.
    func parallel(_ parts: Int, _ body: (Int) -> Void) {
        guard let team, parts > 1 else {
            for part in 0..<max(parts, 1) { body(part) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            phase = escapable
            phaseParts = min(parts, threads)
            team.run()
            phase = nil
            phaseParts = 0
        }
    }

    deinit {
        team?.stop()
        allocations.forEach { $0.deallocate() }
    }
}

/// Runs `body(thread)` for threads 0..<threads on concurrent threads and waits for all: for
/// coarse work outside an inference (calibration), where threads start once per call.
func parallel(_ threads: Int, _ body: (Int) -> Void) {
    guard threads > 1 else { return body(0) }
    /// The body outlives no call: concurrentPerform returns when every iteration has.
    struct Body: @unchecked Sendable { let run: (Int) -> Void }
    withoutActuallyEscaping(body) { escapable in
        let box = Body(run: escapable)
        DispatchQueue.concurrentPerform(iterations: threads) { box.run($0) }
    }
}
