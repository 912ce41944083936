import CConvNeXtKernels
import Foundation

/// Persistent worker threads for splitting one inference (`threads` > 1).
///
/// Why not `DispatchQueue.concurrentPerform`: its workers wake too slowly for phases of 0.1-0.5 ms,
/// so the calling thread ended up running every part itself. Workers here spin briefly for the next
/// task before sleeping (`CONVNEXT_SPIN=0` turns that off: `WorkerSpinPolicy`); the caller runs part 0, takes back parts no worker started (so nested or
/// concurrent inferences cannot deadlock), then waits for the rest.
final class Int8WorkerPool: @unchecked Sendable {
    static let shared = Int8WorkerPool()

    /// One call of `run`: its body, and how many parts are still unfinished.
    private final class Job: @unchecked Sendable {
        /// Cleared by the caller once all parts are done, so the closure does not outlive `run`.
        var body: ((Int) -> Void)?
        let remaining: UnsafeMutablePointer<Int32>
        let done = NSCondition()
        init(body: @escaping (Int) -> Void, parts: Int) {
            self.body = body
            remaining = .allocate(capacity: 1)
            remaining.initialize(to: Int32(parts))
        }
        deinit { remaining.deallocate() }

        /// Runs one part; the closure reference taken for the call ends here, before `finishOne`.
        func invoke(_ part: Int) { body?(part) }

        func finishOne() {
            if cnxq_atomic_add_i32(remaining, -1) == 0 {
                done.lock()
                done.broadcast()
                done.unlock()
            }
        }

        func wait() {
            let start = DispatchTime.now().uptimeNanoseconds
            while cnxq_atomic_load_i32(remaining) > 0 {
                if DispatchTime.now().uptimeNanoseconds - start >= WorkerSpinPolicy.spinNanoseconds {
                    done.lock()
                    while cnxq_atomic_load_i32(remaining) > 0 { done.wait() }
                    done.unlock()
                    return
                }
                cnxq_cpu_relax()
            }
        }
    }

    private let queueLock = NSCondition()
    private var queue: [(job: Job, part: Int)] = []
    private var workers = 0

    /// Starts workers up to `count` (at most 63).
    private func ensureWorkers(_ count: Int) {
        queueLock.lock()
        let wanted = min(count, 63)
        while workers < wanted {
            workers += 1
            let thread = Thread { [unowned self] in self.workLoop() }
            thread.name = "convnext-int8-\(workers)"
            thread.start()
        }
        queueLock.unlock()
    }

    private func take(_ job: Job? = nil) -> (job: Job, part: Int)? {
        queueLock.lock()
        defer { queueLock.unlock() }
        if let job {
            guard let i = queue.firstIndex(where: { $0.job === job }) else { return nil }
            return queue.remove(at: i)
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    private func workLoop() {
        while true {
            var task: (job: Job, part: Int)?
            let start = DispatchTime.now().uptimeNanoseconds
            while task == nil, DispatchTime.now().uptimeNanoseconds - start < WorkerSpinPolicy.spinNanoseconds / 2 {
                task = take()
                if task == nil { cnxq_cpu_relax() }
            }
            if task == nil {
                queueLock.lock()
                while queue.isEmpty { queueLock.wait() }
                task = queue.removeFirst()
                queueLock.unlock()
            }
            if let (job, part) = task {
                job.invoke(part)
                job.finishOne()
            }
        }
    }

    /// Runs `body(0..<parts)` on the caller and the workers and returns when all parts are done.
    func run(_ parts: Int, _ body: (Int) -> Void) {
        guard parts > 1 else {
            body(0)
            return
        }
        ensureWorkers(min(parts - 1, max(1, ProcessInfo.processInfo.activeProcessorCount - 1)))
        withoutActuallyEscaping(body) { escapable in
            let job = Job(body: escapable, parts: parts)
            queueLock.lock()
            for p in 1..<parts { queue.append((job, p)) }
            queueLock.broadcast()
            queueLock.unlock()
            body(0)
            job.finishOne()
            while let (_, part) = take(job) {
                body(part)
                job.finishOne()
            }
            job.wait()
            job.body = nil
        }
    }
}
