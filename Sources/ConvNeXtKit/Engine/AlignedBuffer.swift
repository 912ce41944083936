/// A zero-initialised, 64-byte aligned block of memory that lives as long as this object.
///
/// Engines keep raw pointers into it in their plans and arenas; the owner keeps it alive.
final class AlignedBuffer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        self.count = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: self.count * MemoryLayout<Element>.stride, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: self.count * MemoryLayout<Element>.stride)
        pointer = raw.bindMemory(to: Element.self, capacity: self.count)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
