import CConvNeXtKernels
import Foundation

/// Runs a `QuantizedModel`: NHWC inside, Int32 accumulation, requantisation in the GEMM epilogues
/// (bias + GELU + quantise after fc1, bias + residual add after fc2), VNNI when the CPU has it.
///
/// Per block and per chunk of image rows (kept in cache): float depthwise 7x7 -> LayerNorm
/// normalise + quantise -> fc1 GEMM (+GELU, requantise) -> fc2 GEMM (+residual), so a block needs
/// one barrier. The engine is immutable; each inference takes a scratch arena from a pool.
public struct Int8Engine: LayerProfiling {
    public let model: QuantizedModel
    let plan: Int8Plan
    let pool: ScratchPool<Int8Arena>

    public var config: ConvNeXtConfig { model.config }
    public var name: String { "int8" }
    /// The GEMM kernels in use (int8 and int16 inputs).
    public var kernelNames: [String] { plan.kernelNames }

    public init(model: QuantizedModel, kernels: Int8KernelChoice = .automatic) throws {
        self.model = model
        plan = try Int8Plan(model: model, kernels: kernels)
        pool = ScratchPool(threadsOf: { $0.threads }) { [plan] threads in Int8Arena(plan: plan, threads: threads) }
    }

    public func infer(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>, threads: Int) {
        _ = run(input, logits: logits, threads: threads, profile: false)
    }

    /// Runs one inference and returns the CPU time per layer kind seen by the calling thread.
    public func inferProfiled(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>,
                              threads: Int) -> LayerProfile {
        run(input, logits: logits, threads: threads, profile: true)
    }

    private func run(_ input: UnsafeBufferPointer<Float>, logits: UnsafeMutableBufferPointer<Float>,
                     threads: Int, profile: Bool) -> LayerProfile {
        guard input.count >= config.inputCount, logits.count >= config.numClasses, let inp = input.baseAddress,
              let out = logits.baseAddress else { return LayerProfile() }
        let t = max(1, min(threads, 64))
        let arena = pool.take(threads: t)
        defer { pool.give(arena) }
        arena.startProfile(profile)
        plan.execute(input: inp, logits: out, arena: arena, threads: t, dump: nil)
        arena.startProfile(false)
        return profile ? LayerProfile(nanoseconds: arena.profileSink) : LayerProfile()
    }

    /// Runs one NCHW image and reports every layer's output (NCHW, dequantised) to `observe`,
    /// with the same LayerIDs as `ReferenceForward.run(_:observe:)`: stem.conv, stem.norm, downsample
    /// norm/conv, conv_dw, norm, fc1 (before GELU), gelu, layer_scale (fc2 with the layer scale
    /// folded; fc2 when the model has none), residual, head pool/norm/fc. LayerNorm outputs are the
    /// quantised normalised values with the affine applied, as the graph's LayerNorm node outputs.
    public func run(_ input: Tensor, threads: Int = 1, observe: ((LayerID, Tensor) -> Void)? = nil) -> Tensor {
        var logits = [Float](repeating: 0, count: config.numClasses)
        guard input.count == config.inputCount else { return Tensor(shape: [1, config.numClasses], data: logits) }
        let t = max(1, min(threads, 64))
        let arena = pool.take(threads: t)
        defer { pool.give(arena) }
        let dump = observe.map { LayerDump(observe: $0) }
        input.data.withUnsafeBufferPointer { inp in
            logits.withUnsafeMutableBufferPointer { out in
                plan.execute(input: inp.baseAddress!, logits: out.baseAddress!, arena: arena, threads: t, dump: dump)
            }
        }
        return Tensor(shape: [1, config.numClasses], data: logits)
    }
}

/// Collects NHWC layer outputs during a dumping run and hands them over as NCHW tensors.
final class LayerDump: @unchecked Sendable {
    let observe: (LayerID, Tensor) -> Void
    private var buffers: [LayerID: UnsafeMutablePointer<Float>] = [:]
    private var shapes: [LayerID: (c: Int, h: Int, w: Int)] = [:]
    private var order: [LayerID] = []

    init(observe: @escaping (LayerID, Tensor) -> Void) { self.observe = observe }

    /// A zeroed NHWC buffer for `id` (`h*w` pixels of `c` channels), allocated before the parallel phase.
    func buffer(_ id: LayerID, c: Int, h: Int, w: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: c * h * w)
        p.initialize(repeating: 0, count: c * h * w)
        buffers[id] = p
        shapes[id] = (c, h, w)
        order.append(id)
        return p
    }

    /// Emits every buffer in allocation order (as NCHW) and frees them.
    func flush() {
        for id in order {
            guard let p = buffers[id], let s = shapes[id] else { continue }
            var data = [Float](repeating: 0, count: s.c * s.h * s.w)
            let hw = s.h * s.w
            for px in 0..<hw {
                for ch in 0..<s.c { data[ch * hw + px] = p[px * s.c + ch] }
            }
            p.deallocate()
            observe(id, Tensor(shape: id == .headFC ? [1, s.c] : [1, s.c, s.h, s.w], data: data))
        }
        buffers.removeAll()
        shapes.removeAll()
        order.removeAll()
    }
}

/// Scratch memory of one inference: two padded residual buffers and per-thread chunk buffers.
final class Int8Arena: @unchecked Sendable {
    let threads: Int
    let residual: [UnsafeMutablePointer<Float>]
    /// Per thread: float chunk (dwconv output, stem output), A (GEMM input), H (hidden), float GEMM scratch.
    let chunkFloat: [UnsafeMutablePointer<Float>]
    let chunkA: [UnsafeMutableRawPointer]
    let chunkH: [UnsafeMutableRawPointer]
    let gemmScratch: [UnsafeMutablePointer<Float>]
    /// Next chunk of the running phase (threads take chunks atomically).
    let chunkCounter: UnsafeMutablePointer<Int32>
    /// The thread team of this arena (threads > 1): the same `WorkerTeam` the float engine uses,
    /// running one parallel phase at a time.
    private var team: WorkerTeam?
    /// The running phase's body and part count, set before the team runs and cleared after.
    private var phase: ((Int) -> Void)?
    private var phaseParts = 0
    /// Nanoseconds per layer kind of part 0 (the calling thread) while profiling.
    let profileSink: UnsafeMutablePointer<UInt64>
    private var watch = Stopwatch(sink: nil)

    init(plan: Int8Plan, threads: Int) {
        self.threads = threads
        profileSink = .allocate(capacity: LayerKind.allCases.count)
        profileSink.initialize(repeating: 0, count: LayerKind.allCases.count)
        chunkCounter = .allocate(capacity: 1)
        chunkCounter.initialize(to: 0)
        residual = (0..<2).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: plan.residualFloats)
            p.initialize(repeating: 0, count: plan.residualFloats)
            return p
        }
        func raw(_ bytes: Int) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: max(bytes, 64))
            return p
        }
        chunkFloat = (0..<threads).map { _ in raw(plan.chunkFloatCount * 4).assumingMemoryBound(to: Float.self) }
        chunkA = (0..<threads).map { _ in raw(plan.chunkABytes) }
        chunkH = (0..<threads).map { _ in raw(plan.chunkHBytes) }
        gemmScratch = (0..<threads).map { _ in raw(plan.gemmScratchFloats * 4).assumingMemoryBound(to: Float.self) }
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
        residual.forEach { $0.deallocate() }
        chunkFloat.forEach { $0.deallocate() }
        chunkA.forEach { $0.deallocate() }
        chunkH.forEach { $0.deallocate() }
        gemmScratch.forEach { $0.deallocate() }
        chunkCounter.deallocate()
        profileSink.deallocate()
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
