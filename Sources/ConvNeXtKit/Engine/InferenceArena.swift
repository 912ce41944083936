import Foundation

/// Scratch memory for one inference at a time, and the thread team that runs it.
///
/// Feature maps are NHWC with a zero border of 3 pixels (written once, never touched), two
/// per stage (block input and output alternate). Each team member has its own chunk buffers.
final class InferenceArena: @unchecked Sendable {
    let threads: Int
    /// Per stage: the two padded maps.
    let maps: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)]
    /// Per stage: float offset of each pixel in a padded map.
    let offsets: [UnsafeMutablePointer<Int>]
    /// im2col rows of the stem and the downsamples (shared; members write disjoint rows).
    let im2col: UnsafeMutablePointer<Float>
    /// Per member: normalised dwconv output of a chunk, and its hidden (fc1) activations.
    let normed: [UnsafeMutablePointer<Float>]
    let hidden: [UnsafeMutablePointer<Float>]
    let pooled: UnsafeMutablePointer<Float>
    let headOutput: UnsafeMutablePointer<Float>
    /// Per-kind nanoseconds while profiling (member 0 only).
    let profileSink: UnsafeMutablePointer<UInt64>
    var profiling = false

    /// The current inference's input and output, set before the team runs.
    var input: UnsafePointer<Float>?
    var logits: UnsafeMutablePointer<Float>?
    private(set) var team: WorkerTeam?
    private let floatBuffers: [AlignedBuffer<Float>]
    private let intBuffers: [AlignedBuffer<Int>]
    private let sinkBuffer: AlignedBuffer<UInt64>

    init(plan: FastPlan, threads: Int) {
        self.threads = threads
        var floats: [AlignedBuffer<Float>] = []
        var ints: [AlignedBuffer<Int>] = []
        func floatBuffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = AlignedBuffer<Float>(count: n)
            floats.append(b)
            return b.pointer
        }
        var maps: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)] = []
        var offsets: [UnsafeMutablePointer<Int>] = []
        var im2colCount = plan.stages[0].pixels * plan.stem.conv.k
        var normedCount = 16, hiddenCount = 16
        for stage in plan.stages {
            maps.append((floatBuffer(stage.mapCount), floatBuffer(stage.mapCount)))
            let table = AlignedBuffer<Int>(count: stage.pixels)
            ints.append(table)
            for p in 0..<stage.pixels { table.pointer[p] = stage.offset(ofPixel: p) }
            offsets.append(table.pointer)
            if let d = stage.downsample { im2colCount = max(im2colCount, stage.pixels * d.conv.k) }
            normedCount = max(normedCount, stage.chunk * stage.layout.paddedChannels)
            hiddenCount = max(hiddenCount, stage.chunk * stage.hiddenPadded)
        }
        self.maps = maps
        self.offsets = offsets
        im2col = floatBuffer(im2colCount)
        normed = (0..<threads).map { _ in floatBuffer(normedCount) }
        hidden = (0..<threads).map { _ in floatBuffer(hiddenCount) }
        pooled = floatBuffer(plan.head.layout.paddedChannels)
        headOutput = floatBuffer(plan.head.fc.paddedN)
        sinkBuffer = AlignedBuffer<UInt64>(count: LayerKind.allCases.count)
        profileSink = sinkBuffer.pointer
        floatBuffers = floats
        intBuffers = ints
        if threads > 1 {
            team = WorkerTeam(size: threads) { [plan, unowned(unsafe) self] index in
                plan.forward(part: index, arena: self)
            }
        }
    }

    deinit { team?.stop() }

    /// Runs the current input through the plan on the whole team.
    func run(plan: FastPlan) {
        if let team { team.run() } else { plan.forward(part: 0, arena: self) }
    }
}
