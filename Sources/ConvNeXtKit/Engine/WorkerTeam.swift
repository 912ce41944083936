import Foundation
import Synchronization

/// A small team of persistent threads that run one inference together (SPMD): every member
/// runs the same body with its index and meets the others at `barrier()` between layers.
///
/// Member 0 is the calling thread. Members spin briefly while waiting (a layer takes tens of
/// microseconds, a futex wake-up about as long), then yield, and sleep between inferences
/// (`CONVNEXT_SPIN=0` turns the spinning off: `WorkerSpinPolicy`).
final class WorkerTeam: @unchecked Sendable {
    let size: Int
    private let body: @Sendable (Int) -> Void
    private let started = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let arrived = Atomic<Int>(0)
    private let barrierRound = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let slots: [Slot]
    private let exited = DispatchSemaphore(value: 0)

    /// A member's sleep flag and wake-up semaphore.
    private final class Slot: Sendable {
        let sleeping = Atomic<Bool>(false)
        let wakeup = DispatchSemaphore(value: 0)
    }

    /// Spins before yielding (in a barrier) or sleeping (between inferences): `WorkerSpinPolicy`.
    private static let spinLimit = WorkerSpinPolicy.busySpins
    private static let idleSpinLimit = WorkerSpinPolicy.idleSpins

    /// Starts `size - 1` helper threads; `body(index)` runs on member `index` for each `run()`.
    init(size: Int, body: @escaping @Sendable (Int) -> Void) {
        self.size = size
        self.body = body
        slots = (0..<size).map { _ in Slot() }
        for index in 1..<max(size, 1) {
            let thread = Thread { [self] in self.workerLoop(index) }
            thread.name = "convnext-worker-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs the body on every member, the caller as member 0, and returns when all are done.
    func run() {
        finished.store(0, ordering: .relaxed)
        started.add(1, ordering: .releasing)
        for index in 1..<size where slots[index].sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            slots[index].wakeup.signal()
        }
        body(0)
        var spins = 0
        while finished.load(ordering: .acquiring) < size - 1 {
            spins += 1
            if spins > Self.spinLimit { sched_yield() }
        }
    }

    /// Waits until every member has arrived (sense by round number).
    func barrier() {
        guard size > 1 else { return }
        let round = barrierRound.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == size {
            arrived.store(0, ordering: .relaxed)
            barrierRound.add(1, ordering: .releasing)
            return
        }
        var spins = 0
        while barrierRound.load(ordering: .acquiring) == round {
            spins += 1
            if spins > Self.spinLimit { sched_yield() }
        }
    }

    /// Stops the helper threads and waits for them to leave.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        started.add(1, ordering: .sequentiallyConsistent)
        for index in 1..<max(size, 1) {
            if slots[index].sleeping.exchange(false, ordering: .sequentiallyConsistent) { slots[index].wakeup.signal() }
        }
        for _ in 1..<max(size, 1) { exited.wait() }
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while started.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < Self.idleSpinLimit { continue }
                // Announce sleep, re-check, then wait; `run` clears the flag and signals.
                slots[index].sleeping.store(true, ordering: .sequentiallyConsistent)
                if started.load(ordering: .sequentiallyConsistent) != seen {
                    if !slots[index].sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                        slots[index].wakeup.wait() // run() already cleared the flag: consume its signal
                    }
                    break
                }
                slots[index].wakeup.wait()
                spins = 0
            }
            seen = started.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) {
                exited.signal()
                return
            }
            body(index)
            finished.add(1, ordering: .releasing)
        }
    }
}
