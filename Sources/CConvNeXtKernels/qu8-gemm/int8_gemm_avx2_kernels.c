// AVX2 u8 x s8 GEMM kernels without VNNI: exact 16-bit widening and vpmaddwd.
//
// B (4 columns x 4 k = 16 packed bytes) is sign-extended to 16 words; A's rows are widened to
// words once per row tile and 64-column block (stack buffer), so a row's 4 k are one 64-bit
// broadcast load, [a0 a1 a2 a3] x 4 words; vpmaddwd then gives per 32-bit lane the exact partial
// sums (column, k0 + k1) and (column, k2 + k3). The tile keeps those partial lanes in its
// accumulators and adds adjacent lanes once at the end (hadd + permute). vpmaddubsw is not used:
// 255 * 127 * 2 overflows its saturating int16 sums. Inner loop per 4 k: 2 widenings of B,
// 2 x MR x planes (vpmaddwd + vpaddd), broadcasts from memory.
//
// Tiles: int8 input 4 rows x 8 columns (8 accumulators), int16 input (two byte planes) 2 rows x 8
// columns (8 accumulators). The epilogue is the operation-for-operation vector form of the
// scalar one of int8_scalar_math.h (as the AVX-512 kernels do it), so results are bit-identical
// to the portable kernels. GELU epilogues (fc1 of every block) are the costly ones: the tiles
// stage their biased values for a row tile x 64-column block, and one loop of independent
// 8-lane steps then applies GELU and requantises (the CPU overlaps the steps; per tile, the long
// dependency chains of its few rows did not overlap). The GELU coefficients come per lane by one
// 16-byte load of the lane's interval row plus a 4x4 transpose, the requantisation constants are
// vectors formed once per call.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"

#pragma STDC FP_CONTRACT OFF

#define AVX2W_TARGET __attribute__((target("avx2,fma")))
#define ALWAYS_INLINE static inline __attribute__((always_inline))
// AVX2W_MAX_ROWS: planes x rows of the widened A buffer; AVX2W_MAX_KG: its k groups (k <= 2048;
// longer rows go to the portable AVX2 build, which gives the same bits); AVX2W_NB: columns per
// block (their packed weights, k x 64 bytes, stay in L2 while the row tiles pass).
enum { AVX2W_MAX_MR = 4, AVX2W_MAX_ROWS = 4, AVX2W_MAX_KG = 512, AVX2W_NR = 8, AVX2W_NB = 64 };

/// The GELU coefficients interval-major, [i][d] = cnxq_gelu_coefficients[d][i] (and for u8
/// outputs cnxq_gelu_u8_coefficients[d][i], d < 3, then 0): one 16-byte load fetches the
/// coefficients of one lane's interval.
typedef struct {
    float c[CNXQ_GELU_INTERVALS][4] __attribute__((aligned(16)));
    float u8[CNXQ_GELU_U8_INTERVALS][4] __attribute__((aligned(16)));
} avx2w_gelu_table;

/// Fills the table the output kind uses from its coefficient header (once per GEMM call, no
/// global state).
ALWAYS_INLINE void gelu_table_init(avx2w_gelu_table *gelu, int kind) {
    if (kind == CNXQ_OUT_GELU_U8) {
        for (int i = 0; i < CNXQ_GELU_U8_INTERVALS; i++)
            for (int d = 0; d < 4; d++) gelu->u8[i][d] = d < 3 ? cnxq_gelu_u8_coefficients[d][i] : 0.0f;
    } else {
        for (int i = 0; i < CNXQ_GELU_INTERVALS; i++)
            for (int d = 0; d < 4; d++) gelu->c[i][d] = cnxq_gelu_coefficients[d][i];
    }
}

/// The rows at `byte_offsets` (one per lane) of a [32][4] float table, transposed: the
/// lanes' coefficients of degree d in out[d]. One 16-byte load per lane and a 4x4 transpose per
/// 128-bit half: cheaper here than 32-entry lookups by vpermps + blends (about 46 vs 53 us for
/// atto's stage-1 fc1 chunk); no vgatherdps (slow on AMD, and qemu 7.2 miscomputes it in some
/// register allocations).
AVX2W_TARGET ALWAYS_INLINE void lookup_rows(const float (*table)[4], __m256i byte_offsets, __m256 out[4]) {
    int32_t offset[8] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)(void *)offset, byte_offsets);
    const char *base = (const char *)table;
#define ROWS(j) _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_load_ps((const float *)(const void *)(base + offset[j]))), \
                                     _mm_load_ps((const float *)(const void *)(base + offset[(j) + 4])), 1)
    const __m256 x0 = ROWS(0), x1 = ROWS(1), x2 = ROWS(2), x3 = ROWS(3);
#undef ROWS
    const __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1);
    const __m256 t2 = _mm256_unpacklo_ps(x2, x3), t3 = _mm256_unpackhi_ps(x2, x3);
    out[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    out[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    out[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    out[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
}

/// Same operations as cnxq_gelu_scalar, eight lanes at a time.
AVX2W_TARGET ALWAYS_INLINE __m256 gelu_v8(__m256 v, const avx2w_gelu_table *gelu) {
    const __m256 av = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
    const __m256 a = _mm256_min_ps(av, _mm256_set1_ps(CNXQ_GELU_LIMIT));
    // a >= 0, not NaN: truncation is floor.
    __m256 ft = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(_mm256_mul_ps(a, _mm256_set1_ps(1.0f / CNXQ_GELU_WIDTH))));
    ft = _mm256_min_ps(ft, _mm256_set1_ps((float)(CNXQ_GELU_INTERVALS - 1)));
    const __m256 r = _mm256_sub_ps(a, _mm256_mul_ps(ft, _mm256_set1_ps(CNXQ_GELU_WIDTH)));
    const __m256 r2 = _mm256_mul_ps(r, r);
    __m256 c[4];
    lookup_rows(gelu->c, _mm256_slli_epi32(_mm256_cvttps_epi32(ft), 4), c);
    const __m256 e0 = _mm256_add_ps(c[0], _mm256_mul_ps(c[1], r));
    const __m256 e1 = _mm256_add_ps(c[2], _mm256_mul_ps(c[3], r));
    const __m256 p = _mm256_add_ps(e0, _mm256_mul_ps(r2, e1));
    return _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_mul_ps(av, p));
}

/// Same operations as cnxq_gelu_u8_scalar, eight lanes at a time.
AVX2W_TARGET ALWAYS_INLINE __m256 gelu_u8_v8(__m256 v, const avx2w_gelu_table *gelu) {
    __m256 x = _mm256_max_ps(v, _mm256_set1_ps(CNXQ_GELU_U8_LOW));
    x = _mm256_min_ps(x, _mm256_set1_ps(CNXQ_GELU_U8_HIGH));
    const __m256i i = _mm256_and_si256(_mm256_cvtps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(CNXQ_GELU_U8_PER_UNIT))),
                                       _mm256_set1_epi32(31));
    __m256 c[4];
    lookup_rows(gelu->u8, _mm256_slli_epi32(i, 4), c);
    const __m256 p = _mm256_add_ps(c[0], _mm256_mul_ps(x, _mm256_add_ps(c[1], _mm256_mul_ps(x, c[2]))));
    return _mm256_mul_ps(v, p);
}

/// The output quantisation of one GEMM as vectors, formed once per call: stores through the
/// u8 output may alias the epilogue struct, so per-step reads of it would be repeated.
typedef struct {
    __m256 inv_scale, lo, hi;
    __m256i zero_point, qmax;
} avx2w_requant;

/// The requantisation constants of ep for outputs in [0, qmax] (the float clamp bounds of
/// cnxq_quantize_scalar).
AVX2W_TARGET ALWAYS_INLINE avx2w_requant requant_init(const cnxq_epilogue *ep, int32_t qmax) {
    avx2w_requant q;
    q.inv_scale = _mm256_set1_ps(ep->inv_scale);
    q.lo = _mm256_set1_ps((float)(-ep->zero_point) - 1.0f);
    q.hi = _mm256_set1_ps((float)(qmax - ep->zero_point) + 1.0f);
    q.zero_point = _mm256_set1_epi32(ep->zero_point);
    q.qmax = _mm256_set1_epi32(qmax);
    return q;
}

/// Same operations as cnxq_quantize_scalar (cvtps2dq rounds half to even like the scalar
/// 1.5 * 2^23 trick on the clamped range).
AVX2W_TARGET ALWAYS_INLINE __m256i quantize_v8(__m256 x, const avx2w_requant *rq) {
    __m256 t = _mm256_mul_ps(x, rq->inv_scale);
    t = _mm256_max_ps(t, rq->lo);
    t = _mm256_min_ps(t, rq->hi);
    __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(t), rq->zero_point);
    q = _mm256_max_epi32(q, _mm256_setzero_si256());
    return _mm256_min_epi32(q, rq->qmax);
}

/// Writes the low bytes of eight int32 lanes in [0, 255] (the first `count`).
AVX2W_TARGET ALWAYS_INLINE void store_bytes8(uint8_t *dst, __m256i q, size_t count) {
    const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const __m128i b = _mm_packus_epi16(w, w);
    if (count == 8) {
        _mm_storel_epi64((__m128i *)(void *)dst, b);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)(void *)tmp, b);
        memcpy(dst, tmp, count);
    }
}

/// Writes the first `count` of eight floats. Tails go through a stack copy, not vmaskmovps:
/// emulators (qemu) do not suppress faults and writes of masked-off lanes the way CPUs do.
AVX2W_TARGET ALWAYS_INLINE void store_floats8(float *dst, __m256 v, size_t count) {
    if (count == 8) {
        _mm256_storeu_ps(dst, v);
    } else {
        float tmp[8];
        _mm256_storeu_ps(tmp, v);
        memcpy(dst, tmp, count * sizeof(float));
    }
}

/// Writes columns [0, count) of one output row from their biased values v.
AVX2W_TARGET ALWAYS_INLINE void store_v8(const int kind, const cnxq_epilogue *ep, const avx2w_gelu_table *gelu,
                                         const avx2w_requant *rq, size_t offset, size_t count, __m256 v) {
    switch (kind) {
    case CNXQ_OUT_F32:
    case CNXQ_OUT_GELU_F32: {
        if (kind == CNXQ_OUT_GELU_F32) v = gelu_v8(v, gelu);
        store_floats8((float *)ep->out + offset, v, count);
        break;
    }
    case CNXQ_OUT_F32_ADD: {
        float *dst = (float *)ep->out + offset;
        if (count == 8) {
            _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(ep->residual + offset), v));
        } else {
            float r[8] = {0};
            memcpy(r, ep->residual + offset, count * sizeof(float));
            store_floats8(dst, _mm256_add_ps(_mm256_loadu_ps(r), v), count);
        }
        break;
    }
    case CNXQ_OUT_GELU_U8:
        store_bytes8((uint8_t *)ep->out + offset, quantize_v8(gelu_u8_v8(v, gelu), rq), count);
        break;
    case CNXQ_OUT_GELU_U16: {
        const __m256i q = quantize_v8(gelu_v8(v, gelu), rq);
        store_bytes8((uint8_t *)ep->out + offset, _mm256_srli_epi32(q, 8), count);
        store_bytes8(ep->out_lo + offset, _mm256_and_si256(q, _mm256_set1_epi32(255)), count);
        break;
    }
    default:
        break;
    }
}

/// Partial-lane accumulators of 8 columns (two vectors of 4 columns x 2 partial sums) -> the
/// 8 column sums in order.
AVX2W_TARGET ALWAYS_INLINE __m256i reduce_pairs(__m256i q0, __m256i q1) {
    // hadd: [c0 c1 c4 c5 | c2 c3 c6 c7]
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(q0, q1), _MM_SHUFFLE(3, 1, 2, 0));
}

/// Widens groups [0, k_groups) of one A row to words: group g at dst[4 g .. 4 g + 3] (reads only
/// the row's k_groups * 4 bytes).
AVX2W_TARGET ALWAYS_INLINE void widen_row(uint16_t *dst, const uint8_t *src, size_t k_groups) {
    const size_t bytes = k_groups * 4;
    size_t i = 0;
    for (; i + 16 <= bytes; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    for (; i < bytes; i += 4) {
        int32_t x;
        memcpy(&x, src + i, 4);
        _mm_storel_epi64((__m128i *)(void *)(dst + i), _mm_cvtepu8_epi16(_mm_cvtsi32_si128(x)));
    }
}

/// Whether an output kind applies GELU: its epilogue runs per row and column block, not per tile.
static inline int is_gelu_kind(int kind) {
    return kind == CNXQ_OUT_GELU_F32 || kind == CNXQ_OUT_GELU_U8 || kind == CNXQ_OUT_GELU_U16;
}

/// The MR rows' exact column sums at columns [n0, n0 + 8) (inside one 16-column panel, bp its
/// start), then their biased values v: GELU kinds stage them (row r at staged + r * AVX2W_NB),
/// the others go through the epilogue here. aw: the rows (and low planes) widened, row r plane q
/// at aw + (q * MR + r) * stride; MR, planes and kind are constants after inlining.
AVX2W_TARGET ALWAYS_INLINE void tile_w(const int MR, const int planes, const int kind, size_t m0, size_t m_end,
                                       size_t n0, size_t n, size_t k_groups, const uint16_t *aw, size_t stride,
                                       const int8_t *bp, const cnxq_epilogue *ep, float *staged) {
    __m256i acc[AVX2W_MAX_MR][2];
    __m256i acc_lo[AVX2W_MAX_MR][2];
    // Fully unrolled (gcc -O2 otherwise keeps the accumulators in memory).
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        acc_lo[r][0] = acc_lo[r][1] = _mm256_setzero_si256();
    }
    const int8_t *bg = bp + (n0 % 16) * 4;
    for (size_t g = 0; g < k_groups; g++, bg += 64) {
        const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)bg));
        const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(bg + 16)));
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            int64_t x;
            memcpy(&x, aw + (size_t)r * stride + 4 * g, 8);
            const __m256i av = _mm256_set1_epi64x(x);  // [a0 a1 a2 a3] x 4 words
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
            if (planes == 2) {
                int64_t y;
                memcpy(&y, aw + (size_t)(MR + r) * stride + 4 * g, 8);
                const __m256i al = _mm256_set1_epi64x(y);
                acc_lo[r][0] = _mm256_add_epi32(acc_lo[r][0], _mm256_madd_epi16(al, b0));
                acc_lo[r][1] = _mm256_add_epi32(acc_lo[r][1], _mm256_madd_epi16(al, b1));
            }
        }
    }
    const size_t count = n - n0 < AVX2W_NR ? n - n0 : AVX2W_NR;
    // Per-column arrays hold round_up(n, 16) entries: full loads are in bounds.
    const __m256 scale = _mm256_loadu_ps(ep->scale + n0);
    const __m256 bias = _mm256_loadu_ps(ep->bias + n0);
    const __m256i zc = _mm256_loadu_si256((const __m256i *)(const void *)(ep->zp_colsum + n0));
    __m256i zc_lo = zc;
    if (planes == 2) zc_lo = _mm256_loadu_si256((const __m256i *)(const void *)(ep->zp_colsum_lo + n0));
    size_t y = m0 / ep->out_width, x = m0 % ep->out_width;
    for (int r = 0; r < MR && m0 + (size_t)r < m_end; r++) {
        const size_t offset = y * ep->out_row_stride + x * ep->out_pixel_stride + n0;
        if (++x == ep->out_width) {
            x = 0;
            y++;
        }
        __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(reduce_pairs(acc[r][0], acc[r][1]), zc));
        if (planes == 2) {
            const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(reduce_pairs(acc_lo[r][0], acc_lo[r][1]), zc_lo));
            v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(256.0f)), lo);
        }
        v = _mm256_add_ps(_mm256_mul_ps(v, scale), bias);
        if (is_gelu_kind(kind))
            _mm256_store_ps(staged + (size_t)r * AVX2W_NB, v);
        else
            store_v8(kind, ep, NULL, NULL, offset, count, v);
    }
}

/// Columns in blocks of AVX2W_NB (their weights stay in L2), then row tiles whose rows are
/// widened to words once per column block (into a stack buffer, k_groups <= kg_chunk; longer
/// rows are never used by the model but work: see the caller), then 8-column tiles.
AVX2W_TARGET ALWAYS_INLINE void gemm_w(const int MR, const int planes, const int kind, size_t m_begin, size_t m_end,
                                       size_t n, size_t k_groups, const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                       const int8_t *b_packed, const cnxq_epilogue *ep) {
    uint16_t aw[AVX2W_MAX_ROWS * AVX2W_MAX_KG * 4] __attribute__((aligned(32)));
    const size_t stride = k_groups * 4;
    const size_t panel_bytes = k_groups * 64;
    avx2w_gelu_table gelu;
    // GELU epilogues run over a whole row tile x column block of staged values: independent
    // 8-lane steps that the CPU overlaps, where per tile the long GELU chains of its few rows
    // stalled it.
    float staged[AVX2W_MAX_MR * AVX2W_NB] __attribute__((aligned(32)));
    if (is_gelu_kind(kind)) gelu_table_init(&gelu, kind);
    const avx2w_requant rq = requant_init(ep, kind == CNXQ_OUT_GELU_U16 ? 65535 : 255);
    for (size_t nb = 0; nb < n; nb += AVX2W_NB) {
        const size_t nb_end = n - nb < AVX2W_NB ? n : nb + AVX2W_NB;
        for (size_t m0 = m_begin; m0 < m_end; m0 += (size_t)MR) {
            for (int r = 0; r < MR; r++) {
                // Rows past the end repeat the last row: one tile shape, results discarded.
                const size_t m = m0 + (size_t)r < m_end ? m0 + (size_t)r : m_end - 1;
                widen_row(aw + (size_t)r * stride, a + m * lda, k_groups);
                if (planes == 2) widen_row(aw + (size_t)(MR + r) * stride, a_lo + m * lda, k_groups);
            }
            for (size_t n0 = nb; n0 < nb_end; n0 += AVX2W_NR)
                tile_w(MR, planes, kind, m0, m_end, n0, n, k_groups, aw, stride, b_packed + (n0 / 16) * panel_bytes, ep,
                       staged + (n0 - nb));
            if (!is_gelu_kind(kind)) continue;
            for (int r = 0; r < MR && m0 + (size_t)r < m_end; r++) {
                const size_t offset = cnxq_out_offset(ep, m0 + (size_t)r) + nb;
                for (size_t c = 0; c < nb_end - nb; c += AVX2W_NR) {
                    const size_t count = nb_end - nb - c < AVX2W_NR ? nb_end - nb - c : AVX2W_NR;
                    store_v8(kind, ep, &gelu, &rq, offset + c, count, _mm256_load_ps(staged + (size_t)r * AVX2W_NB + c));
                }
            }
        }
    }
}

#define AVX2W_BY_KIND(MR, PLANES)                                                                                     \
    switch (ep->kind) {                                                                                              \
    case CNXQ_OUT_F32: gemm_w(MR, PLANES, CNXQ_OUT_F32, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep); break; \
    case CNXQ_OUT_F32_ADD: gemm_w(MR, PLANES, CNXQ_OUT_F32_ADD, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep); break; \
    case CNXQ_OUT_GELU_F32: gemm_w(MR, PLANES, CNXQ_OUT_GELU_F32, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep); break; \
    case CNXQ_OUT_GELU_U8: gemm_w(MR, PLANES, CNXQ_OUT_GELU_U8, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep); break; \
    case CNXQ_OUT_GELU_U16: gemm_w(MR, PLANES, CNXQ_OUT_GELU_U16, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep); break; \
    default: break;                                                                                                  \
    }

AVX2W_TARGET void cnxq_gemm_u8s8_4x8c4_avx2w(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                             const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                             const int8_t *b_packed, const cnxq_epilogue *ep) {
    if (k_groups > AVX2W_MAX_KG) {
        cnxq_gemm_u8s8_4x16c4_avx2(m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep);
        return;
    }
    AVX2W_BY_KIND(4, 1)
}

AVX2W_TARGET void cnxq_gemm_u16s8_2x8c4_avx2w(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                              const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                              const int8_t *b_packed, const cnxq_epilogue *ep) {
    if (k_groups > AVX2W_MAX_KG) {
        cnxq_gemm_u16s8_4x16c4_avx2(m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep);
        return;
    }
    AVX2W_BY_KIND(2, 2)
}
#endif
