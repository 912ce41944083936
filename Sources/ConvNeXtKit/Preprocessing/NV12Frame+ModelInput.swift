extension NV12Frame {
    /// The model input computed from the frame the way a deployed model with
    /// `input_type_rt: nv12`, `input_type_train: rgb` does it as its first layer: colour
    /// conversion to RGB in float (clipped to 0...255, not rounded), then
    /// (pixel - mean) * scale per channel. Returns NCHW `[1, 3, height, width]`.
    public func modelInput(normalization: PixelNormalization, range: YUVRange = .full,
                           upsampling: ChromaUpsampling = .bilinear) -> Tensor {
        let plane = width * height, w = width
        var data = [Float](repeating: 0, count: 3 * plane)
        let m0 = normalization.mean[0], m1 = normalization.mean[1], m2 = normalization.mean[2]
        let s0 = normalization.scale[0], s1 = normalization.scale[1], s2 = normalization.scale[2]
        @inline(__always) func clip(_ x: Float) -> Float { min(max(x, 0), 255) }
        data.withUnsafeMutableBufferPointer { out in
            forEachPixelRGB(range: range, upsampling: upsampling) { x, y, r, g, b in
                let i = y * w + x
                out[i] = (clip(r) - m0) * s0
                out[plane + i] = (clip(g) - m1) * s1
                out[2 * plane + i] = (clip(b) - m2) * s2
            }
        }
        return Tensor(shape: [1, 3, height, width], data: data)
    }
}
