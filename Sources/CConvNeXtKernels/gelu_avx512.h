// cnxk_gelu_scalar on 16 lanes for the AVX-512 tiles (f32 and bf16 GEMMs share one epilogue).
// The including file defines AVX512_INLINE (always_inline with its AVX-512 target) first.
#pragma once

/// cnxk_gelu_scalar on 16 lanes, with fused multiply-adds and one exact divide.
AVX512_INLINE __m512 gelu_avx512(__m512 x) {
    const __m512 lim = _mm512_set1_ps(CNXK_ERF_LIMIT);
    __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    // Limit first: min/max return the second operand when one is NaN, so NaN propagates.
    z = _mm512_min_ps(lim, z);
    z = _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), z);
    const __m512 u = _mm512_mul_ps(z, z);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(CNXK_ERF_P5), u, _mm512_set1_ps(CNXK_ERF_P4));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(CNXK_ERF_P3));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(CNXK_ERF_P2));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(CNXK_ERF_P1));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(CNXK_ERF_P0));
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(CNXK_ERF_Q5), u, _mm512_set1_ps(CNXK_ERF_Q4));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(CNXK_ERF_Q3));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(CNXK_ERF_Q2));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(CNXK_ERF_Q1));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(1.0f));
    const __m512 h = _mm512_mul_ps(_mm512_set1_ps(0.5f), x);
    const __m512 erf = _mm512_div_ps(_mm512_mul_ps(z, p), q);
    return _mm512_fmadd_ps(h, erf, h);
}
