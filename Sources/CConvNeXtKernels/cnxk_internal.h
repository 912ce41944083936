// Declarations of every kernel in the table (table.c) and helpers shared by their files.
#pragma once
#include "cnxk_table.h"

#if defined(__x86_64__)
#define CNXK_X86 1
#endif
#if defined(__aarch64__)
#define CNXK_ARM64 1
#endif

#define CNXK_ALWAYS_INLINE static inline __attribute__((always_inline))

// f32 GEMM tiles: cnxk_f32_gemm_{mr}x{nr}__{isa}.
void cnxk_f32_gemm_4x16__portable(const cnxk_f32_gemm_tile *t);
void cnxk_f32_dwconv7x7_4p16c__portable(const cnxk_f32_dwconv_args *a);
#if defined(CNXK_X86)
void cnxk_f32_gemm_6x16__avx2(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_1x16__avx2(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_8x48__avx512(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_8x32__avx512(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_8x16__avx512(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_1x48__avx512(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_1x32__avx512(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_1x16__avx512(const cnxk_f32_gemm_tile *t);
void cnxk_f32_dwconv7x7_8p8c__avx2(const cnxk_f32_dwconv_args *a);
void cnxk_f32_dwconv7x7_8p16c__avx512(const cnxk_f32_dwconv_args *a);
#endif

// bf16 GEMM tiles: cnxk_bf16_gemm_{mr}x{nr}__{isa} (contract and numerics in cnxk_bf16.h).
void cnxk_bf16_gemm_4x16__portable(const cnxk_bf16_gemm_tile *t);
#if defined(CNXK_X86)
void cnxk_bf16_gemm_32x32__amx(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_32x16__amx(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_8x48__avx512bf16(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_8x32__avx512bf16(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_8x16__avx512bf16(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_1x48__avx512bf16(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_1x32__avx512bf16(const cnxk_bf16_gemm_tile *t);
void cnxk_bf16_gemm_1x16__avx512bf16(const cnxk_bf16_gemm_tile *t);
#endif
#if defined(CNXK_ARM64)
void cnxk_f32_gemm_6x16__neon(const cnxk_f32_gemm_tile *t);
void cnxk_f32_gemm_1x16__neon(const cnxk_f32_gemm_tile *t);
void cnxk_f32_dwconv7x7_4p16c__neon(const cnxk_f32_dwconv_args *a);
#endif

/// Coefficients of erf(z) ~ z P(z^2) / Q(z^2) on |z| <= 3.9 (max abs error ~3e-7 in float32;
/// beyond 3.9, 1 - erf < 4e-8). The f32 GELUs evaluate this expression, in this order:
///   z = clamp(x * 0.70710678f, -3.9f, 3.9f); u = z * z;
///   p = ((((P5 u + P4) u + P3) u + P2) u + P1) u + P0;   q = ((((Q5 u + Q4) u + Q3) u + Q2) u + Q1) u + 1;
///   h = 0.5f * x;  gelu = h + h * (z * p / q)
/// (vector code may fuse the multiply-adds, and the AVX2 and AVX-512 tiles fold 1/sqrt 2 and 1/2 into
/// the coefficients, CNXK_GELU_FOLDED_*: results then differ in the last bits, within the kernel
/// tests' 2e-6 of this formula).
#define CNXK_ERF_P0 1.128378987312317f
#define CNXK_ERF_P1 0.1918746680021286f
#define CNXK_ERF_P2 0.052958425134420395f
#define CNXK_ERF_P3 0.003834098344668746f
#define CNXK_ERF_P4 0.00028740623383782804f
#define CNXK_ERF_P5 2.051053570539807e-06f
#define CNXK_ERF_Q1 0.503376305103302f
#define CNXK_ERF_Q2 0.11473102122545242f
#define CNXK_ERF_Q3 0.015103648416697979f
#define CNXK_ERF_Q4 0.0011810812866315246f
#define CNXK_ERF_Q5 3.823496081167832e-05f
#define CNXK_ERF_LIMIT 3.9f

/// The folded form x (1/2 + xc P'(v) / Q'(v)), xc = x limited to +-CNXK_GELU_FOLDED_LIMIT, v = xc^2:
/// v = 2 z^2, so coefficient i carries 2^-i, and the numerator also carries 1/(2 sqrt 2). Two
/// fewer multiplies on the FMA pipes than the literal formula (the 1/2 is an add).
#define CNXK_GELU_FOLDED_P(i) ((float)(CNXK_ERF_P##i / (double)(1 << (i)) * 0.35355339059327376))
#define CNXK_GELU_FOLDED_Q(i) ((float)(CNXK_ERF_Q##i / (double)(1 << (i))))
#define CNXK_GELU_FOLDED_LIMIT ((float)(CNXK_ERF_LIMIT / 0.70710678118654752))

CNXK_ALWAYS_INLINE float cnxk_gelu_scalar(float x) {
    float z = x * 0.70710678118654752f;
    z = z > CNXK_ERF_LIMIT ? CNXK_ERF_LIMIT : z;
    z = z < -CNXK_ERF_LIMIT ? -CNXK_ERF_LIMIT : z;
    const float u = z * z;
    float p = CNXK_ERF_P5 * u + CNXK_ERF_P4;
    p = p * u + CNXK_ERF_P3;
    p = p * u + CNXK_ERF_P2;
    p = p * u + CNXK_ERF_P1;
    p = p * u + CNXK_ERF_P0;
    float q = CNXK_ERF_Q5 * u + CNXK_ERF_Q4;
    q = q * u + CNXK_ERF_Q3;
    q = q * u + CNXK_ERF_Q2;
    q = q * u + CNXK_ERF_Q1;
    q = q * u + 1.0f;
    const float h = 0.5f * x;
    return h + h * (z * p / q);
}

/// Float offset of GEMM tile row r in C (and in the residual).
CNXK_ALWAYS_INLINE ptrdiff_t cnxk_c_offset(const cnxk_f32_gemm_tile *t, size_t r) {
    return t->c_row_offsets ? t->c_row_offsets[r] : (ptrdiff_t)(r * t->ldc);
}
