// cnxk_gelu_scalar on 16 lanes for the AVX-512 tiles (f32 and bf16 GEMMs share one epilogue).
// The including file defines AVX512_INLINE (always_inline with its AVX-512 target) first.
#pragma once

#define GELU512_P(i) _mm512_set1_ps(CNXK_GELU_FOLDED_P(i))
#define GELU512_Q(i) _mm512_set1_ps(CNXK_GELU_FOLDED_Q(i))

/// cnxk_gelu_scalar on 16 lanes in the folded form (CNXK_GELU_FOLDED_*), with fused multiply-adds
/// and one exact divide.
AVX512_INLINE __m512 gelu_avx512(__m512 x) {
    const __m512 lim = _mm512_set1_ps(CNXK_GELU_FOLDED_LIMIT);
    // Limit first: min/max return the second operand when one is NaN, so NaN propagates.
    __m512 xc = _mm512_min_ps(lim, x);
    xc = _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), xc);
    const __m512 v = _mm512_mul_ps(xc, xc);
    __m512 p = _mm512_fmadd_ps(GELU512_P(5), v, GELU512_P(4));
    p = _mm512_fmadd_ps(p, v, GELU512_P(3));
    p = _mm512_fmadd_ps(p, v, GELU512_P(2));
    p = _mm512_fmadd_ps(p, v, GELU512_P(1));
    p = _mm512_fmadd_ps(p, v, GELU512_P(0));
    __m512 q = _mm512_fmadd_ps(GELU512_Q(5), v, GELU512_Q(4));
    q = _mm512_fmadd_ps(q, v, GELU512_Q(3));
    q = _mm512_fmadd_ps(q, v, GELU512_Q(2));
    q = _mm512_fmadd_ps(q, v, GELU512_Q(1));
    q = _mm512_fmadd_ps(q, v, _mm512_set1_ps(1.0f));
    const __m512 half_erf = _mm512_div_ps(_mm512_mul_ps(xc, p), q);
    return _mm512_mul_ps(x, _mm512_add_ps(_mm512_set1_ps(0.5f), half_erf));
}
