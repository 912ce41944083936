import Foundation

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
