import ConvNeXtServer
import Foundation
import XCTest

/// The worker pool on its own: jobs run on its threads, the queue is bounded, waits time out,
/// cancelled requests leave the queue, and shutdown finishes the queued work first.
final class InferenceWorkerPoolTests: XCTestCase {
    /// A gate a job waits at until the test opens it.
    final class Gate: @unchecked Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private let entered = DispatchSemaphore(value: 0)
        func pass() {
            entered.signal()
            semaphore.wait()
        }
        /// Waits until a job is at the gate.
        func waitForArrival() { entered.wait() }
        func open(_ count: Int = 1) { for _ in 0..<count { semaphore.signal() } }
    }

    func testJobsRunOnTheWorkerThreadsAndReturnTheirResults() async throws {
        let pool = InferenceWorkerPool(workers: 2, capacity: 4)
        defer { pool.shutdown() }
        let workers = try await withThrowingTaskGroup(of: Int?.self) { group in
            for _ in 0..<6 { group.addTask { try await pool.submit { InferenceWorkerPool.currentWorkerIndex } } }
            return try await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        XCTAssertEqual(workers.count, 6)
        XCTAssertTrue(workers.allSatisfy { $0 == 0 || $0 == 1 }, "every job ran on one of the two worker threads: \(workers)")
        XCTAssertNil(InferenceWorkerPool.currentWorkerIndex, "the test itself is not on a worker")
        do {
            _ = try await pool.submit { () throws -> Int in throw TestFailure("boom") }
            XCTFail("the job's error is rethrown")
        } catch let error as TestFailure {
            XCTAssertEqual(error.description, "boom")
        }
    }

    func testAFullQueueRefusesAtOnce() async throws {
        let gate = Gate()
        let pool = InferenceWorkerPool(workers: 1, capacity: 1)
        let running = Task { try await pool.submit { gate.pass(); return 1 } }
        gate.waitForArrival()
        let queued = Task { try await pool.submit { 2 } }
        while pool.occupancy.queued < 1 { try await Task.sleep(for: .milliseconds(1)) }
        let started = ContinuousClock.now
        do {
            _ = try await pool.submit { 3 }
            XCTFail("a third job does not fit")
        } catch let error as WorkerPoolError {
            XCTAssertEqual(error, .queueFull)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), "refused without waiting")
        XCTAssertEqual(pool.occupancy, .init(queued: 1, busy: 1))
        gate.open()
        let first = try await running.value, second = try await queued.value
        XCTAssertEqual([first, second], [1, 2])
        pool.shutdown()
    }

    func testAWaitLongerThanTheTimeoutFails() async throws {
        let gate = Gate()
        let pool = InferenceWorkerPool(workers: 1, capacity: 4)
        let running = Task { try await pool.submit { gate.pass(); return true } }
        gate.waitForArrival()
        let ran = RanFlag()
        let started = ContinuousClock.now
        do {
            _ = try await pool.submit(timeout: .milliseconds(50)) { ran.set() }
            XCTFail("the worker stays busy past the timeout")
        } catch let error as WorkerPoolError {
            XCTAssertEqual(error, .timedOut)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        XCTAssertEqual(pool.occupancy.queued, 0, "the timed-out job left the queue")
        gate.open()
        _ = try await running.value
        pool.shutdown()
        XCTAssertFalse(ran.value, "a timed-out job never runs")
    }

    func testACancelledRequestLeavesTheQueue() async throws {
        let gate = Gate()
        let pool = InferenceWorkerPool(workers: 1, capacity: 4)
        let running = Task { try await pool.submit { gate.pass(); return 0 } }
        gate.waitForArrival()
        let ran = RanFlag()
        let waiting = Task { try await pool.submit { ran.set() } }
        while pool.occupancy.queued < 1 { try await Task.sleep(for: .milliseconds(1)) }
        waiting.cancel()
        do {
            try await waiting.value
            XCTFail("cancelled")
        } catch let error as WorkerPoolError {
            XCTAssertEqual(error, .cancelled)
        }
        gate.open()
        _ = try await running.value
        pool.shutdown()
        XCTAssertFalse(ran.value)
    }

    func testShutdownFinishesQueuedJobsThenRefuses() async throws {
        let gate = Gate()
        let reports = OccupancyLog()
        let pool = InferenceWorkerPool(workers: 1, capacity: 8) { reports.append($0) }
        let first = Task { try await pool.submit { gate.pass(); return 0 } }
        gate.waitForArrival()
        var jobs = [first]
        for index in 1...3 {
            jobs.append(Task { try await pool.submit { index } })
            while pool.occupancy.queued < index { try await Task.sleep(for: .milliseconds(1)) }
        }
        while pool.occupancy.queued < 3 { try await Task.sleep(for: .milliseconds(1)) }
        let stopped = Task.detached { pool.shutdown() }
        try await Task.sleep(for: .milliseconds(20))
        gate.open()
        await stopped.value
        var results: [Int] = []
        for job in jobs { results.append(try await job.value) }
        XCTAssertEqual(results, [0, 1, 2, 3])
        do {
            _ = try await pool.submit { 9 }
            XCTFail("a stopped pool takes no work")
        } catch let error as WorkerPoolError {
            XCTAssertEqual(error, .stopping)
        }
        XCTAssertTrue(reports.values.contains(.init(queued: 3, busy: 1)), "occupancy is reported: \(reports.values)")
        XCTAssertEqual(reports.values.last, .init(queued: 0, busy: 0))
    }

    final class RanFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var ran = false
        func set() { lock.lock(); ran = true; lock.unlock() }
        var value: Bool { lock.lock(); defer { lock.unlock() }; return ran }
    }

    final class OccupancyLog: @unchecked Sendable {
        private let lock = NSLock()
        private var log: [InferenceWorkerPool.Occupancy] = []
        func append(_ o: InferenceWorkerPool.Occupancy) { lock.lock(); log.append(o); lock.unlock() }
        var values: [InferenceWorkerPool.Occupancy] { lock.lock(); defer { lock.unlock() }; return log }
    }
}
