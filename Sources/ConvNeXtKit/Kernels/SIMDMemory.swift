/// Loads 16 floats from any address (vmovups).
@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// Stores 16 floats to any address (vmovups).
@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Sum of the 16 lanes as a halving tree (Swift's `sum()` may add lanes one by one).
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let s8 = v.lowHalf + v.highHalf
    let s4 = s8.lowHalf + s8.highHalf
    let s2 = s4.lowHalf + s4.highHalf
    return s2.x + s2.y
}

/// Rounds `n` up to a multiple of 16 (one SIMD16 register of channels).
@inline(__always)
public func roundUp16(_ n: Int) -> Int { (n + 15) & ~15 }
