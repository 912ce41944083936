// AVX-512 f32 GEMM tiles: 8 rows x 48/32/16 columns (24/16/8 zmm accumulators; per k nr/16 B
// loads and eight A broadcasts folded into the FMAs) and the 1 x 48/32/16 GEMV strips. The fused
// epilogue (GELU, residual) runs while the tile is still in registers.
#if defined(__x86_64__)
#include "../cnxk_internal.h"
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq")))
// Loops over registers have constant trip counts once inlined; unrolled, the arrays are registers.
#define UNROLL _Pragma("GCC unroll 8")

enum { MR8 = 8 };

#include "../gelu_avx512.h"

/// Epilogue of one row of the tile (nv vectors of 16): GELU, residual, store.
AVX512_INLINE void store_row_avx512(const cnxk_f32_gemm_tile *t, size_t r, const int nv, const __m512 *v) {
    const ptrdiff_t off = cnxk_c_offset(t, r);
    UNROLL
    for (int j = 0; j < nv; j++) {
        __m512 x = v[j];
        if (t->gelu) x = gelu_avx512(x);
        if (t->residual) x = _mm512_add_ps(x, _mm512_loadu_ps(t->residual + off + 16 * j));
        _mm512_storeu_ps(t->c + off + 16 * j, x);
    }
}

/// The 8 x (16 nv) tile; nv is a constant after inlining.
AVX512_INLINE void tile_8xn(const cnxk_f32_gemm_tile *t, const int nv) {
    const size_t rows = t->rows;
    const size_t nr = 16 * (size_t)nv;
    const float *ar[MR8];
    // Rows past `rows` repeat the last valid row (never read beyond it); their results are dropped.
    UNROLL
    for (int r = 0; r < MR8; r++) ar[r] = t->a + ((size_t)r < rows ? (size_t)r : rows - 1) * t->lda;

    __m512 acc[MR8][3];
    UNROLL
    for (int j = 0; j < nv; j++) {
        const __m512 bias = _mm512_loadu_ps(t->bias + 16 * j);
        UNROLL
        for (int r = 0; r < MR8; r++) acc[r][j] = bias;
    }

    const float *b = t->b;
    // Unrolled by 2: fewer loop and pointer updates per FMA (matters most for 8x16).
    _Pragma("GCC unroll 2")
    for (size_t kk = 0; kk < t->k; kk++) {
        __m512 bv[3];
        UNROLL
        for (int j = 0; j < nv; j++) bv[j] = _mm512_loadu_ps(b + 16 * j);
        UNROLL
        for (int r = 0; r < MR8; r++) {
            const __m512 va = _mm512_set1_ps(ar[r][kk]);
            UNROLL
            for (int j = 0; j < nv; j++) acc[r][j] = _mm512_fmadd_ps(va, bv[j], acc[r][j]);
        }
        b += nr;
    }

    UNROLL
    for (int r = 0; r < MR8; r++)
        if ((size_t)r < rows) store_row_avx512(t, (size_t)r, nv, acc[r]);
}

/// The 1 x (16 nv) GEMV strip; nv is a constant after inlining. Two accumulator sets, even and
/// odd k: twice the independent FMA chains of one set.
AVX512_INLINE void tile_1xn(const cnxk_f32_gemm_tile *t, const int nv) {
    const size_t nr = 16 * (size_t)nv;
    const float *a = t->a;
    const float *b = t->b;
    __m512 s[3], e[3];
    UNROLL
    for (int j = 0; j < nv; j++) {
        s[j] = _mm512_loadu_ps(t->bias + 16 * j);
        e[j] = _mm512_setzero_ps();
    }
    size_t k = t->k;
    for (; k >= 2; k -= 2) {
        const __m512 va = _mm512_set1_ps(a[0]);
        const __m512 vb = _mm512_set1_ps(a[1]);
        UNROLL
        for (int j = 0; j < nv; j++) s[j] = _mm512_fmadd_ps(va, _mm512_loadu_ps(b + 16 * j), s[j]);
        UNROLL
        for (int j = 0; j < nv; j++) e[j] = _mm512_fmadd_ps(vb, _mm512_loadu_ps(b + nr + 16 * j), e[j]);
        a += 2;
        b += 2 * nr;
    }
    if (k != 0) {
        const __m512 va = _mm512_set1_ps(a[0]);
        UNROLL
        for (int j = 0; j < nv; j++) s[j] = _mm512_fmadd_ps(va, _mm512_loadu_ps(b + 16 * j), s[j]);
    }
    UNROLL
    for (int j = 0; j < nv; j++) s[j] = _mm512_add_ps(s[j], e[j]);
    store_row_avx512(t, 0, nv, s);
}

AVX512_TARGET void cnxk_f32_gemm_8x48__avx512(const cnxk_f32_gemm_tile *t) { tile_8xn(t, 3); }
AVX512_TARGET void cnxk_f32_gemm_8x32__avx512(const cnxk_f32_gemm_tile *t) { tile_8xn(t, 2); }
AVX512_TARGET void cnxk_f32_gemm_8x16__avx512(const cnxk_f32_gemm_tile *t) { tile_8xn(t, 1); }
AVX512_TARGET void cnxk_f32_gemm_1x48__avx512(const cnxk_f32_gemm_tile *t) { tile_1xn(t, 3); }
AVX512_TARGET void cnxk_f32_gemm_1x32__avx512(const cnxk_f32_gemm_tile *t) { tile_1xn(t, 2); }
AVX512_TARGET void cnxk_f32_gemm_1x16__avx512(const cnxk_f32_gemm_tile *t) { tile_1xn(t, 1); }
#endif
