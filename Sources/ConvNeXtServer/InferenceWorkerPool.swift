import Foundation

/// A fixed set of inference threads behind a bounded queue.
///
/// Inference is CPU-bound and takes milliseconds to seconds, so it never runs on NIO's event
/// loops or Swift's cooperative pool: each worker is a plain `Thread` that takes one job at a time
/// and resumes the waiting request's continuation when it is done. When `capacity` jobs already
/// wait, ``submit(timeout:_:)`` fails at once with ``WorkerPoolError/queueFull`` instead of letting
/// memory grow; a job still waiting after its timeout (or whose request was cancelled) is taken
/// out of the queue and fails with ``WorkerPoolError/timedOut``.
public final class InferenceWorkerPool: @unchecked Sendable {
    /// The pool's occupancy, reported after every change (for the metrics gauges; the callback
    /// runs under the pool's lock, so it must be quick and must not call the pool).
    public struct Occupancy: Sendable, Equatable {
        /// Jobs waiting for a worker.
        public var queued: Int
        /// Workers running a job.
        public var busy: Int

        public init(queued: Int, busy: Int) {
            self.queued = queued
            self.busy = busy
        }
    }

    /// Number of worker threads.
    public let workerCount: Int
    /// Largest number of jobs that may wait.
    public let capacity: Int

    private let condition = NSCondition()
    private var waiting: [PendingJob] = []
    private var busy = 0
    private var stopping = false
    private var threads: [Thread] = []
    private let finished = DispatchGroup()
    private let onChange: @Sendable (Occupancy) -> Void

    /// Starts `workers` threads; `capacity` jobs may wait for them.
    public init(workers: Int, capacity: Int, onChange: @escaping @Sendable (Occupancy) -> Void = { _ in }) {
        precondition(workers >= 1 && capacity >= 0, "a pool needs a worker and a non-negative queue")
        workerCount = workers
        self.capacity = capacity
        self.onChange = onChange
        for index in 0..<workers {
            finished.enter()
            let thread = Thread { [self] in
                Thread.current.name = "convnext-inference-\(index)"
                Thread.current.threadDictionary[Self.workerKey] = index
                workLoop()
                finished.leave()
            }
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// The current occupancy.
    public var occupancy: Occupancy {
        condition.lock()
        defer { condition.unlock() }
        return Occupancy(queued: waiting.count, busy: busy)
    }

    /// Runs `work` on a worker thread and returns its result.
    ///
    /// - Parameter timeout: the longest the job may wait for a worker (nil: no limit); once a
    ///   worker has it, it runs to the end.
    /// - Throws: ``WorkerPoolError`` when the queue is full, the wait timed out, the pool is
    ///   stopping or the calling task was cancelled while waiting; otherwise whatever `work` throws.
    public func submit<T: Sendable>(timeout: Duration? = nil, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let job = PendingJob()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                job.run = { continuation.resume(with: Result { try work() }) }
                job.fail = { continuation.resume(throwing: $0) }
                if let error = enqueue(job) {
                    job.take()?.fail(error)
                    return
                }
                if let timeout {
                    let nanoseconds = max(0, timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds))) { [weak self, weak job] in
                        guard let self, let job else { return }
                        self.withdraw(job, error: .timedOut)
                    }
                }
            }
        } onCancel: {
            withdraw(job, error: .cancelled)
        }
    }

    /// Lets the running and queued jobs finish, then ends the threads; later submissions fail
    /// with ``WorkerPoolError/stopping``. Blocks until the threads have ended.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    // MARK: - Queue

    /// Adds `job`, or returns why it cannot wait.
    private func enqueue(_ job: PendingJob) -> WorkerPoolError? {
        condition.lock()
        if job.withdrawn {
            condition.unlock()
            return .cancelled
        }
        if stopping {
            condition.unlock()
            return .stopping
        }
        // Jobs that idle workers are about to take do not count against the capacity.
        if waiting.count >= capacity + (workerCount - busy) {
            condition.unlock()
            return .queueFull
        }
        waiting.append(job)
        reportOccupancy()
        condition.signal()
        condition.unlock()
        return nil
    }

    /// Takes `job` out of the queue if no worker has it yet, and fails it with `error`.
    private func withdraw(_ job: PendingJob, error: WorkerPoolError) {
        condition.lock()
        job.withdrawn = true
        guard let index = waiting.firstIndex(where: { $0 === job }) else {
            condition.unlock()
            return
        }
        waiting.remove(at: index)
        reportOccupancy()
        condition.unlock()
        job.take()?.fail(error)
    }

    private func workLoop() {
        while true {
            condition.lock()
            while waiting.isEmpty && !stopping { condition.wait() }
            if waiting.isEmpty {
                condition.unlock()
                return
            }
            let job = waiting.removeFirst()
            busy += 1
            reportOccupancy()
            condition.unlock()

            job.take()?.run()

            condition.lock()
            busy -= 1
            reportOccupancy()
            condition.unlock()
        }
    }

    /// Reports the occupancy; called under the lock, so reports from different threads arrive in order.
    private func reportOccupancy() {
        onChange(Occupancy(queued: waiting.count, busy: busy))
    }

    /// The key under which a worker marks its own thread.
    private static let workerKey = "convnext.inference-worker"

    /// The index of the pool worker running the caller, or nil on any other thread.
    public static var currentWorkerIndex: Int? { Thread.current.threadDictionary[workerKey] as? Int }
}

/// Why a job did not run.
public enum WorkerPoolError: Error, Equatable, Sendable {
    /// `capacity` jobs were already waiting.
    case queueFull
    /// The job waited longer than its timeout.
    case timedOut
    /// The pool is shutting down.
    case stopping
    /// The request that submitted it was cancelled (its client went away).
    case cancelled
}

/// A job in the queue: exactly one of `run` and `fail` is ever called, and each closure is
/// dropped once taken, so a finished job holds no request data.
private final class PendingJob: @unchecked Sendable {
    var run: (() -> Void)?
    var fail: ((any Error) -> Void)?
    /// Set under the pool's lock when the job is withdrawn (timed out or cancelled).
    var withdrawn = false
    private let lock = NSLock()

    /// The job's two closures, the first time it is asked (nil after that).
    func take() -> (run: () -> Void, fail: (any Error) -> Void)? {
        lock.lock()
        defer { lock.unlock() }
        guard let run, let fail else { return nil }
        self.run = nil
        self.fail = nil
        return (run, fail)
    }
}
