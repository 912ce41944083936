// AVX-512 VNNI u8 x s8 GEMM kernels: 6 rows x up to 64 columns (int8 input) or 6 x 32 (int16 input
// as two byte planes) of Int32 accumulators, one vpdpbusd per 4 k per 16 columns, and the fused
// epilogue (scale, bias, GELU, requantise, residual add) while the tile is in registers.
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"
#include "int8_avx512_epilogue.h"

#pragma STDC FP_CONTRACT OFF

#define VNNI_TARGET __attribute__((target("avx512vnni,avx512bw,avx512vl,avx512dq,avx512f")))
#define ALWAYS_INLINE static inline __attribute__((always_inline))
enum { VNNI_MR = 6 };

/// One VNNI_MR x (16 * nv) tile; nv, planes and the epilogue kind are constants after inlining.
VNNI_TARGET ALWAYS_INLINE void tile_v(const int nv, const int planes, const int kind, size_t m0, size_t m_end, size_t n0, size_t n,
                                      size_t k_groups, const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                      const int8_t *bp, size_t panel_bytes, const cnxq_epilogue *ep) {
    __m512i acc[VNNI_MR][4];
    __m512i acc_lo[VNNI_MR][4];
    const uint8_t *rows[VNNI_MR];
    const uint8_t *rows_lo[VNNI_MR];
    for (int r = 0; r < VNNI_MR; r++) {
        // Rows past the end repeat the last row: one tile shape, results discarded.
        size_t m = m0 + (size_t)r < m_end ? m0 + (size_t)r : m_end - 1;
        rows[r] = a + m * lda;
        rows_lo[r] = planes == 2 ? a_lo + m * lda : rows[r];
        for (int j = 0; j < nv; j++) {
            acc[r][j] = _mm512_setzero_si512();
            acc_lo[r][j] = _mm512_setzero_si512();
        }
    }
    for (size_t g = 0; g < k_groups; g++) {
        __m512i b[4];
        for (int j = 0; j < nv; j++) b[j] = _mm512_loadu_si512((const void *)(bp + (size_t)j * panel_bytes + g * 64));
        for (int r = 0; r < VNNI_MR; r++) {
            int32_t x;
            memcpy(&x, rows[r] + 4 * g, 4);
            const __m512i av = _mm512_set1_epi32(x);
            for (int j = 0; j < nv; j++) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, b[j]);
            if (planes == 2) {
                int32_t y;
                memcpy(&y, rows_lo[r] + 4 * g, 4);
                const __m512i al = _mm512_set1_epi32(y);
                for (int j = 0; j < nv; j++) acc_lo[r][j] = _mm512_dpbusd_epi32(acc_lo[r][j], al, b[j]);
            }
        }
    }
    // Output offsets of the tile's rows: one division per tile, then steps along the image row.
    size_t offsets[VNNI_MR];
    {
        size_t y = m0 / ep->out_width, x = m0 % ep->out_width;
        for (int r = 0; r < VNNI_MR; r++) {
            offsets[r] = y * ep->out_row_stride + x * ep->out_pixel_stride;
            if (++x == ep->out_width) {
                x = 0;
                y++;
            }
        }
    }
    for (int j = 0; j < nv; j++) {
        const size_t col = n0 + 16 * (size_t)j;
        if (col >= n) break;
        const __mmask16 mask = n - col >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - col)) - 1);
        const __m512 scale = _mm512_loadu_ps(ep->scale + col);
        const __m512 bias = _mm512_loadu_ps(ep->bias + col);
        const __m512i zc = _mm512_loadu_si512((const void *)(ep->zp_colsum + col));
        __m512i zc_lo = zc;
        if (planes == 2) zc_lo = _mm512_loadu_si512((const void *)(ep->zp_colsum_lo + col));
        for (int r = 0; r < VNNI_MR; r++) {
            if (m0 + (size_t)r >= m_end) continue;
            __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], zc));
            if (planes == 2) {
                __m512 lo = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc_lo[r][j], zc_lo));
                v = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(256.0f)), lo);
            }
            v = _mm512_add_ps(_mm512_mul_ps(v, scale), bias);
            cnxq_avx512_store(kind, ep, offsets[r] + col, mask, v);
        }
    }
}

/// Column blocks of four (int8) or two (int16) panels, row tiles inside, for one epilogue kind.
#define GEMM_LOOPS(PLANES, MAX_NV, KIND)                                                                     \
    for (size_t p0 = 0; p0 < panels; p0 += MAX_NV) {                                                       \
        const size_t nv = panels - p0 < MAX_NV ? panels - p0 : MAX_NV;                                     \
        const int8_t *bp = b_packed + p0 * panel_bytes;                                                    \
        for (size_t m0 = m_begin; m0 < m_end; m0 += VNNI_MR) {                                             \
            switch (nv) {                                                                                  \
            case 4: tile_v(4, PLANES, KIND, m0, m_end, p0 * 16, n, k_groups, a, a_lo, lda, bp, panel_bytes, ep); break; \
            case 3: tile_v(3, PLANES, KIND, m0, m_end, p0 * 16, n, k_groups, a, a_lo, lda, bp, panel_bytes, ep); break; \
            case 2: tile_v(2, PLANES, KIND, m0, m_end, p0 * 16, n, k_groups, a, a_lo, lda, bp, panel_bytes, ep); break; \
            default: tile_v(1, PLANES, KIND, m0, m_end, p0 * 16, n, k_groups, a, a_lo, lda, bp, panel_bytes, ep); break; \
            }                                                                                              \
        }                                                                                                  \
    }

#define GEMM_BY_KIND(PLANES, MAX_NV)                                                                         \
    switch (ep->kind) {                                                                                    \
    case CNXQ_OUT_F32: GEMM_LOOPS(PLANES, MAX_NV, CNXQ_OUT_F32) break;                                     \
    case CNXQ_OUT_F32_ADD: GEMM_LOOPS(PLANES, MAX_NV, CNXQ_OUT_F32_ADD) break;                             \
    case CNXQ_OUT_GELU_F32: GEMM_LOOPS(PLANES, MAX_NV, CNXQ_OUT_GELU_F32) break;                           \
    case CNXQ_OUT_GELU_U8: GEMM_LOOPS(PLANES, MAX_NV, CNXQ_OUT_GELU_U8) break;                             \
    case CNXQ_OUT_GELU_U16: GEMM_LOOPS(PLANES, MAX_NV, CNXQ_OUT_GELU_U16) break;                           \
    default: break;                                                                                        \
    }

VNNI_TARGET void cnxq_gemm_u8s8_6x64c4_avx512vnni(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                                  const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                                  const int8_t *b_packed, const cnxq_epilogue *ep) {
    (void)a_lo;
    const size_t panels = (n + 15) / 16;
    const size_t panel_bytes = k_groups * 64;
    GEMM_BY_KIND(1, 4)
}

VNNI_TARGET void cnxq_gemm_u16s8_6x32c4_avx512vnni(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                                   const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                                   const int8_t *b_packed, const cnxq_epilogue *ep) {
    const size_t panels = (n + 15) / 16;
    const size_t panel_bytes = k_groups * 64;
    GEMM_BY_KIND(2, 2)
}

// The portable kernels built for AVX-512 without VNNI (e.g. Skylake-SP): same code, wider vectors.
#undef CNXQ_PORTABLE_TARGET
#define CNXQ_PORTABLE_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define CNXQ_PORTABLE_SUFFIX avx512bw
#include "int8_gemm_portable_impl.h"

#define LN_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

/// Sum of 16 lanes in the pairwise order of int8_layernorm_impl.h (j + j+8, then +4, +2, +1).
LN_TARGET ALWAYS_INLINE float reduce_pairwise(__m512 v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
    __m128 r = _mm_add_ss(d, _mm_shuffle_ps(d, d, 1));
    return _mm_cvtss_f32(r);
}

/// Mean and 1 / std of np pixels (np <= 4) at once: each pixel's operations as in
/// int8_layernorm_impl.h, interleaved so that their reduction, sqrt and divide latencies overlap
/// (one pixel at a time was latency-bound: 1.2-1.5x slower on Zen 4 at 40-320 channels).
LN_TARGET ALWAYS_INLINE void ln_stats(const int np, const float *x, size_t stride, size_t full, __mmask16 tail,
                                      float inv_channels, float eps, float *mean, float *inv_std) {
    __m512 lane[4], sq[4], vmean[4];
    for (int i = 0; i < np; i++) lane[i] = _mm512_setzero_ps();
    for (size_t c = 0; c < full; c += 16)
        for (int i = 0; i < np; i++) lane[i] = _mm512_add_ps(lane[i], _mm512_loadu_ps(x + i * stride + c));
    if (tail)
        for (int i = 0; i < np; i++)
            lane[i] = _mm512_mask_add_ps(lane[i], tail, lane[i], _mm512_maskz_loadu_ps(tail, x + i * stride + full));
    for (int i = 0; i < np; i++) {
        mean[i] = reduce_pairwise(lane[i]) * inv_channels;
        vmean[i] = _mm512_set1_ps(mean[i]);
        sq[i] = _mm512_setzero_ps();
    }
    for (size_t c = 0; c < full; c += 16)
        for (int i = 0; i < np; i++) {
            __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i * stride + c), vmean[i]);
            sq[i] = _mm512_add_ps(sq[i], _mm512_mul_ps(d, d));
        }
    if (tail)
        for (int i = 0; i < np; i++) {
            __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i * stride + full), vmean[i]);
            sq[i] = _mm512_mask_add_ps(sq[i], tail, sq[i], _mm512_mul_ps(d, d));
        }
    for (int i = 0; i < np; i++) inv_std[i] = 1.0f / sqrtf(reduce_pairwise(sq[i]) * inv_channels + eps);
}

/// The AVX-512 build of cnxq_layernorm: the same arithmetic as int8_layernorm_impl.h, with the
/// sixteen partial sums in one register, four pixels' statistics at a time.
LN_TARGET void cnxq_layernorm_avx512(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                                     const float *gamma, const float *beta, int32_t kind, float inv_scale,
                                     int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride) {
    const size_t full = channels / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (channels - full)) - 1);
    const float inv_channels = 1.0f / (float)channels;
    const int32_t qmax = kind == CNXQ_ACT_U16 ? 65535 : 255;
    const __m512 vinv = _mm512_set1_ps(inv_scale);
    const __m512 vlo = _mm512_set1_ps((float)(-zero_point) - 1.0f);
    const __m512 vhi = _mm512_set1_ps((float)(qmax - zero_point) + 1.0f);
    const __m512i vzp = _mm512_set1_epi32(zero_point), vqmax = _mm512_set1_epi32(qmax);
    for (size_t p0 = 0; p0 < count; p0 += 4) {
        const int np = count - p0 >= 4 ? 4 : (int)(count - p0);
        float mean[4], inv_std[4];
        switch (np) {
        case 4: ln_stats(4, x + p0 * x_pixel_stride, x_pixel_stride, full, tail, inv_channels, eps, mean, inv_std); break;
        case 3: ln_stats(3, x + p0 * x_pixel_stride, x_pixel_stride, full, tail, inv_channels, eps, mean, inv_std); break;
        case 2: ln_stats(2, x + p0 * x_pixel_stride, x_pixel_stride, full, tail, inv_channels, eps, mean, inv_std); break;
        default: ln_stats(1, x + p0 * x_pixel_stride, x_pixel_stride, full, tail, inv_channels, eps, mean, inv_std); break;
        }
        for (int i = 0; i < np; i++) {
            const size_t p = p0 + (size_t)i;
            const float *xp = x + p * x_pixel_stride;
            const __m512 vmean = _mm512_set1_ps(mean[i]);
            const __m512 vstd = _mm512_set1_ps(inv_std[i]);
            const size_t o = p * out_pixel_stride;
            for (size_t c = 0; c < channels; c += 16) {
                const __mmask16 m = c + 16 <= channels ? (__mmask16)0xFFFF : tail;
                __m512 z = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp + c), vmean), vstd);
                if (gamma != NULL && beta != NULL) {
                    z = _mm512_add_ps(_mm512_mul_ps(z, _mm512_maskz_loadu_ps(m, gamma + c)), _mm512_maskz_loadu_ps(m, beta + c));
                    _mm512_mask_storeu_ps((float *)out + o + c, m, z);
                } else if (kind == CNXQ_ACT_F32) {
                    _mm512_mask_storeu_ps((float *)out + o + c, m, z);
                } else {
                    __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(z, vinv), vlo), vhi);
                    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(t), vzp);
                    q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_setzero_si512()), vqmax);
                    if (kind == CNXQ_ACT_U8) {
                        _mm512_mask_cvtusepi32_storeu_epi8((uint8_t *)out + o + c, m, q);
                    } else {
                        _mm512_mask_cvtusepi32_storeu_epi8((uint8_t *)out + o + c, m, _mm512_srli_epi32(q, 8));
                        _mm512_mask_cvtusepi32_storeu_epi8(out_lo + o + c, m, _mm512_and_si512(q, _mm512_set1_epi32(255)));
                    }
                }
            }
        }
    }
}
#endif
