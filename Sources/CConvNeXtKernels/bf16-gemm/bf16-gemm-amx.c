// AMX-BF16 bf16 GEMM tiles (Sapphire Rapids and later): 32 rows x 32 or 16 columns per call.
// Tiles: 0-3 the f32 accumulators C[row half][column half] (16 x 16 each), 4-5 the two A row
// halves (16 rows x 32 bf16), 6-7 the two B column halves (16 k pairs x 16 columns). One tile
// multiply (TDPBF16PS) consumes 32 k; the packed panel is already the B tile layout: k pair p
// of a 32-wide panel is 128 bytes, columns 0-15 in its first 64, so B half h is the panel plus
// 64 h bytes with a 128-byte row stride (a 16-wide panel: 64-byte rows, one half).
// k is consumed in whole steps of CNXK_BF16_AMX_K_STEP: the caller pads A rows and the panel
// with zeros to that multiple (cnxk_bf16.h), so no tile load reads past either.
// A block of fewer than 32 rows gets a tile configuration with exactly its rows, so A is never
// read past its last row; each call configures the tiles and releases them (tile state is per
// thread and other AMX kernels configure it differently).
#if defined(__x86_64__)
#include "../cnxk_internal.h"
#include <immintrin.h>

#define AMX_BF16_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq")))
#define BF16_INLINE static inline __attribute__((always_inline, target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq")))
#define AVX512_INLINE BF16_INLINE
#include "bf16_avx512_store.h"
#include "../amx_tile_config.h"

enum {
    /// Rows of one tile, and bytes per tile row (16 f32, 32 bf16 or 16 bf16 pairs).
    TILE_ROWS = 16,
    TILE_ROW_BYTES = 64,
    /// Rows per call: two A tiles.
    BLOCK_ROWS = 2 * TILE_ROWS,
};

/// The 32 x (16 nv) tile; nv (1 or 2 column halves) is a constant after inlining.
BF16_INLINE void amx_tile(const cnxk_bf16_gemm_tile *t, const int nv) {
    const size_t rows = t->rows < BLOCK_ROWS ? t->rows : BLOCK_ROWS;
    if (rows == 0) return;
    const size_t rows0 = rows < TILE_ROWS ? rows : TILE_ROWS, rows1 = rows - rows0;
    amx_tile_config config __attribute__((aligned(64)));
    memset(&config, 0, sizeof config);
    config.palette_id = 1;
    for (int h = 0; h < nv; h++) {
        config.rows[h] = (uint8_t)rows0;
        config.colsb[h] = TILE_ROW_BYTES;
        config.rows[6 + h] = TILE_ROWS;
        config.colsb[6 + h] = TILE_ROW_BYTES;
        if (rows1) {
            config.rows[2 + h] = (uint8_t)rows1;
            config.colsb[2 + h] = TILE_ROW_BYTES;
        }
    }
    config.rows[4] = (uint8_t)rows0;
    config.colsb[4] = TILE_ROW_BYTES;
    if (rows1) {
        config.rows[5] = (uint8_t)rows1;
        config.colsb[5] = TILE_ROW_BYTES;
    }
    AMX_MEMORY_BARRIER();
    _tile_loadconfig(&config);

    const size_t steps = (t->k + CNXK_BF16_AMX_K_STEP - 1) / CNXK_BF16_AMX_K_STEP;
    const size_t a_stride = t->lda * sizeof(uint16_t), b_stride = (size_t)nv * TILE_ROW_BYTES;
    const uint8_t *a0 = (const uint8_t *)t->a, *a1 = a0 + TILE_ROWS * a_stride;
    const uint8_t *b = (const uint8_t *)t->b;
    // Tile numbers must be constants: the two column halves and the two row halves are spelled out.
    _tile_zero(0);
    if (nv == 2) _tile_zero(1);
    if (rows1) {
        _tile_zero(2);
        if (nv == 2) _tile_zero(3);
    }
    for (size_t s = 0; s < steps; s++) {
        const size_t a_offset = s * TILE_ROW_BYTES, b_offset = s * TILE_ROWS * b_stride;
        _tile_loadd(4, a0 + a_offset, a_stride);
        _tile_loadd(6, b + b_offset, b_stride);
        _tile_dpbf16ps(0, 4, 6);
        if (nv == 2) {
            _tile_loadd(7, b + b_offset + TILE_ROW_BYTES, b_stride);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (rows1) {
            _tile_loadd(5, a1 + a_offset, a_stride);
            _tile_dpbf16ps(2, 5, 6);
            if (nv == 2) _tile_dpbf16ps(3, 5, 7);
        }
    }
    // Sums: BLOCK_ROWS rows of 16 nv floats; rows 16-31 from tiles 2 and 3.
    float sums[BLOCK_ROWS * 32] __attribute__((aligned(64)));
    const size_t ld = 16 * (size_t)nv * sizeof(float);
    _tile_stored(0, sums, ld);
    if (nv == 2) _tile_stored(1, sums + 16, ld);
    if (rows1) {
        _tile_stored(2, sums + TILE_ROWS * 16 * nv, ld);
        if (nv == 2) _tile_stored(3, sums + TILE_ROWS * 16 * nv + 16, ld);
    }
    _tile_release();
    AMX_MEMORY_BARRIER();
    for (size_t r = 0; r < rows; r++) {
        __m512 v[2];
        for (int j = 0; j < nv; j++) v[j] = _mm512_load_ps(sums + r * 16 * nv + 16 * j);
        bf16_store_row(t, r, nv, v, t->bias);
    }
}

AMX_BF16_TARGET void cnxk_bf16_gemm_32x32__amx(const cnxk_bf16_gemm_tile *t) { amx_tile(t, 2); }
AMX_BF16_TARGET void cnxk_bf16_gemm_32x16__amx(const cnxk_bf16_gemm_tile *t) { amx_tile(t, 1); }
#endif
