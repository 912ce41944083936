// NEON f32 GEMM tiles: 6x16 (24 q accumulators; per 4 k one 4-float A load per row and per k four
// B loads and 24 by-lane FMAs) and the 1x16 GEMV strip. The fused epilogue (GELU, residual) runs
// while the tile is still in registers.
#if defined(__aarch64__)
#include "../cnxk_internal.h"
#include <arm_neon.h>

// Loops over registers have constant trip counts; unrolled, the arrays are registers.
#define UNROLL _Pragma("GCC unroll 8")

enum { MR6 = 6 };

/// cnxk_gelu_scalar on 4 lanes, with fused multiply-adds and one exact divide.
CNXK_ALWAYS_INLINE float32x4_t gelu_neon(float32x4_t x) {
    const float32x4_t lim = vdupq_n_f32(CNXK_ERF_LIMIT);
    // FMIN/FMAX return NaN when an operand is NaN, as the scalar formula does.
    float32x4_t z = vmulq_f32(x, vdupq_n_f32(0.70710678118654752f));
    z = vmaxq_f32(vminq_f32(z, lim), vnegq_f32(lim));
    const float32x4_t u = vmulq_f32(z, z);
    float32x4_t p = vfmaq_f32(vdupq_n_f32(CNXK_ERF_P4), vdupq_n_f32(CNXK_ERF_P5), u);
    p = vfmaq_f32(vdupq_n_f32(CNXK_ERF_P3), p, u);
    p = vfmaq_f32(vdupq_n_f32(CNXK_ERF_P2), p, u);
    p = vfmaq_f32(vdupq_n_f32(CNXK_ERF_P1), p, u);
    p = vfmaq_f32(vdupq_n_f32(CNXK_ERF_P0), p, u);
    float32x4_t q = vfmaq_f32(vdupq_n_f32(CNXK_ERF_Q4), vdupq_n_f32(CNXK_ERF_Q5), u);
    q = vfmaq_f32(vdupq_n_f32(CNXK_ERF_Q3), q, u);
    q = vfmaq_f32(vdupq_n_f32(CNXK_ERF_Q2), q, u);
    q = vfmaq_f32(vdupq_n_f32(CNXK_ERF_Q1), q, u);
    q = vfmaq_f32(vdupq_n_f32(1.0f), q, u);
    const float32x4_t h = vmulq_f32(vdupq_n_f32(0.5f), x);
    const float32x4_t erf = vdivq_f32(vmulq_f32(z, p), q);
    return vfmaq_f32(h, h, erf);
}

/// Epilogue of one 16-float row of the tile: GELU, residual, store.
CNXK_ALWAYS_INLINE void store_row_neon(const cnxk_f32_gemm_tile *t, size_t r, const float32x4_t *v) {
    const ptrdiff_t off = cnxk_c_offset(t, r);
    UNROLL
    for (int j = 0; j < 4; j++) {
        float32x4_t x = v[j];
        if (t->gelu) x = gelu_neon(x);
        if (t->residual) x = vaddq_f32(x, vld1q_f32(t->residual + off + 4 * j));
        vst1q_f32(t->c + off + 4 * j, x);
    }
}

// One k step of the 6x16 tile: B row at b + 16 * (l), lane l of the A vectors. Half a B row at
// a time: 24 accumulators + 6 A vectors + 2 B vectors fill exactly the 32 vector registers.
#define STEP_HALF(l, h)                                                                  \
    do {                                                                                 \
        const float32x4_t b0 = vld1q_f32(b + 16 * (l) + 8 * (h));                        \
        const float32x4_t b1 = vld1q_f32(b + 16 * (l) + 8 * (h) + 4);                    \
        UNROLL                                                                           \
        for (int r = 0; r < MR6; r++) {                                                  \
            acc[r][2 * (h)] = vfmaq_laneq_f32(acc[r][2 * (h)], b0, va[r], l);            \
            acc[r][2 * (h) + 1] = vfmaq_laneq_f32(acc[r][2 * (h) + 1], b1, va[r], l);    \
        }                                                                                \
    } while (0)
#define STEP_LANE(l) \
    do {             \
        STEP_HALF(l, 0); \
        STEP_HALF(l, 1); \
    } while (0)

void cnxk_f32_gemm_6x16__neon(const cnxk_f32_gemm_tile *t) {
    const size_t rows = t->rows;
    const float *ar[MR6];
    // Rows past `rows` repeat the last valid row (never read beyond it); their results are dropped.
    UNROLL
    for (int r = 0; r < MR6; r++) ar[r] = t->a + ((size_t)r < rows ? (size_t)r : rows - 1) * t->lda;

    float32x4_t acc[MR6][4];
    UNROLL
    for (int j = 0; j < 4; j++) {
        const float32x4_t vb = vld1q_f32(t->bias + 4 * j);
        UNROLL
        for (int r = 0; r < MR6; r++) acc[r][j] = vb;
    }

    const float *b = t->b;
    size_t kk = 0;
    for (; kk + 4 <= t->k; kk += 4) {
        float32x4_t va[MR6];
        UNROLL
        for (int r = 0; r < MR6; r++) va[r] = vld1q_f32(ar[r] + kk);
        STEP_LANE(0);
        STEP_LANE(1);
        STEP_LANE(2);
        STEP_LANE(3);
        b += 64;
    }
    // The last k % 4 columns one at a time: a vector load would read past the row.
    for (; kk < t->k; kk++) {
        float32x4_t va[MR6];
        UNROLL
        for (int r = 0; r < MR6; r++) va[r] = vld1q_dup_f32(ar[r] + kk);
        STEP_LANE(0);
        b += 16;
    }

    UNROLL
    for (int r = 0; r < MR6; r++)
        if ((size_t)r < rows) store_row_neon(t, (size_t)r, acc[r]);
}
#undef STEP_LANE
#undef STEP_HALF

void cnxk_f32_gemm_1x16__neon(const cnxk_f32_gemm_tile *t) {
    const float *a = t->a;
    const float *b = t->b;
    // Two accumulator sets, even and odd k: twice the independent FMA chains of one set.
    float32x4_t s[4], e[4];
    UNROLL
    for (int j = 0; j < 4; j++) {
        s[j] = vld1q_f32(t->bias + 4 * j);
        e[j] = vdupq_n_f32(0.0f);
    }
    size_t k = t->k;
    for (; k >= 2; k -= 2) {
        const float va = a[0], vb = a[1];
        UNROLL
        for (int j = 0; j < 4; j++) s[j] = vfmaq_n_f32(s[j], vld1q_f32(b + 4 * j), va);
        UNROLL
        for (int j = 0; j < 4; j++) e[j] = vfmaq_n_f32(e[j], vld1q_f32(b + 16 + 4 * j), vb);
        a += 2;
        b += 32;
    }
    if (k != 0) {
        UNROLL
        for (int j = 0; j < 4; j++) s[j] = vfmaq_n_f32(s[j], vld1q_f32(b + 4 * j), a[0]);
    }
    UNROLL
    for (int j = 0; j < 4; j++) s[j] = vaddq_f32(s[j], e[j]);
    store_row_neon(t, 0, s);
}
#endif
