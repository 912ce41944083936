// AVX2 + FMA f32 GEMM tiles: 6x16 (12 ymm accumulators; per k two B loads, six A broadcasts and
// twelve FMAs, enough independent chains to cover the FMA latency on both FMA pipes) and the 1x16
// GEMV strip. The fused epilogue (GELU, residual) runs while the tile is still in registers.
#if defined(__x86_64__)
#include "../cnxk_internal.h"
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

#define GELU_P(i) _mm256_set1_ps(CNXK_GELU_FOLDED_P(i))
#define GELU_Q(i) _mm256_set1_ps(CNXK_GELU_FOLDED_Q(i))

/// cnxk_gelu_scalar on 8 lanes in the folded form (CNXK_GELU_FOLDED_*): fc1 tiles +4-8% at
/// k = 40-80 (Zen 3, in-process A/B); within 1.5e-6 of the scalar formula, 1e-6 of erf in double.
AVX2_INLINE __m256 gelu_avx2(__m256 x) {
    const __m256 lim = _mm256_set1_ps(CNXK_GELU_FOLDED_LIMIT);
    // Limit first: min/max return the second operand when one is NaN, so NaN propagates.
    __m256 xc = _mm256_min_ps(lim, x);
    xc = _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), lim), xc);
    const __m256 v = _mm256_mul_ps(xc, xc);
    __m256 p = _mm256_fmadd_ps(GELU_P(5), v, GELU_P(4));
    p = _mm256_fmadd_ps(p, v, GELU_P(3));
    p = _mm256_fmadd_ps(p, v, GELU_P(2));
    p = _mm256_fmadd_ps(p, v, GELU_P(1));
    p = _mm256_fmadd_ps(p, v, GELU_P(0));
    __m256 q = _mm256_fmadd_ps(GELU_Q(5), v, GELU_Q(4));
    q = _mm256_fmadd_ps(q, v, GELU_Q(3));
    q = _mm256_fmadd_ps(q, v, GELU_Q(2));
    q = _mm256_fmadd_ps(q, v, GELU_Q(1));
    q = _mm256_fmadd_ps(q, v, _mm256_set1_ps(1.0f));
    // An exact divide: rcp + one Newton step measured no faster here (the polynomials dominate).
    const __m256 half_erf = _mm256_div_ps(_mm256_mul_ps(xc, p), q);
    return _mm256_mul_ps(x, _mm256_add_ps(_mm256_set1_ps(0.5f), half_erf));
}

/// Epilogue of one 16-float row of the tile: GELU, residual, store.
AVX2_INLINE void store_row_avx2(const cnxk_f32_gemm_tile *t, size_t r, __m256 v0, __m256 v1) {
    const ptrdiff_t off = cnxk_c_offset(t, r);
    if (t->gelu) {
        v0 = gelu_avx2(v0);
        v1 = gelu_avx2(v1);
    }
    if (t->residual) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(t->residual + off));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(t->residual + off + 8));
    }
    _mm256_storeu_ps(t->c + off, v0);
    _mm256_storeu_ps(t->c + off + 8, v1);
}

// One k step of the 6x16 tile: B row at b + 16 * (i), A column i of the six row pointers.
#define STEP_6X16(i)                                                   \
    do {                                                               \
        const __m256 b0 = _mm256_loadu_ps(b + 16 * (i));               \
        const __m256 b1 = _mm256_loadu_ps(b + 16 * (i) + 8);           \
        __m256 va = _mm256_broadcast_ss(a0 + (i));                     \
        c00 = _mm256_fmadd_ps(va, b0, c00);                            \
        c01 = _mm256_fmadd_ps(va, b1, c01);                            \
        va = _mm256_broadcast_ss(a1 + (i));                            \
        c10 = _mm256_fmadd_ps(va, b0, c10);                            \
        c11 = _mm256_fmadd_ps(va, b1, c11);                            \
        va = _mm256_broadcast_ss(a2 + (i));                            \
        c20 = _mm256_fmadd_ps(va, b0, c20);                            \
        c21 = _mm256_fmadd_ps(va, b1, c21);                            \
        va = _mm256_broadcast_ss(a3 + (i));                            \
        c30 = _mm256_fmadd_ps(va, b0, c30);                            \
        c31 = _mm256_fmadd_ps(va, b1, c31);                            \
        va = _mm256_broadcast_ss(a4 + (i));                            \
        c40 = _mm256_fmadd_ps(va, b0, c40);                            \
        c41 = _mm256_fmadd_ps(va, b1, c41);                            \
        va = _mm256_broadcast_ss(a5 + (i));                            \
        c50 = _mm256_fmadd_ps(va, b0, c50);                            \
        c51 = _mm256_fmadd_ps(va, b1, c51);                            \
    } while (0)

AVX2_TARGET void cnxk_f32_gemm_6x16__avx2(const cnxk_f32_gemm_tile *t) {
    const size_t rows = t->rows;
    const size_t lda = t->lda;
    // Rows past `rows` repeat the last valid row (never read beyond it); their results are dropped.
    const float *a0 = t->a;
    const float *a1 = rows > 1 ? a0 + lda : a0;
    const float *a2 = rows > 2 ? a1 + lda : a1;
    const float *a3 = rows > 3 ? a2 + lda : a2;
    const float *a4 = rows > 4 ? a3 + lda : a3;
    const float *a5 = rows > 5 ? a4 + lda : a4;
    const float *b = t->b;

    __m256 c00 = _mm256_loadu_ps(t->bias), c01 = _mm256_loadu_ps(t->bias + 8);
    __m256 c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
    __m256 c40 = c00, c41 = c01, c50 = c00, c51 = c01;

    size_t k = t->k;
    // Unrolled by 4: fewer loop and pointer updates per FMA.
    for (; k >= 4; k -= 4) {
        STEP_6X16(0);
        STEP_6X16(1);
        STEP_6X16(2);
        STEP_6X16(3);
        a0 += 4, a1 += 4, a2 += 4, a3 += 4, a4 += 4, a5 += 4;
        b += 64;
    }
    for (; k != 0; k--) {
        STEP_6X16(0);
        a0 += 1, a1 += 1, a2 += 1, a3 += 1, a4 += 1, a5 += 1;
        b += 16;
    }

    store_row_avx2(t, 0, c00, c01);
    if (rows > 1) store_row_avx2(t, 1, c10, c11);
    if (rows > 2) store_row_avx2(t, 2, c20, c21);
    if (rows > 3) store_row_avx2(t, 3, c30, c31);
    if (rows > 4) store_row_avx2(t, 4, c40, c41);
    if (rows > 5) store_row_avx2(t, 5, c50, c51);
}
#undef STEP_6X16

AVX2_TARGET void cnxk_f32_gemm_1x16__avx2(const cnxk_f32_gemm_tile *t) {
    const float *a = t->a;
    const float *b = t->b;
    // Two accumulator sets, even and odd k: twice the independent FMA chains of one set.
    __m256 s0 = _mm256_loadu_ps(t->bias), s1 = _mm256_loadu_ps(t->bias + 8);
    __m256 e0 = _mm256_setzero_ps(), e1 = _mm256_setzero_ps();
    size_t k = t->k;
    for (; k >= 2; k -= 2) {
        const __m256 va = _mm256_broadcast_ss(a);
        s0 = _mm256_fmadd_ps(va, _mm256_loadu_ps(b), s0);
        s1 = _mm256_fmadd_ps(va, _mm256_loadu_ps(b + 8), s1);
        const __m256 vb = _mm256_broadcast_ss(a + 1);
        e0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(b + 16), e0);
        e1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(b + 24), e1);
        a += 2;
        b += 32;
    }
    if (k != 0) {
        const __m256 va = _mm256_broadcast_ss(a);
        s0 = _mm256_fmadd_ps(va, _mm256_loadu_ps(b), s0);
        s1 = _mm256_fmadd_ps(va, _mm256_loadu_ps(b + 8), s1);
    }
    store_row_avx2(t, 0, _mm256_add_ps(s0, e0), _mm256_add_ps(s1, e1));
}
#endif
