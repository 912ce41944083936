import CConvNeXtKernels
import Foundation

/// The forward pass of the one runtime: every layer group is one parallel phase over chunks of
/// image rows; float and quantised layers differ only in their GEMM kernels and epilogues.
extension ExecutionPlan {
    /// One inference. `dump` (single- or multi-threaded) collects layer outputs as it goes.
    func execute(input: UnsafePointer<Float>, logits: UnsafeMutablePointer<Float>, arena: ExecutionArena, threads: Int,
                 dump: LayerDump?) {
        let g0 = stemGeometry
        // Each stage has two padded maps whose zero borders are never written: no clearing here.
        var cur = 0
        let stemOut = arena.maps[0].0

        // Stem: gather patches, quantise when int8, GEMM, LayerNorm (with affine) into the residual stream.
        let dStem = dump?.buffer(.stemConv, c: g0.c, h: g0.h, w: g0.w)
        forEachChunk(g0.h, stemRowsPerChunk, perThread: 2, threads: threads, arena: arena) { t, rows in
            stemChunk(input: input, rows: rows, out: stemOut, arena: arena, thread: t, dump: dStem)
        }
        if let dump {
            copyInterior(stemOut, g0, to: dump.buffer(.stemNorm, c: g0.c, h: g0.h, w: g0.w))
            dump.flush()
        }

        var geometry = g0
        var previousMaps = arena.maps[0]
        for (s, stage) in stages.enumerated() {
            let maps = arena.maps[s]
            if let down = stage.downsample {
                let previous = geometry
                geometry = stage.geometry
                let g = geometry
                let xin = cur == 0 ? previousMaps.0 : previousMaps.1, xout = maps.0
                let dNorm = dump?.buffer(.downsampleNorm(stage: s), c: previous.c, h: previous.h, w: previous.w)
                forEachChunk(g.h, stage.rowsPerChunk, perThread: stage.chunksPerThread, threads: threads, arena: arena) { t, rows in
                    downsampleChunk(stage: stage, gemm: down, previous: previous, rows: rows, xin: xin, xout: xout,
                                    arena: arena, thread: t, dump: dNorm)
                }
                if let dNorm { dumpUnusedDownsampleInputs(stage, xin, previous, into: dNorm) }
                cur = 0
                if let dump {
                    copyInterior(xout, g, to: dump.buffer(.downsampleConv(stage: s), c: g.c, h: g.h, w: g.w))
                    dump.flush()
                }
            }
            let g = geometry
            for (b, block) in stage.blocks.enumerated() {
                let (xin, xout) = cur == 0 ? (maps.0, maps.1) : (maps.1, maps.0)
                let dumps = dump.map { d in
                    BlockDump(dw: d.buffer(.dwConv(stage: s, block: b), c: g.c, h: g.h, w: g.w),
                              norm: d.buffer(.norm(stage: s, block: b), c: g.c, h: g.h, w: g.w),
                              fc1: d.buffer(.fc1(stage: s, block: b), c: block.fc1.n, h: g.h, w: g.w),
                              gelu: d.buffer(.gelu(stage: s, block: b), c: block.fc1.n, h: g.h, w: g.w),
                              fc2: d.buffer(block.hasLayerScale ? .layerScale(stage: s, block: b) : .fc2(stage: s, block: b),
                                            c: g.c, h: g.h, w: g.w))
                }
                // Blocks split pixels, not rows: 2 threads on a 7 x 7 stage get 25 / 24 pixels, not 4 / 3 rows.
                forEachChunk(g.h * g.w, stage.rowsPerChunk * g.w, perThread: stage.chunksPerThread, threads: threads,
                             arena: arena) { t, pixels in
                    blockChunk(block, g, pixels: pixels, xin: xin, xout: xout, arena: arena, thread: t, dump: dumps)
                }
                cur = 1 - cur
                if let dump {
                    copyInterior(xout, g, to: dump.buffer(.residual(stage: s, block: b), c: g.c, h: g.h, w: g.w))
                    dump.flush()
                }
            }
            previousMaps = maps
        }
        headForward(cur == 0 ? previousMaps.0 : previousMaps.1, geometry, logits: logits, arena: arena, dump: dump)
        dump?.flush()
    }

    /// Runs `body(thread, units)` over chunks of `units` (image rows, or pixels for the
    /// blocks), at most `unitsPerChunk` each. Threads take chunks from a shared counter,
    /// so a thread the OS delays costs at most one chunk; with several threads the chunks shrink so
    /// that each thread gets about `perThread`, even for 7-row stages. The rows are spread evenly over the
    /// chunks, the larger ones first (14 rows in 4 chunks: 4, 4, 3, 3, so two threads get 7 each;
    /// 4, 4, 4, 2 gave one thread 8). The calling thread (part 0) always runs the first chunk, so
    /// its profile sees every layer kind.
    private func forEachChunk(_ units: Int, _ unitsPerChunk: Int, perThread: Int, threads: Int, arena: ExecutionArena,
                              _ body: (Int, Range<Int>) -> Void) {
        let parts = perThread * threads
        let per = threads > 1 ? max(1, min(unitsPerChunk, (units + parts - 1) / parts)) : unitsPerChunk
        let chunks = (units + per - 1) / per
        let base = units / chunks, extra = units % chunks
        func rows(_ c: Int) -> Range<Int> {
            let start = c * base + min(c, extra)
            return start..<(start + base + (c < extra ? 1 : 0))
        }
        let counter = arena.chunkCounter
        counter.pointee = 1
        arena.parallel(min(threads, chunks)) { t in
            if t == 0 { body(0, rows(0)) }
            while true {
                let c = Int(cnxq_atomic_add_i32(counter, 1)) - 1
                if c >= chunks { break }
                body(t, rows(c))
            }
        }
        // Part 0's wait for the others' last chunks.
        arena.lap(.sync, part: 0)
    }

    /// Copies `count` consecutive runs of `runBytes` from `from` to runs `toStride` apart: the stem's
    /// patch gather. The 16- and 4-byte runs of the 4x4 stem (f32, u8) are single loads and stores;
    /// a `copyMemory` per run took most of the stem's time.
    @inline(__always)
    private func copyStridedRuns(from: UnsafeRawPointer, to: UnsafeMutableRawPointer, toStride: Int, count: Int,
                                 runBytes: Int) {
        switch runBytes {
        case 16:
            for j in 0..<count {
                (to + j * toStride).storeBytes(of: from.loadUnaligned(fromByteOffset: j * 16, as: SIMD4<UInt32>.self),
                                               as: SIMD4<UInt32>.self)
            }
        case 4:
            for j in 0..<count {
                (to + j * toStride).storeBytes(of: from.loadUnaligned(fromByteOffset: j * 4, as: UInt32.self), as: UInt32.self)
            }
        default:
            for j in 0..<count { (to + j * toStride).copyMemory(from: from + j * runBytes, byteCount: runBytes) }
        }
    }

    /// Layer dumps of one block (NHWC, real channels).
    struct BlockDump {
        let dw: UnsafeMutablePointer<Float>
        let norm: UnsafeMutablePointer<Float>
        let fc1: UnsafeMutablePointer<Float>
        let gelu: UnsafeMutablePointer<Float>
        let fc2: UnsafeMutablePointer<Float>
    }

    // MARK: Layers

    private func stemChunk(input: UnsafePointer<Float>, rows: Range<Int>, out: UnsafeMutablePointer<Float>,
                           arena: ExecutionArena, thread t: Int, dump: UnsafeMutablePointer<Float>?) {
        let g = stemGeometry, k = stemKernel, cin = config.inputChannels
        let inH = config.inputHeight, inW = config.inputWidth
        let kk = k * k * cin, lda = stem.kPadded
        let pixels = rows.count * g.w
        let a = arena.chunkA[t], planeA = chunkABytes / 2
        let bytes = elementBytes(stem.input.precision)
        // The patches' source: the input itself (float), or this chunk's input rows quantised once.
        let chunkRows = rows.count * k
        var source = UnsafeRawPointer(input + rows.lowerBound * k * inW)
        var channelStride = inH * inW
        var sourceLo = source
        if stem.input.precision != .float {
            let q = arena.chunkH[t]
            let plane = chunkHBytes / 2
            channelStride = chunkRows * inW
            for c in 0..<cin {
                let dst = q + c * channelStride
                cnxq_quantize(input + (c * inH + rows.lowerBound * k) * inW, chunkRows * inW, stem.inputKind,
                              1 / stem.input.scale, stem.input.zeroPoint, dst, dst.assumingMemoryBound(to: UInt8.self) + plane)
            }
            source = UnsafeRawPointer(q)
            sourceLo = source + plane
        }
        // Gather (c, ky, kx) patches: k contiguous elements per (c, ky).
        let planes = stem.input.precision == .int16 ? 2 : 1
        for plane in 0..<planes {
            let src = plane == 0 ? source : sourceLo
            let dstBase = a + plane * planeA
            for i in 0..<rows.count {
                let firstRow = dstBase + i * g.w * lda * bytes
                for c in 0..<cin {
                    for ky in 0..<k {
                        // One input row segment feeds the same k elements of every output pixel.
                        let from = src + ((c * channelStride) + (i * k + ky) * inW) * bytes
                        copyStridedRuns(from: from, to: firstRow + ((c * k + ky) * k) * bytes, toStride: lda * bytes,
                                        count: g.w, runBytes: k * bytes)
                    }
                }
                if lda > kk {
                    for ox in 0..<g.w {
                        (firstRow + (ox * lda + kk) * bytes).initializeMemory(as: UInt8.self, repeating: 0, count: (lda - kk) * bytes)
                    }
                }
            }
        }
        let conv = arena.chunkFloat[t]
        var ep = cnxq_epilogue.make(kind: CNXQ_OUT_F32, out: UnsafeMutableRawPointer(conv), pixelStride: g.cp)
        stem.run(rows: pixels, a: UnsafeRawPointer(a), planeBytes: planeA, epilogue: &ep, scratch: arena.gemmScratch[t])
        if let dump { copyRows(conv, stride: g.cp, count: pixels, channels: g.c, to: dump + rows.lowerBound * g.w * g.c) }
        for (i, y) in rows.enumerated() {
            layerNormKernel.layerNorm(conv + i * g.w * g.cp, g.cp, g.w, g.c, stemEpsilon, stemNormWeight, stemNormBias,
                           Int32(CNXQ_ACT_F32.rawValue), 1, 0, UnsafeMutableRawPointer(out + g.offset(y, 0)), nil, g.cp)
        }
        arena.lap(.stem, part: t)
    }

    private func downsampleChunk(stage: PlannedStage, gemm: PackedGEMM, previous p: StageGeometry, rows: Range<Int>,
                                 xin: UnsafeMutablePointer<Float>, xout: UnsafeMutablePointer<Float>,
                                 arena: ExecutionArena, thread t: Int, dump: UnsafeMutablePointer<Float>?) {
        let g = stage.geometry
        let a = arena.chunkA[t], planeA = chunkABytes / 2
        let lda = gemm.kPadded, bytes = elementBytes(gemm.input.precision)
        let q = gemm.input
        for (i, oy) in rows.enumerated() {
            for dy in 0..<2 {
                for dx in 0..<2 {
                    let src = xin + p.offset(2 * oy + dy, dx)
                    let dst = a + ((i * g.w) * lda + (dy * 2 + dx) * p.cp) * bytes
                    layerNormKernel.layerNorm(src, 2 * p.cp, g.w, p.c, stage.downsampleEpsilon, nil, nil, gemm.inputKind,
                                   1 / q.scale, q.zeroPoint, dst, dst.assumingMemoryBound(to: UInt8.self) + planeA, lda)
                }
            }
        }
        if let dump {
            for (i, oy) in rows.enumerated() {
                for dy in 0..<2 {
                    for ox in 0..<g.w {
                        for dx in 0..<2 {
                            let src = (i * g.w + ox) * lda + (dy * 2 + dx) * p.cp
                            let dst = dump + ((2 * oy + dy) * p.w + 2 * ox + dx) * p.c
                            dequantize(a, planeBytes: planeA, offset: src, count: p.c, q, into: dst,
                                       affine: (stage.downsampleNormWeight, stage.downsampleNormBias))
                        }
                    }
                }
            }
        }
        var ep = cnxq_epilogue.make(kind: CNXQ_OUT_F32, out: UnsafeMutableRawPointer(xout + g.offset(rows.lowerBound, 0)),
                                    pixelStride: g.cp, rowStride: g.rowStride, width: g.w)
        gemm.run(rows: rows.count * g.w, a: UnsafeRawPointer(a), planeBytes: planeA, epilogue: &ep, scratch: arena.gemmScratch[t])
        arena.lap(.downsample, part: t)
    }

    /// The epilogues of a block's fc1 (GELU into the hidden activations `hidden`, in fc2's input
    /// precision, planes `chunkHBytes / 2` apart) and fc2 (+ the residual map at `residual` into
    /// the map at `out`, both padded maps of `g` addressed from an image row's first pixel).
    func blockEpilogues(_ block: PlannedBlock, _ g: StageGeometry, hidden h: UnsafeMutableRawPointer,
                        out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>) -> (fc1: cnxq_epilogue, fc2: cnxq_epilogue) {
        let q2 = block.fc2.input
        let hiddenKind: cnxq_output_kind = switch q2.precision {
        case .int8: CNXQ_OUT_GELU_U8
        case .int16: CNXQ_OUT_GELU_U16
        case .float: CNXQ_OUT_GELU_F32
        }
        let fc1 = cnxq_epilogue.make(kind: hiddenKind, out: h, pixelStride: block.fc2.kPadded,
                                     outLo: h.assumingMemoryBound(to: UInt8.self) + chunkHBytes / 2, quantization: q2)
        let fc2 = cnxq_epilogue.make(kind: CNXQ_OUT_F32_ADD, out: UnsafeMutableRawPointer(out), pixelStride: g.cp,
                                     rowStride: g.rowStride, width: g.w, residual: residual)
        return (fc1, fc2)
    }

    /// One block on the image's pixels `range` (row-major; it may start and end inside a row).
    private func blockChunk(_ block: PlannedBlock, _ g: StageGeometry, pixels range: Range<Int>, xin: UnsafeMutablePointer<Float>,
                            xout: UnsafeMutablePointer<Float>, arena: ExecutionArena, thread t: Int, dump: BlockDump?) {
        let pixels = range.count
        let y = arena.chunkFloat[t]
        depthwise7x7(xin: xin, g, pixels: range, weights: block.dwWeights, bias: block.dwBias, out: y)
        arena.lap(.dwconv, part: t)
        let a = arena.chunkA[t], planeA = chunkABytes / 2
        let h = arena.chunkH[t], planeH = chunkHBytes / 2
        let q1 = block.fc1.input, q2 = block.fc2.input
        layerNormKernel.layerNorm(y, g.cp, pixels, g.c, block.epsilon, nil, nil, block.fc1.inputKind, 1 / q1.scale, q1.zeroPoint,
                       a, a.assumingMemoryBound(to: UInt8.self) + planeA, block.fc1.kPadded)
        arena.lap(.norm, part: t)
        // fc2's output mapped from the start of the chunk's first image row; the chunk's pixels are
        // rows firstColumn ..< firstColumn + pixels of that mapping.
        let offset = g.offset(range.lowerBound / g.w, 0), firstColumn = range.lowerBound % g.w
        var (ep1, ep2) = blockEpilogues(block, g, hidden: h, out: xout + offset, residual: xin + offset)
        block.fc1.run(rows: pixels, a: UnsafeRawPointer(a), planeBytes: planeA, epilogue: &ep1, scratch: arena.gemmScratch[t])
        arena.lap(.pointwise1, part: t)
        block.fc2.run(rows: pixels, firstRow: firstColumn, a: UnsafeRawPointer(h), planeBytes: planeH, epilogue: &ep2,
                      scratch: arena.gemmScratch[t])
        arena.lap(.pointwise2, part: t)

        guard let dump else { return }
        let first = range.lowerBound
        let hidden = block.fc1.n
        copyRows(y, stride: g.cp, count: pixels, channels: g.c, to: dump.dw + first * g.c)
        for px in 0..<pixels {
            dequantize(a, planeBytes: planeA, offset: px * block.fc1.kPadded, count: g.c, q1,
                       into: dump.norm + (first + px) * g.c, affine: (block.normWeight, block.normBias))
            dequantize(h, planeBytes: planeH, offset: px * block.fc2.kPadded, count: hidden, q2,
                       into: dump.gelu + (first + px) * hidden, affine: nil)
        }
        var e1 = cnxq_epilogue.make(kind: CNXQ_OUT_F32, out: UnsafeMutableRawPointer(dump.fc1 + first * hidden), pixelStride: hidden)
        block.fc1.run(rows: pixels, a: UnsafeRawPointer(a), planeBytes: planeA, epilogue: &e1, scratch: arena.gemmScratch[t])
        var e2 = cnxq_epilogue.make(kind: CNXQ_OUT_F32, out: UnsafeMutableRawPointer(dump.fc2 + first * g.c), pixelStride: g.c)
        block.fc2.run(rows: pixels, a: UnsafeRawPointer(h), planeBytes: planeH, epilogue: &e2, scratch: arena.gemmScratch[t])
    }

    private func headForward(_ x: UnsafeMutablePointer<Float>, _ g: StageGeometry, logits: UnsafeMutablePointer<Float>,
                             arena: ExecutionArena, dump: LayerDump?) {
        let pooled = arena.chunkFloat[0]
        let inv = 1 / Float(g.h * g.w)
        pooled.update(repeating: 0, count: g.cp)
        for yy in 0..<g.h {
            for xx in 0..<g.w {
                let pixel = x + g.offset(yy, xx)
                for c in 0..<g.cp { pooled[c] += pixel[c] }
            }
        }
        for c in 0..<g.cp { pooled[c] *= inv }
        let a = arena.chunkA[0], planeA = chunkABytes / 2
        let q = head.input
        if let dump { copyRows(pooled, stride: g.cp, count: 1, channels: g.c, to: dump.buffer(.headPool, c: g.c, h: 1, w: 1)) }
        layerNormKernel.layerNorm(pooled, g.cp, 1, g.c, headEpsilon, nil, nil, head.inputKind, 1 / q.scale, q.zeroPoint,
                       a, a.assumingMemoryBound(to: UInt8.self) + planeA, head.kPadded)
        if let dump {
            dequantize(a, planeBytes: planeA, offset: 0, count: g.c, q, into: dump.buffer(.headNorm, c: g.c, h: 1, w: 1),
                       affine: (headNormWeight, headNormBias))
        }
        var ep = cnxq_epilogue.make(kind: CNXQ_OUT_F32, out: UnsafeMutableRawPointer(logits), pixelStride: head.n)
        head.run(rows: 1, a: UnsafeRawPointer(a), planeBytes: planeA, epilogue: &ep, scratch: arena.gemmScratch[0])
        arena.lap(.head, part: 0)
        if let dump {
            let d = dump.buffer(.headFC, c: head.n, h: 1, w: 1)
            for i in 0..<head.n { d[i] = logits[i] }
        }
    }

    // MARK: Helpers

    /// With an odd input size the stride-2 convolution skips the last row or column; dumps still
    /// show the LayerNorm output there (normalised, quantised, affine) like the graph computes it.
    private func dumpUnusedDownsampleInputs(_ stage: PlannedStage, _ xin: UnsafeMutablePointer<Float>, _ p: StageGeometry,
                                            into dump: UnsafeMutablePointer<Float>) {
        guard let q = stage.downsample?.input else { return }
        var z = [Float](repeating: 0, count: p.c)
        for yy in 0..<p.h {
            for xx in 0..<p.w where yy >= 2 * stage.geometry.h || xx >= 2 * stage.geometry.w {
                z.withUnsafeMutableBufferPointer { zb in
                    layerNormKernel.layerNorm(xin + p.offset(yy, xx), p.cp, 1, p.c, stage.downsampleEpsilon, nil, nil,
                                   Int32(CNXQ_ACT_F32.rawValue), 1, 0, zb.baseAddress, nil, p.c)
                }
                for c in 0..<p.c {
                    dump[(yy * p.w + xx) * p.c + c] = q.fakeQuantize(z[c]) * stage.downsampleNormWeight[c] + stage.downsampleNormBias[c]
                }
            }
        }
    }

    /// Depthwise 7x7 (pad 3 via the zero border) for the image's pixels `pixels` (row-major), one
    /// call of the plan's depthwise kernel per image row or part of one.
    private func depthwise7x7(xin: UnsafeMutablePointer<Float>, _ g: StageGeometry, pixels: Range<Int>,
                              weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>,
                              out: UnsafeMutablePointer<Float>) {
        var args = cnxk_f32_dwconv_args()
        args.input_row_stride = g.rowStride
        args.input_pixel_stride = g.cp
        args.weights = UnsafePointer(weights)
        args.weight_tap_stride = g.cp
        args.bias = UnsafePointer(bias)
        args.output_pixel_stride = g.cp
        args.channels = g.cp
        var p = pixels.lowerBound
        while p < pixels.upperBound {
            let y = p / g.w, x = p % g.w
            let count = min(g.w - x, pixels.upperBound - p)
            // The kernel's input is the top-left corner of the first pixel's 7 x 7 window.
            args.input = UnsafePointer(xin + y * g.rowStride + x * g.cp)
            args.pixels = count
            args.output = out + (p - pixels.lowerBound) * g.cp
            depthwiseKernel.f32Depthwise(&args)
            p += count
        }
    }

    /// Dequantises `count` values at element `offset` of an activation buffer, optionally applying a
    /// LayerNorm affine (for dumps).
    private func dequantize(_ buffer: UnsafeMutableRawPointer, planeBytes: Int, offset: Int, count: Int,
                            _ q: ActivationQuantization, into dst: UnsafeMutablePointer<Float>, affine: ([Float], [Float])?) {
        for c in 0..<count {
            var v: Float
            switch q.precision {
            case .float:
                v = buffer.load(fromByteOffset: (offset + c) * 4, as: Float.self)
            case .int8:
                v = Float(Int32(buffer.load(fromByteOffset: offset + c, as: UInt8.self)) - q.zeroPoint) * q.scale
            case .int16:
                let hi = Int32(buffer.load(fromByteOffset: offset + c, as: UInt8.self))
                let lo = Int32(buffer.load(fromByteOffset: planeBytes + offset + c, as: UInt8.self))
                v = Float(hi * 256 + lo - q.zeroPoint) * q.scale
            }
            if let (w, b) = affine { v = v * w[c] + b[c] }
            dst[c] = v
        }
    }

    private func copyRows(_ src: UnsafeMutablePointer<Float>, stride: Int, count: Int, channels: Int,
                          to dst: UnsafeMutablePointer<Float>) {
        for p in 0..<count { for c in 0..<channels { dst[p * channels + c] = src[p * stride + c] } }
    }

    private func copyInterior(_ x: UnsafeMutablePointer<Float>, _ g: StageGeometry, to dst: UnsafeMutablePointer<Float>) {
        for yy in 0..<g.h {
            for xx in 0..<g.w {
                for c in 0..<g.c { dst[(yy * g.w + xx) * g.c + c] = x[g.offset(yy, xx) + c] }
            }
        }
    }
}
