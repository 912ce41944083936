// The portable int8 kernels built for AVX2 (Haswell, Zen): the same code and the same integer
// arithmetic with 256-bit vectors, so results are bit-identical to the portable build; and the
// AVX2 LayerNorm, the portable one's floats with explicit vectors.
#if defined(__x86_64__)
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"

#define CNXQ_PORTABLE_TARGET __attribute__((target("avx2,fma")))
#define CNXQ_PORTABLE_SUFFIX avx2
#include "int8_gemm_portable_impl.h"

#include <immintrin.h>
#include <math.h>

#pragma STDC FP_CONTRACT OFF

#define LN_TARGET __attribute__((target("avx2,fma")))
#define LN_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// Sum of the 16 partial sums (lanes 0-7 in `lo`, 8-15 in `hi`) in the pairwise order of
/// int8_layernorm_impl.h: j + j+8, then +4, +2, +1.
LN_INLINE float ln_reduce_pairwise(__m256 lo, __m256 hi) {
    const __m256 h = _mm256_add_ps(lo, hi);
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(d, _mm_shuffle_ps(d, d, 1)));
}

/// Lanes below `n` (0...8) set.
LN_INLINE __m256i ln_mask(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// The first `n` (0...8) floats at `p`, zeros above. vmaskmovps would do it, but it is slow on
/// AMD, and qemu's emulation of it faults on masked-out lanes past a mapped page.
LN_INLINE __m256 ln_load_partial(const float *p, size_t n) {
    float tmp[8] = {0};
    memcpy(tmp, p, n * sizeof(float));
    return _mm256_loadu_ps(tmp);
}

/// Stores the first `n` (0...8) lanes of `v` at `p`.
LN_INLINE void ln_store_partial(float *p, __m256 v, size_t n) {
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    memcpy(p, tmp, n * sizeof(float));
}

/// 8 u8 (or the low bytes of 8 u16) from 8 int32 in 0...qmax: the first `n` bytes stored.
LN_INLINE void ln_store_bytes(uint8_t *dst, __m256i q, size_t n) {
    const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const __m128i b = _mm_packus_epi16(w, w);
    if (n == 8) {
        _mm_storel_epi64((__m128i *)dst, b);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, b);
        memcpy(dst, tmp, n);
    }
}

/// Normalises 8 channels `x` (the first `n` real) and stores them at element `o` of `out` in
/// the output `kind` (with `gamma`/`beta`: float with affine).
LN_INLINE void ln_output(const float *gamma, const float *beta, int32_t kind, void *out, uint8_t *out_lo, size_t o,
                         size_t c, __m256 x, __m256 vmean, __m256 vstd, __m256 vinv, __m256 vlo, __m256 vhi, __m256i vzp,
                         __m256i vqmax, size_t n) {
    __m256 z = _mm256_mul_ps(_mm256_sub_ps(x, vmean), vstd);
    if (gamma != NULL && beta != NULL) {
        if (n == 8) {
            z = _mm256_add_ps(_mm256_mul_ps(z, _mm256_loadu_ps(gamma + c)), _mm256_loadu_ps(beta + c));
            _mm256_storeu_ps((float *)out + o, z);
        } else {
            z = _mm256_add_ps(_mm256_mul_ps(z, ln_load_partial(gamma + c, n)), ln_load_partial(beta + c, n));
            ln_store_partial((float *)out + o, z, n);
        }
    } else if (kind == CNXQ_ACT_F32) {
        if (n == 8) _mm256_storeu_ps((float *)out + o, z);
        else ln_store_partial((float *)out + o, z, n);
    } else {
        // cnxq_quantize_scalar: clamp (NaN to the low bound), round half to even, clamp.
        const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(z, vinv), vlo), vhi);
        __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(t), vzp);
        q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_setzero_si256()), vqmax);
        if (kind == CNXQ_ACT_U8) {
            ln_store_bytes((uint8_t *)out + o, q, n);
        } else {
            ln_store_bytes((uint8_t *)out + o, _mm256_srli_epi32(q, 8), n);
            ln_store_bytes(out_lo + o, _mm256_and_si256(q, _mm256_set1_epi32(255)), n);
        }
    }
}

/// Mean and 1 / std of np pixels (np <= 4) at once, each pixel's operations those of the
/// one-pixel loop, interleaved so that their reduction, sqrt and divide latencies overlap.
LN_INLINE void ln_stats(const int np, const float *x, size_t stride, size_t full, size_t rest_lo, size_t rest_hi,
                        __m256i tail_lo, __m256i tail_hi, float inv_channels, float eps, float *mean, float *inv_std) {
    __m256 lo[4], hi[4], vmean[4];
    const size_t rest = rest_lo + rest_hi;
    for (int i = 0; i < np; i++) lo[i] = _mm256_setzero_ps(), hi[i] = _mm256_setzero_ps();
    for (size_t c = 0; c < full; c += 16)
        for (int i = 0; i < np; i++) {
            lo[i] = _mm256_add_ps(lo[i], _mm256_loadu_ps(x + i * stride + c));
            hi[i] = _mm256_add_ps(hi[i], _mm256_loadu_ps(x + i * stride + c + 8));
        }
    // Tail lanes only (a blend, not + 0, so even the signs of zero sums match).
    if (rest)
        for (int i = 0; i < np; i++) {
            const float *xp = x + i * stride;
            lo[i] = _mm256_blendv_ps(lo[i], _mm256_add_ps(lo[i], ln_load_partial(xp + full, rest_lo)), _mm256_castsi256_ps(tail_lo));
            hi[i] = _mm256_blendv_ps(hi[i], _mm256_add_ps(hi[i], ln_load_partial(xp + full + 8, rest_hi)), _mm256_castsi256_ps(tail_hi));
        }
    for (int i = 0; i < np; i++) {
        mean[i] = ln_reduce_pairwise(lo[i], hi[i]) * inv_channels;
        vmean[i] = _mm256_set1_ps(mean[i]);
        lo[i] = _mm256_setzero_ps(), hi[i] = _mm256_setzero_ps();
    }
    for (size_t c = 0; c < full; c += 16)
        for (int i = 0; i < np; i++) {
            const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i * stride + c), vmean[i]);
            const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i * stride + c + 8), vmean[i]);
            lo[i] = _mm256_add_ps(lo[i], _mm256_mul_ps(d0, d0));
            hi[i] = _mm256_add_ps(hi[i], _mm256_mul_ps(d1, d1));
        }
    if (rest)
        for (int i = 0; i < np; i++) {
            const float *xp = x + i * stride;
            const __m256 d0 = _mm256_sub_ps(ln_load_partial(xp + full, rest_lo), vmean[i]);
            const __m256 d1 = _mm256_sub_ps(ln_load_partial(xp + full + 8, rest_hi), vmean[i]);
            lo[i] = _mm256_blendv_ps(lo[i], _mm256_add_ps(lo[i], _mm256_mul_ps(d0, d0)), _mm256_castsi256_ps(tail_lo));
            hi[i] = _mm256_blendv_ps(hi[i], _mm256_add_ps(hi[i], _mm256_mul_ps(d1, d1)), _mm256_castsi256_ps(tail_hi));
        }
    for (int i = 0; i < np; i++) inv_std[i] = 1.0f / sqrtf(ln_reduce_pairwise(lo[i], hi[i]) * inv_channels + eps);
}

/// The AVX2 build of cnxq_layernorm: the arithmetic of int8_layernorm_impl.h operation for
/// operation (no fused multiply-adds), with the sixteen partial sums in two registers, so the
/// floats are the portable build's; 1.3-1.5x the rate of the auto-vectorised generic body on Zen 3,
/// and four pixels' statistics at a time (ln_stats).
LN_TARGET void cnxq_layernorm_avx2(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                                   const float *gamma, const float *beta, int32_t kind, float inv_scale,
                                   int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride) {
    const size_t full = channels / 16 * 16, rest = channels - full;
    const size_t rest_lo = rest < 8 ? rest : 8, rest_hi = rest - rest_lo;
    // The output pass: whole 8-channel vectors, then the last channels.
    const size_t whole = channels / 8 * 8;
    // The tail's lanes of the partial sums: lanes 0-7 (lo) and 8-15 (hi) below `rest`.
    const __m256i tail_lo = ln_mask(rest_lo), tail_hi = ln_mask(rest_hi);
    const float inv_channels = 1.0f / (float)channels;
    const int32_t qmax = kind == CNXQ_ACT_U16 ? 65535 : 255;
    const __m256 vinv = _mm256_set1_ps(inv_scale);
    const __m256 vlo = _mm256_set1_ps((float)(-zero_point) - 1.0f);
    const __m256 vhi = _mm256_set1_ps((float)(qmax - zero_point) + 1.0f);
    const __m256i vzp = _mm256_set1_epi32(zero_point), vqmax = _mm256_set1_epi32(qmax);
    for (size_t p0 = 0; p0 < count; p0 += 4) {
        const int np = count - p0 >= 4 ? 4 : (int)(count - p0);
        const float *x0 = x + p0 * x_pixel_stride;
        float mean[4], inv_std[4];
#define STATS(N) ln_stats(N, x0, x_pixel_stride, full, rest_lo, rest_hi, tail_lo, tail_hi, inv_channels, eps, mean, inv_std)
        switch (np) {
        case 4: STATS(4); break;
        case 3: STATS(3); break;
        case 2: STATS(2); break;
        default: STATS(1); break;
        }
#undef STATS
        for (int i = 0; i < np; i++) {
            const size_t p = p0 + (size_t)i;
            const float *xp = x + p * x_pixel_stride;
            const __m256 vmean = _mm256_set1_ps(mean[i]), vstd = _mm256_set1_ps(inv_std[i]);
            const size_t o = p * out_pixel_stride;
            for (size_t c = 0; c < whole; c += 8)
                ln_output(gamma, beta, kind, out, out_lo, o + c, c, _mm256_loadu_ps(xp + c), vmean, vstd, vinv, vlo, vhi, vzp,
                          vqmax, 8);
            if (whole < channels)
                ln_output(gamma, beta, kind, out, out_lo, o + whole, whole, ln_load_partial(xp + whole, channels - whole),
                          vmean, vstd, vinv, vlo, vhi, vzp, vqmax, channels - whole);
        }
    }
}
#endif
