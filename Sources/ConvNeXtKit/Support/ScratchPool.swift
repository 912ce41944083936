import Foundation

/// Scratch arenas not in use, so concurrent inferences never share one and steady state
/// allocates nothing. The lock guards only the free list; arenas are made outside it.
final class ScratchPool<Arena: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Arena] = []
    private let capacity: Int
    private let make: @Sendable (_ threads: Int) -> Arena
    private let threadsOf: @Sendable (Arena) -> Int

    /// `make` builds an arena for a thread count; `threadsOf` tells which count an arena serves.
    init(capacity: Int = 16, threadsOf: @escaping @Sendable (Arena) -> Int, make: @escaping @Sendable (_ threads: Int) -> Arena) {
        self.capacity = capacity
        self.threadsOf = threadsOf
        self.make = make
    }

    /// A free arena made for `threads`, or a new one.
    func take(threads: Int) -> Arena {
        lock.lock()
        if let i = free.lastIndex(where: { threadsOf($0) == threads }) {
            let arena = free.remove(at: i)
            lock.unlock()
            return arena
        }
        lock.unlock()
        return make(threads)
    }

    /// Returns an arena for reuse (kept while the pool holds fewer than `capacity`).
    func give(_ arena: Arena) {
        lock.lock()
        if free.count < capacity { free.append(arena) }
        lock.unlock()
    }
}
