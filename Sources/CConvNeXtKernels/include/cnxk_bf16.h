/// bf16 GEMM contract: the register tile of the bf16 precision (`--precision bf16`), its weight
/// panel layout, the packing function and the one rounding rule every ISA variant shares.
///
/// Numerics (the same on every ISA, so variants differ only by f32 summation order):
/// - A (activations) and B (weights) are rounded from f32 to bf16 by cnxk_bf16_from_f32: round to
///   nearest, ties to even; NaN stays a (quiet) NaN; f32 subnormals become a signed zero (the
///   hardware instructions treat bf16 subnormals as zero, so the rounding never produces them).
/// - Each product of two bf16 values is exact in f32; products are summed in f32, starting from
///   the f32 bias (AMX: from zero, the bias added at the end), in an order that depends on the ISA.
/// - The epilogue is the f32 tile's: GELU (erf form, cnxk_gelu_scalar's polynomial) on the f32
///   sum, then + residual, stored as f32.
/// - Hardware (vdpbf16ps, tdpbf16ps) flushes subnormal f32 partial sums to zero and the portable
///   kernel does not: the results can then differ by less than 2^-126 in absolute value.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One register tile of C = A x B + bias (bf16 inputs, f32 sums), then GELU (optional), then
/// + residual (optional). The fields mean what they mean in cnxk_f32_gemm_tile, except:
///
/// - A holds bf16 values (already rounded by cnxk_bf16_round_rows), `lda` is in elements; a kernel
///   reads exactly elements 0..<k of each of the `rows` rows (k may be odd).
/// - B is one panel of `nr` columns (nr is the kernel's) packed in k pairs, the layout of
///   vdpbf16ps and of AMX's B tiles: for pair p (k = 2p and 2p + 1) and column j, the two values
///   are panel[p * 2 * nr + 2 * j] (k = 2p) and panel[p * 2 * nr + 2 * j + 1] (k = 2p + 1). When
///   k is odd the last pair's second value is zero. cnxk_bf16_pack_panel writes this layout.
typedef struct {
    size_t k;
    const uint16_t *a;
    size_t lda;
    size_t rows;
    const uint16_t *b;
    const float *bias;
    float *c;
    size_t ldc;
    const ptrdiff_t *c_row_offsets;
    const float *residual;
    /// 1: apply GELU (erf form) to A x B + bias before storing.
    int32_t gelu;
} cnxk_bf16_gemm_tile;

typedef void (*cnxk_bf16_gemm_fn)(const cnxk_bf16_gemm_tile *t);

/// k per AMX tile multiply. The AMX tiles (cnxk_bf16_gemm_32xN__amx) read k in whole steps of
/// this size: their caller stores each A row with zeros from k up to cnxk_bf16_padded_k(k, isa)
/// (so lda >= that) and packs the panels for the padded k (zero weights), which adds nothing
/// to the sums. The other tiles read exactly k.
#define CNXK_BF16_AMX_K_STEP 32

/// The k the tiles of ISA `isa` (a cnxk_isa) read: k rounded up to CNXK_BF16_AMX_K_STEP for
/// AMX, k itself for every other ISA.
size_t cnxk_bf16_padded_k(size_t k, int32_t isa);

/// The bf16 nearest to `x`, ties to even; NaN -> quiet NaN of the same sign; subnormal -> signed zero.
static inline uint16_t cnxk_bf16_from_f32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    // Adding 0x7fff plus the lowest kept bit rounds to nearest with ties to even; a carry into
    // the exponent is the correct result (up to infinity for values beyond the largest bf16).
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/// The f32 value of a bf16 (exact).
static inline float cnxk_bf16_to_f32(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/// Elements (uint16) of one packed panel of `nr` columns for reduction length `k`.
static inline size_t cnxk_bf16_panel_elements(size_t k, size_t nr) { return (k + 1) / 2 * 2 * nr; }

/// Packs columns 0..<columns (columns <= nr) of the row-major k x columns f32 matrix `w` (row kk
/// at w + kk * ldw) into one panel of `nr` columns (cnxk_bf16_panel_elements(k, nr) elements),
/// rounding with cnxk_bf16_from_f32; the pad columns and the pad k of an odd k are zero.
void cnxk_bf16_pack_panel(const float *w, size_t ldw, size_t k, size_t columns, size_t nr, uint16_t *panel);

/// Rounds `rows` rows of `k` f32 values (row r at a + r * lda) to bf16 rows at out + r * ldo
/// (cnxk_bf16_from_f32): the A prologue of every bf16 GEMM, whatever the ISA of its tiles.
void cnxk_bf16_round_rows(const float *a, size_t lda, size_t rows, size_t k, uint16_t *out, size_t ldo);

/// cnxk_bf16_round_rows's signature.
typedef void (*cnxk_bf16_round_fn)(const float *a, size_t lda, size_t rows, size_t k, uint16_t *out, size_t ldo);

/// The fastest rounding prologue for bf16 tiles of ISA `isa` (a cnxk_isa): vcvtneps2bf16 for
/// AVX512-BF16 and AMX tiles on a CPU with AVX512-BF16, else cnxk_bf16_round_rows. Every
/// variant gives cnxk_bf16_round_rows's bits.
cnxk_bf16_round_fn cnxk_bf16_rounding(int32_t isa);

#ifdef __cplusplus
}
#endif
