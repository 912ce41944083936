// The epilogue of one row of a bf16 tile on AVX-512 (the AVX512-BF16 and AMX-BF16 tiles share
// it): + bias (AMX sums from zero), GELU, + residual, store. The including file defines
// BF16_INLINE (always_inline with its AVX-512 target) and AVX512_INLINE first.
#pragma once
#include "../gelu_avx512.h"

/// Row r of the tile, nv vectors of 16 columns; `bias` non-NULL adds it first.
BF16_INLINE void bf16_store_row(const cnxk_bf16_gemm_tile *t, size_t r, const int nv, const __m512 *v,
                                const float *bias) {
    const ptrdiff_t off = t->c_row_offsets ? t->c_row_offsets[r] : (ptrdiff_t)(r * t->ldc);
    _Pragma("GCC unroll 4")
    for (int j = 0; j < nv; j++) {
        __m512 x = v[j];
        if (bias) x = _mm512_add_ps(x, _mm512_loadu_ps(bias + 16 * j));
        if (t->gelu) x = gelu_avx512(x);
        if (t->residual) x = _mm512_add_ps(x, _mm512_loadu_ps(t->residual + off + 16 * j));
        _mm512_storeu_ps(t->c + off + 16 * j, x);
    }
}
