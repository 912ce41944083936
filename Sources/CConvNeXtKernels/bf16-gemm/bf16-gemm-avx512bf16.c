// AVX512-BF16 bf16 GEMM tiles (vdpbf16ps: 16 lanes, each adds two bf16 products to an f32 sum):
// 8 rows x 48/32/16 columns and the 1 x 48/32/16 strips, the shapes of the AVX-512 f32 tiles.
// Per k pair: nr/16 B loads (16 column pairs each) and one A pair broadcast per row. The
// epilogue (GELU, residual) is the AVX-512 f32 tile's.
#if defined(__x86_64__)
#include "../cnxk_internal.h"
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define BF16_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define AVX512_INLINE BF16_INLINE
#include "bf16_avx512_store.h"
#define UNROLL _Pragma("GCC unroll 8")

enum { MR8 = 8 };

/// 16 column pairs of one packed k pair.
BF16_INLINE __m512bh load_pairs(const uint16_t *p) { return (__m512bh)_mm512_loadu_si512((const void *)p); }

/// A row's pair (k = 2p, 2p + 1) in every lane; `last_single` for the lone last k of an odd k
/// (its partner is zero, and the element after the row is never read).
BF16_INLINE __m512bh broadcast_pair(const uint16_t *a, int last_single) {
    uint32_t pair = a[0];
    if (!last_single) pair |= (uint32_t)a[1] << 16;
    return (__m512bh)_mm512_set1_epi32((int)pair);
}

/// The 8 x (16 nv) tile; nv is a constant after inlining.
BF16_INLINE void tile_8xn(const cnxk_bf16_gemm_tile *t, const int nv) {
    const size_t rows = t->rows;
    const size_t nr = 16 * (size_t)nv;
    const uint16_t *ar[MR8];
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
    const size_t pairs = (t->k + 1) / 2;
    const uint16_t *b = t->b;
    for (size_t p = 0; p < pairs; p++) {
        const int single = 2 * p + 1 == t->k;
        __m512bh bv[3];
        UNROLL
        for (int j = 0; j < nv; j++) bv[j] = load_pairs(b + 32 * j);
        UNROLL
        for (int r = 0; r < MR8; r++) {
            const __m512bh va = broadcast_pair(ar[r] + 2 * p, single);
            UNROLL
            for (int j = 0; j < nv; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], va, bv[j]);
        }
        b += 2 * nr;
    }
    UNROLL
    for (int r = 0; r < MR8; r++)
        if ((size_t)r < rows) bf16_store_row(t, (size_t)r, nv, acc[r], NULL);
}

/// The 1 x (16 nv) strip: two accumulator sets (even and odd pairs) for twice the independent chains.
BF16_INLINE void tile_1xn(const cnxk_bf16_gemm_tile *t, const int nv) {
    const size_t nr = 16 * (size_t)nv;
    const uint16_t *a = t->a;
    const uint16_t *b = t->b;
    __m512 s[3], e[3];
    UNROLL
    for (int j = 0; j < nv; j++) {
        s[j] = _mm512_loadu_ps(t->bias + 16 * j);
        e[j] = _mm512_setzero_ps();
    }
    const size_t full = t->k / 2;
    size_t p = 0;
    for (; p + 2 <= full; p += 2) {
        const __m512bh va = broadcast_pair(a + 2 * p, 0), vb = broadcast_pair(a + 2 * p + 2, 0);
        UNROLL
        for (int j = 0; j < nv; j++) s[j] = _mm512_dpbf16_ps(s[j], va, load_pairs(b + 2 * nr * p + 32 * j));
        UNROLL
        for (int j = 0; j < nv; j++) e[j] = _mm512_dpbf16_ps(e[j], vb, load_pairs(b + 2 * nr * (p + 1) + 32 * j));
    }
    for (; p < (t->k + 1) / 2; p++) {
        const __m512bh va = broadcast_pair(a + 2 * p, 2 * p + 1 == t->k);
        UNROLL
        for (int j = 0; j < nv; j++) s[j] = _mm512_dpbf16_ps(s[j], va, load_pairs(b + 2 * nr * p + 32 * j));
    }
    UNROLL
    for (int j = 0; j < nv; j++) s[j] = _mm512_add_ps(s[j], e[j]);
    bf16_store_row(t, 0, nv, s, NULL);
}

BF16_TARGET void cnxk_bf16_gemm_8x48__avx512bf16(const cnxk_bf16_gemm_tile *t) { tile_8xn(t, 3); }
BF16_TARGET void cnxk_bf16_gemm_8x32__avx512bf16(const cnxk_bf16_gemm_tile *t) { tile_8xn(t, 2); }
BF16_TARGET void cnxk_bf16_gemm_8x16__avx512bf16(const cnxk_bf16_gemm_tile *t) { tile_8xn(t, 1); }
BF16_TARGET void cnxk_bf16_gemm_1x48__avx512bf16(const cnxk_bf16_gemm_tile *t) { tile_1xn(t, 3); }
BF16_TARGET void cnxk_bf16_gemm_1x32__avx512bf16(const cnxk_bf16_gemm_tile *t) { tile_1xn(t, 2); }
BF16_TARGET void cnxk_bf16_gemm_1x16__avx512bf16(const cnxk_bf16_gemm_tile *t) { tile_1xn(t, 1); }
#endif
