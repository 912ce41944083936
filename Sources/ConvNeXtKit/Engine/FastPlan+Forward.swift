import CConvNeXtKernels

/// The forward pass, run by every member of an arena's team on its share of the rows.
extension FastPlan {
    /// LayerNorm of `count` pixels `stride` floats apart, in place or into `output`, with the
    /// affine when given (pad lanes are left as they are).
    @inline(__always)
    func layerNorm(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int, stride: Int,
                   outputStride: Int? = nil, _ layout: ChannelLayout, epsilon: Float,
                   gamma: UnsafePointer<Float>? = nil, beta: UnsafePointer<Float>? = nil) {
        layerNormKernel.layerNorm(input, stride, count, layout.channels, epsilon, gamma, beta,
                                  Int32(CNXQ_ACT_F32.rawValue), 1, 0, output, nil, outputStride ?? stride)
    }

    /// Rows `[start, end)` of `m` for member `part` of `parts`, cut at multiples of 8 (GEMM tiles).
    @inline(__always)
    static func share(of m: Int, part: Int, parts: Int) -> Range<Int> {
        let tiles = (m + 7) / 8
        let start = min(m, tiles * part / parts * 8)
        let end = min(m, tiles * (part + 1) / parts * 8)
        return start..<end
    }

    func forward(part: Int, arena: InferenceArena) {
        let parts = arena.threads
        let team = arena.team
        var watch = Stopwatch(sink: part == 0 && arena.profiling ? arena.profileSink : nil)
        func sync() {
            watch.lap(.sync)
            team?.barrier()
            watch.lap(.sync)
        }
        guard let input = arena.input else { return }

        runStem(input: input, rows: Self.share(of: stages[0].pixels, part: part, parts: parts), arena: arena)
        watch.lap(.stem)
        sync()

        var current = 0
        for (s, stage) in stages.enumerated() {
            let rows = Self.share(of: stage.pixels, part: part, parts: parts)
            if let down = stage.downsample {
                runDownsample(down, stage: s, from: current, rows: rows, arena: arena)
                current = 0
                watch.lap(.downsample)
                sync()
            }
            for block in stage.blocks {
                let maps = arena.maps[s]
                let (src, dst) = current == 0 ? (maps.0, maps.1) : (maps.1, maps.0)
                runBlock(block, stage: stage, offsets: arena.offsets[s], src: src, dst: dst, rows: rows,
                         normed: arena.normed[part], hidden: arena.hidden[part], watch: &watch)
                current ^= 1
                sync()
            }
        }
        if part == 0 { runHead(from: current, arena: arena) }
        watch.lap(.head)
    }

    /// Patchify conv for rows `rows`: im2col, GEMM into the stage-0 map, LayerNorm with affine.
    private func runStem(input: UnsafePointer<Float>, rows: Range<Int>, arena: InferenceArena) {
        guard !rows.isEmpty else { return }
        let st = stages[0]
        let k = stem.kernel, kk = k * k, cin = config.inputChannels
        let ih = config.inputHeight, iw = config.inputWidth
        let lda = stem.conv.k
        // Gather patches: for each patch row (ci, ky), the k input floats are contiguous.
        for j in rows {
            let oy = j / st.width, ox = j % st.width
            let row = arena.im2col + j * lda
            for ci in 0..<cin {
                for ky in 0..<k {
                    let src = input + (ci * ih + oy * k + ky) * iw + ox * k
                    let dst = row + ci * kk + ky * k
                    if k == 4 {
                        UnsafeMutableRawPointer(dst).storeBytes(
                            of: UnsafeRawPointer(src).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                    } else {
                        dst.update(from: src, count: k)
                    }
                }
            }
        }
        let map = arena.maps[0].0, offsets = arena.offsets[0]
        stem.conv.run(a: arena.im2col + rows.lowerBound * lda, lda: lda, m: rows.count,
                      output: .mapped(map, offsets: offsets + rows.lowerBound, residual: nil))
        for j in rows {
            let p = map + offsets[j]
            layerNorm(p, p, count: 1, stride: st.layout.paddedChannels, st.layout, epsilon: stem.epsilon,
                      gamma: stem.gamma, beta: stem.beta)
        }
    }

    /// LayerNorm of the previous stage's pixels straight into im2col rows, then the 2x2 conv GEMM.
    private func runDownsample(_ down: DownsamplePlan, stage s: Int, from current: Int, rows: Range<Int>,
                               arena: InferenceArena) {
        guard !rows.isEmpty else { return }
        let prev = stages[s - 1], st = stages[s]
        let prevMap = current == 0 ? arena.maps[s - 1].0 : arena.maps[s - 1].1
        let prevOffsets = arena.offsets[s - 1]
        let cp = prev.layout.paddedChannels, lda = down.conv.k
        let pad = cp - prev.layout.channels
        for j in rows {
            let oy = j / st.width, ox = j % st.width
            let row = arena.im2col + j * lda
            for slot in 0..<4 {
                let p = (2 * oy + slot / 2) * prev.width + 2 * ox + slot % 2
                layerNorm(prevMap + prevOffsets[p], row + slot * cp, count: 1, stride: cp, prev.layout,
                          epsilon: down.epsilon)
                // The stem's im2col rows share this buffer: pad lanes must be zero, not left-overs.
                if pad > 0 { (row + slot * cp + prev.layout.channels).update(repeating: 0, count: pad) }
            }
        }
        down.conv.run(a: arena.im2col + rows.lowerBound * lda, lda: lda, m: rows.count,
                      output: .mapped(arena.maps[s].0, offsets: arena.offsets[s] + rows.lowerBound, residual: nil))
    }

    /// One block on pixels `rows`, chunk by chunk so a chunk's activations stay in cache.
    private func runBlock(_ block: BlockPlan, stage: StagePlan, offsets: UnsafePointer<Int>,
                          src: UnsafeMutablePointer<Float>, dst: UnsafeMutablePointer<Float>, rows: Range<Int>,
                          normed: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
                          watch: inout Stopwatch) {
        let cp = stage.layout.paddedChannels, width = stage.width, pw = stage.paddedWidth
        let depthwise = depthwiseKernel.f32Depthwise
        // Equal chunks of at most `stage.chunk` rows, multiples of 8 (no thin last chunk).
        let chunks = (rows.count + stage.chunk - 1) / max(stage.chunk, 1)
        let chunk = ((rows.count + chunks - 1) / max(chunks, 1) + 7) / 8 * 8
        var args = cnxk_f32_dwconv_args()
        args.input_row_stride = pw * cp
        args.input_pixel_stride = cp
        args.weights = block.dwWeights
        args.weight_tap_stride = cp
        args.bias = block.dwBias
        args.output_pixel_stride = cp
        args.channels = cp
        var p = rows.lowerBound
        while p < rows.upperBound {
            let end = min(p + chunk, rows.upperBound), m = end - p
            // Depthwise 7x7, one image-row run at a time.
            var q = p
            while q < end {
                let y = q / width, x = q % width
                let run = min(end - q, width - x)
                args.input = UnsafePointer(src + (y * pw + x) * cp)
                args.output = normed + (q - p) * cp
                args.pixels = run
                depthwise(&args)
                q += run
            }
            watch.lap(.dwconv)
            layerNorm(normed, normed, count: m, stride: cp, stage.layout, epsilon: block.epsilon)
            watch.lap(.norm)
            block.fc1.run(a: normed, lda: cp, m: m, output: .compact(hidden, ldc: block.fc1.paddedN), gelu: true)
            watch.lap(.pointwise1)
            block.fc2.run(a: hidden, lda: block.fc1.paddedN, m: m,
                          output: .mapped(dst, offsets: offsets + p, residual: src))
            watch.lap(.pointwise2)
            p = end
        }
    }

    /// Global average pool, LayerNorm (affine folded) and classifier, on member 0.
    private func runHead(from current: Int, arena: InferenceArena) {
        guard let logits = arena.logits, let last = stages.last else { return }
        let s = stages.count - 1
        let map = current == 0 ? arena.maps[s].0 : arena.maps[s].1
        let offsets = arena.offsets[s]
        let cp = last.layout.paddedChannels
        let scale = 1 / Float(last.pixels)
        let pooled = arena.pooled
        pooled.update(repeating: 0, count: cp)
        for p in 0..<last.pixels {
            let pixel = map + offsets[p]
            for c in 0..<cp { pooled[c] += pixel[c] }
        }
        for c in 0..<cp { pooled[c] *= scale }
        layerNorm(arena.pooled, arena.pooled, count: 1, stride: cp, head.layout, epsilon: head.epsilon)
        head.fc.run(a: arena.pooled, lda: cp, m: 1, output: .compact(arena.headOutput, ldc: head.fc.paddedN))
        logits.update(from: arena.headOutput, count: head.fc.n)
    }
}
