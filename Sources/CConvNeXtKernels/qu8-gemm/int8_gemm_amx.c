// AMX-INT8 u8 x s8 GEMM kernels (Sapphire Rapids and later). Eight tile registers of 16 rows x
// 64 bytes: two A tiles, two B tiles and four Int32 accumulator tiles of 16 x 16 per block.
//   qu8:  A0, A1 = rows 0-15 and 16-31 of a 32-row block -> a 32 x 32 output block.
//   qu16: A0, A1 = high and low byte planes of a 16-row block -> a 16 x 32 block, combined in
//         the epilogue as (hi - zp_hi colsum) * 256 + (lo - zp_lo colsum), as the other u16 kernels do.
// One cnxq_pack_weights panel (16 columns, k_groups rows of 16 lanes x 4 k = 64 bytes) already is
// an AMX B tile layout (K/4 rows of 64 bytes, stride 64): B tiles load straight from the panels.
// A rows are copied into a per-thread scratch padded to a multiple of 64 k (so one tile
// configuration serves every k and the kernel never reads A past m_end or past k_groups * 4), and
// the last partial k step of B is read from a zero-padded copy (never past a panel's end).
// The accumulators go through a small Int32 scratch into the same AVX-512 epilogue the VNNI
// kernels use (int8_avx512_epilogue.h): results are bit-identical to the portable kernels.
// All three scratch areas live in per-thread heap memory, and a compiler barrier separates their
// filling from the tile loads: gcc's tile intrinsics are asm statements that do not tell the
// compiler which memory they read, so stores into a local array could be dropped or moved.
#if defined(__x86_64__)
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"
#include "int8_avx512_epilogue.h"
#include "../amx_tile_config.h"

#pragma STDC FP_CONTRACT OFF

#define AMX_TARGET __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq")))
#define AMX_INLINE static inline __attribute__((always_inline))

enum {
    /// Rows and bytes per row of every tile in the configuration (the palette 1 maximum).
    AMX_ROWS = 16,
    AMX_ROW_BYTES = 64,
    /// k groups (4 k each) per tile multiply: one B tile row per group.
    AMX_GROUPS = 16,
    /// Output columns per block: two B tiles.
    AMX_NR = 32,
};

/// The one configuration every kernel here uses: all eight tiles 16 rows x 64 bytes. Static
/// data, so no store into it can be optimised away before LDTILECFG reads it.
static const amx_tile_config amx_config __attribute__((aligned(64))) = {
    .palette_id = 1,
    .colsb = {AMX_ROW_BYTES, AMX_ROW_BYTES, AMX_ROW_BYTES, AMX_ROW_BYTES, AMX_ROW_BYTES, AMX_ROW_BYTES, AMX_ROW_BYTES, AMX_ROW_BYTES},
    .rows = {AMX_ROWS, AMX_ROWS, AMX_ROWS, AMX_ROWS, AMX_ROWS, AMX_ROWS, AMX_ROWS, AMX_ROWS},
};

/// Per-thread A scratch: grown on demand, freed when the thread exits.
typedef struct {
    uint8_t *bytes;
    size_t capacity;
} amx_scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_free(void *p) {
    amx_scratch *s = p;
    free(s->bytes);
    free(s);
}

static void scratch_key_create(void) { scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0; }

/// At least `bytes` bytes of this thread's scratch (64-byte aligned), NULL when memory is short.
static uint8_t *thread_scratch(size_t bytes) {
    pthread_once(&scratch_once, scratch_key_create);
    if (!scratch_key_ok) return NULL;
    amx_scratch *s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->capacity < bytes) {
        void *p = NULL;
        const size_t rounded = (bytes + 4095) / 4096 * 4096;
        if (posix_memalign(&p, 64, rounded) != 0) return NULL;
        free(s->bytes);
        s->bytes = p;
        s->capacity = rounded;
    }
    return s->bytes;
}

/// Writes the biased values of one output block: rows [0, rows) of the block starting at row m0
/// and column n0, from the accumulators c (32 Int32 per row; u16: hi in rows 0-15, lo in 16-31).
AMX_TARGET AMX_INLINE void amx_epilogue(const int planes, const int kind, const int32_t *c, size_t rows, size_t m0,
                                        size_t n0, size_t n, const cnxq_epilogue *ep) {
    size_t y = m0 / ep->out_width, x = m0 % ep->out_width;
    size_t offsets[2 * AMX_ROWS];
    for (size_t r = 0; r < rows; r++) {
        offsets[r] = y * ep->out_row_stride + x * ep->out_pixel_stride;
        if (++x == ep->out_width) {
            x = 0;
            y++;
        }
    }
    for (size_t j = 0; j < AMX_NR / 16; j++) {
        const size_t col = n0 + 16 * j;
        if (col >= n) break;
        const __mmask16 mask = n - col >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - col)) - 1);
        const __m512 scale = _mm512_loadu_ps(ep->scale + col);
        const __m512 bias = _mm512_loadu_ps(ep->bias + col);
        const __m512i zc = _mm512_loadu_si512((const void *)(ep->zp_colsum + col));
        __m512i zc_lo = zc;
        if (planes == 2) zc_lo = _mm512_loadu_si512((const void *)(ep->zp_colsum_lo + col));
        for (size_t r = 0; r < rows; r++) {
            const __m512i acc = _mm512_loadu_si512((const void *)(c + r * AMX_NR + 16 * j));
            __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, zc));
            if (planes == 2) {
                const __m512i acc_lo = _mm512_loadu_si512((const void *)(c + (r + AMX_ROWS) * AMX_NR + 16 * j));
                const __m512 lo = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc_lo, zc_lo));
                v = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(256.0f)), lo);
            }
            v = _mm512_add_ps(_mm512_mul_ps(v, scale), bias);
            cnxq_avx512_store(kind, ep, offsets[r] + col, mask, v);
        }
    }
}

/// The epilogue with the kind a constant after inlining.
AMX_TARGET static void amx_epilogue_any(const int planes, const int32_t *c, size_t rows, size_t m0, size_t n0, size_t n,
                                        const cnxq_epilogue *ep) {
    switch (ep->kind) {
    case CNXQ_OUT_F32: amx_epilogue(planes, CNXQ_OUT_F32, c, rows, m0, n0, n, ep); break;
    case CNXQ_OUT_F32_ADD: amx_epilogue(planes, CNXQ_OUT_F32_ADD, c, rows, m0, n0, n, ep); break;
    case CNXQ_OUT_GELU_F32: amx_epilogue(planes, CNXQ_OUT_GELU_F32, c, rows, m0, n0, n, ep); break;
    case CNXQ_OUT_GELU_U8: amx_epilogue(planes, CNXQ_OUT_GELU_U8, c, rows, m0, n0, n, ep); break;
    case CNXQ_OUT_GELU_U16: amx_epilogue(planes, CNXQ_OUT_GELU_U16, c, rows, m0, n0, n, ep); break;
    default: break;
    }
}

/// Both kernels. Block rows: 32 (qu8: A0 and A1 are two row halves) or 16 (qu16: A0 and A1 are
/// the two byte planes of the same rows). Tiles: 0-3 accumulators C[a][b], 4-5 A, 6-7 B.
AMX_TARGET static void amx_gemm(const int planes, size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                const uint8_t *a, const uint8_t *a_lo, size_t lda, const int8_t *b_packed,
                                const cnxq_epilogue *ep) {
    if (m_begin >= m_end || n == 0) return;
    const size_t block_rows = planes == 2 ? AMX_ROWS : 2 * AMX_ROWS;
    const size_t steps = (k_groups + AMX_GROUPS - 1) / AMX_GROUPS;
    const size_t full_steps = k_groups / AMX_GROUPS, tail_groups = k_groups % AMX_GROUPS;
    // Scratch: A, 32 rows (two tiles) of `a_stride` bytes, k padded with zeros to whole steps;
    // then the last partial k step of both B panels, its groups followed by zero rows (they meet
    // A's zero padding); then the 32 x 32 accumulators.
    const size_t a_stride = steps * AMX_ROW_BYTES;
    const size_t k_bytes = k_groups * 4;
    const size_t a_bytes = 2 * AMX_ROWS * a_stride, b_tail_bytes = AMX_ROWS * AMX_ROW_BYTES;
    uint8_t *as = k_groups == 0 ? NULL : thread_scratch(a_bytes + 2 * b_tail_bytes + 2 * AMX_ROWS * AMX_NR * sizeof(int32_t));
    if (as == NULL) {
        // Out of memory (or nothing to sum): the portable kernel gives the same bits.
        if (planes == 2) cnxq_gemm_u16s8_4x16c4_portable(m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep);
        else cnxq_gemm_u8s8_4x16c4_portable(m_begin, m_end, n, k_groups, a, NULL, lda, b_packed, ep);
        return;
    }
    const size_t panels = (n + 15) / 16, panel_bytes = k_groups * AMX_ROW_BYTES;
    int8_t *b_tail[2] = {(int8_t *)as + a_bytes, (int8_t *)as + a_bytes + b_tail_bytes};
    memset(b_tail[0], 0, 2 * b_tail_bytes);
    int32_t *c = (int32_t *)(as + a_bytes + 2 * b_tail_bytes);
    // Tile state is per thread and LDTILECFG zeroes the tiles: each call configures and releases.
    _tile_loadconfig(&amx_config);
    for (size_t m0 = m_begin; m0 < m_end; m0 += block_rows) {
        const size_t rows = m_end - m0 < block_rows ? m_end - m0 : block_rows;
        // qu8: the second A tile only when the block has more than 16 rows.
        const int use_a1 = planes == 2 || rows > AMX_ROWS;
        for (size_t t = 0; t < 2 * AMX_ROWS; t++) {
            uint8_t *dst = as + t * a_stride;
            const uint8_t *src = NULL;
            if (planes == 2) src = t < AMX_ROWS ? (t < rows ? a + (m0 + t) * lda : NULL)
                                                : (t - AMX_ROWS < rows ? a_lo + (m0 + t - AMX_ROWS) * lda : NULL);
            else src = t < rows ? a + (m0 + t) * lda : NULL;
            // Rows past m_end are never read from A: zeros feed the discarded outputs.
            if (src == NULL) {
                memset(dst, 0, a_stride);
                continue;
            }
            memcpy(dst, src, k_bytes);
            memset(dst + k_bytes, 0, a_stride - k_bytes);
        }
        for (size_t p0 = 0; p0 < panels; p0 += 2) {
            const int use_b1 = p0 + 1 < panels;
            const int8_t *b0 = b_packed + p0 * panel_bytes, *b1 = b0 + panel_bytes;
            if (tail_groups) {
                memcpy(b_tail[0], b0 + full_steps * AMX_GROUPS * AMX_ROW_BYTES, tail_groups * AMX_ROW_BYTES);
                if (use_b1) memcpy(b_tail[1], b1 + full_steps * AMX_GROUPS * AMX_ROW_BYTES, tail_groups * AMX_ROW_BYTES);
            }
            AMX_MEMORY_BARRIER();
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (size_t s = 0; s < steps; s++) {
                const int tail = s == full_steps;
                _tile_loadd(4, as + s * AMX_ROW_BYTES, a_stride);
                if (use_a1) _tile_loadd(5, as + AMX_ROWS * a_stride + s * AMX_ROW_BYTES, a_stride);
                _tile_loadd(6, tail ? (const void *)b_tail[0] : (const void *)(b0 + s * AMX_GROUPS * AMX_ROW_BYTES), AMX_ROW_BYTES);
                _tile_dpbusd(0, 4, 6);
                if (use_a1) _tile_dpbusd(2, 5, 6);
                if (use_b1) {
                    _tile_loadd(7, tail ? (const void *)b_tail[1] : (const void *)(b1 + s * AMX_GROUPS * AMX_ROW_BYTES), AMX_ROW_BYTES);
                    _tile_dpbusd(1, 4, 7);
                    if (use_a1) _tile_dpbusd(3, 5, 7);
                }
            }
            // c: 32 rows x 32 columns; C[0][b] rows 0-15, C[1][b] rows 16-31.
            _tile_stored(0, c, AMX_NR * sizeof(int32_t));
            if (use_b1) _tile_stored(1, c + 16, AMX_NR * sizeof(int32_t));
            if (use_a1) {
                _tile_stored(2, c + AMX_ROWS * AMX_NR, AMX_NR * sizeof(int32_t));
                if (use_b1) _tile_stored(3, c + AMX_ROWS * AMX_NR + 16, AMX_NR * sizeof(int32_t));
            }
            amx_epilogue_any(planes, c, rows, m0, p0 * 16, n, ep);
        }
    }
    _tile_release();
}

AMX_TARGET void cnxq_gemm_u8s8_32x32c4_amx(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                           const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                           const int8_t *b_packed, const cnxq_epilogue *ep) {
    (void)a_lo;
    amx_gemm(1, m_begin, m_end, n, k_groups, a, NULL, lda, b_packed, ep);
}

AMX_TARGET void cnxq_gemm_u16s8_16x32c4_amx(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                            const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                            const int8_t *b_packed, const cnxq_epilogue *ep) {
    amx_gemm(2, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep);
}
#endif
