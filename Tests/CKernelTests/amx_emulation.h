// Test-only: runs the AMX kernel source (qu8-gemm/int8_gemm_amx.c) on a CPU without AMX or
// AVX-512. Force-included (-include) ahead of it, this replaces the tile intrinsics by scalar
// tile registers (per thread, like the hardware's tile state) and the AVX-512 intrinsics of the
// shared epilogue (int8_avx512_epilogue.h) by scalar code with the same per-lane semantics, and
// the target attributes by baseline x86-64.
//
// Whatever would fault on real hardware is checked and counted in amx_emu_faults (defined by the
// test, which fails a kernel when it is non-zero): a tile instruction without a loaded
// configuration or on an unconfigured tile, LDTILECFG with a palette other than 1, a non-zero
// start row or reserved byte, more than 16 rows or 64 bytes per row, rows and colsb not both zero,
// tiles 8-15 configured; TDPBUSD with repeated tiles or shapes that do not chain (C rows = A rows,
// A colsb = 4 x B rows, C colsb = B colsb). A load or store stride smaller than the row size is
// counted as well (legal on hardware, but overlapping rows are a bug in these kernels). Faulting
// instructions do nothing else. Masked AVX-512 loads and stores touch only the lanes of the mask,
// so the test's guard pages catch what the hardware would read or write.
#pragma once
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Instructions that would have faulted (all threads), and the first one's description.
extern int amx_emu_faults;
extern char amx_emu_first_fault[160];

#define AMX_EMU static inline __attribute__((always_inline, unused))

AMX_EMU void amx_emu_fault(const char *what, int tile) {
    if (__atomic_fetch_add(&amx_emu_faults, 1, __ATOMIC_SEQ_CST) == 0)
        snprintf(amx_emu_first_fault, sizeof amx_emu_first_fault, "%s (tile %d)", what, tile);
}

// ---------------------------------------------------------------------------------------------
// Tiles.

typedef struct {
    int configured;
    uint8_t rows[16];
    uint16_t colsb[16];
    uint8_t data[8][16][64];
} amx_emu_state;

static __thread amx_emu_state amx_emu;

/// 1 when tile t may be used: a configuration is loaded and gives t rows.
AMX_EMU int amx_emu_usable(int t, const char *what) {
    if (!amx_emu.configured) {
        amx_emu_fault(what, t);  // #UD: tiles not configured
        return 0;
    }
    if (t < 0 || t > 7 || amx_emu.rows[t] == 0) {
        amx_emu_fault(what, t);  // #UD: tile not configured
        return 0;
    }
    return 1;
}

AMX_EMU void amx_emu_loadconfig(const void *p) {
    const uint8_t *c = p;
    uint16_t colsb[16];
    memcpy(colsb, c + 16, sizeof colsb);
    const uint8_t *rows = c + 48;
    int ok = c[0] == 1 && c[1] == 0;
    for (int i = 2; i < 16; i++) ok &= c[i] == 0;
    for (int t = 0; t < 16; t++) {
        if (t >= 8) ok &= rows[t] == 0 && colsb[t] == 0;
        ok &= rows[t] <= 16 && colsb[t] <= 64 && (rows[t] == 0) == (colsb[t] == 0);
    }
    if (!ok) {
        amx_emu_fault("LDTILECFG with an invalid configuration", -1);  // #GP
        return;
    }
    memset(&amx_emu, 0, sizeof amx_emu);  // LDTILECFG zeroes every tile
    amx_emu.configured = 1;
    memcpy(amx_emu.rows, rows, 16);
    memcpy(amx_emu.colsb, colsb, sizeof colsb);
}

AMX_EMU void amx_emu_release(void) { memset(&amx_emu, 0, sizeof amx_emu); }

AMX_EMU void amx_emu_zero(int t) {
    if (amx_emu_usable(t, "TILEZERO")) memset(amx_emu.data[t], 0, sizeof amx_emu.data[t]);
}

AMX_EMU void amx_emu_loadd(int t, const void *base, size_t stride) {
    if (!amx_emu_usable(t, "TILELOADD")) return;
    if (stride < amx_emu.colsb[t]) {
        amx_emu_fault("TILELOADD stride smaller than the row", t);
        return;
    }
    memset(amx_emu.data[t], 0, sizeof amx_emu.data[t]);  // bytes past rows / colsb read as zero
    for (int r = 0; r < amx_emu.rows[t]; r++)
        memcpy(amx_emu.data[t][r], (const uint8_t *)base + (size_t)r * stride, amx_emu.colsb[t]);
}

AMX_EMU void amx_emu_stored(int t, void *base, size_t stride) {
    if (!amx_emu_usable(t, "TILESTORED")) return;
    if (stride < amx_emu.colsb[t]) {
        amx_emu_fault("TILESTORED stride smaller than the row", t);
        return;
    }
    for (int r = 0; r < amx_emu.rows[t]; r++) memcpy((uint8_t *)base + (size_t)r * stride, amx_emu.data[t][r], amx_emu.colsb[t]);
}

/// TDPBUSD c, a, b: c[m][n] += sum over k of a[m][4k + i] (u8) x b[k][4n + i] (s8), i < 4, Int32
/// with wrap-around like the hardware.
AMX_EMU void amx_emu_dpbusd(int c, int a, int b) {
    if (!amx_emu_usable(c, "TDPBUSD C") || !amx_emu_usable(a, "TDPBUSD A") || !amx_emu_usable(b, "TDPBUSD B")) return;
    if (c == a || c == b || a == b) {
        amx_emu_fault("TDPBUSD with a repeated tile", c);  // #UD
        return;
    }
    const int m_rows = amx_emu.rows[c], k_groups = amx_emu.colsb[a] / 4, n_cols = amx_emu.colsb[c] / 4;
    if (amx_emu.rows[a] != m_rows || amx_emu.colsb[a] % 4 != 0 || amx_emu.rows[b] != k_groups ||
        amx_emu.colsb[b] != amx_emu.colsb[c] || amx_emu.colsb[c] % 4 != 0) {
        amx_emu_fault("TDPBUSD with shapes that do not chain", c);  // #UD
        return;
    }
    for (int m = 0; m < m_rows; m++)
        for (int n = 0; n < n_cols; n++) {
            uint32_t acc;
            memcpy(&acc, &amx_emu.data[c][m][4 * n], 4);
            for (int k = 0; k < k_groups; k++)
                for (int i = 0; i < 4; i++)
                    acc += (uint32_t)((int32_t)amx_emu.data[a][m][4 * k + i] * (int32_t)(int8_t)amx_emu.data[b][k][4 * n + i]);
            memcpy(&amx_emu.data[c][m][4 * n], &acc, 4);
        }
}

#undef _tile_loadconfig
#undef _tile_release
#undef _tile_zero
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbusd
#define _tile_loadconfig(p) amx_emu_loadconfig(p)
#define _tile_release() amx_emu_release()
#define _tile_zero(t) amx_emu_zero(t)
#define _tile_loadd(t, base, stride) amx_emu_loadd((t), (base), (size_t)(stride))
#define _tile_stored(t, base, stride) amx_emu_stored((t), (base), (size_t)(stride))
#define _tile_dpbusd(c, a, b) amx_emu_dpbusd((c), (a), (b))

// ---------------------------------------------------------------------------------------------
// The AVX-512 subset of the epilogue, lane by lane.

typedef struct {
    float f[16];
} amx_emu_ps;
typedef struct {
    int32_t i[16];
} amx_emu_si;

#define AMX_EMU_PS(expr)                          \
    amx_emu_ps r;                                 \
    for (int l = 0; l < 16; l++) r.f[l] = (expr); \
    return r
#define AMX_EMU_SI(expr)                          \
    amx_emu_si r;                                 \
    for (int l = 0; l < 16; l++) r.i[l] = (expr); \
    return r

/// cvtps2dq / cvttps2dq: out of range and NaN give the "integer indefinite" 0x80000000.
AMX_EMU int32_t amx_emu_to_i32(float x, int truncate) {
    const float y = truncate ? truncf(x) : nearbyintf(x);  // default MXCSR: round half to even
    return y >= -2147483648.0f && y < 2147483648.0f ? (int32_t)y : INT32_MIN;
}

AMX_EMU amx_emu_ps amx_emu_set1_ps(float x) { AMX_EMU_PS(x); }
AMX_EMU amx_emu_ps amx_emu_loadu_ps(const float *p) { AMX_EMU_PS(p[l]); }
AMX_EMU amx_emu_ps amx_emu_load_ps(const float *p) {
    if ((uintptr_t)p % 64 != 0) amx_emu_fault("vmovaps from an unaligned address", -1);  // #GP
    AMX_EMU_PS(p[l]);
}
AMX_EMU amx_emu_ps amx_emu_maskz_loadu_ps(__mmask16 m, const float *p) { AMX_EMU_PS((m >> l) & 1 ? p[l] : 0.0f); }
AMX_EMU void amx_emu_mask_storeu_ps(float *p, __mmask16 m, amx_emu_ps v) {
    for (int l = 0; l < 16; l++)
        if ((m >> l) & 1) p[l] = v.f[l];
}
AMX_EMU amx_emu_ps amx_emu_add_ps(amx_emu_ps a, amx_emu_ps b) { AMX_EMU_PS(a.f[l] + b.f[l]); }
AMX_EMU amx_emu_ps amx_emu_sub_ps(amx_emu_ps a, amx_emu_ps b) { AMX_EMU_PS(a.f[l] - b.f[l]); }
AMX_EMU amx_emu_ps amx_emu_mul_ps(amx_emu_ps a, amx_emu_ps b) { AMX_EMU_PS(a.f[l] * b.f[l]); }
// minps / maxps return the second operand when either is NaN.
AMX_EMU amx_emu_ps amx_emu_min_ps(amx_emu_ps a, amx_emu_ps b) { AMX_EMU_PS(a.f[l] < b.f[l] ? a.f[l] : b.f[l]); }
AMX_EMU amx_emu_ps amx_emu_max_ps(amx_emu_ps a, amx_emu_ps b) { AMX_EMU_PS(a.f[l] > b.f[l] ? a.f[l] : b.f[l]); }
AMX_EMU amx_emu_ps amx_emu_abs_ps(amx_emu_ps a) { AMX_EMU_PS(fabsf(a.f[l])); }
AMX_EMU amx_emu_ps amx_emu_roundscale_ps(amx_emu_ps a, int imm) {
    if (imm != (_MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)) amx_emu_fault("vrndscaleps mode not emulated", imm);
    AMX_EMU_PS(floorf(a.f[l]));
}
AMX_EMU amx_emu_ps amx_emu_permutex2var_ps(amx_emu_ps a, amx_emu_si idx, amx_emu_ps b) {
    AMX_EMU_PS((idx.i[l] & 16) ? b.f[idx.i[l] & 15] : a.f[idx.i[l] & 15]);
}
AMX_EMU amx_emu_ps amx_emu_cvtepi32_ps(amx_emu_si a) { AMX_EMU_PS((float)a.i[l]); }
AMX_EMU amx_emu_si amx_emu_cvtps_epi32(amx_emu_ps a) { AMX_EMU_SI(amx_emu_to_i32(a.f[l], 0)); }
AMX_EMU amx_emu_si amx_emu_cvttps_epi32(amx_emu_ps a) { AMX_EMU_SI(amx_emu_to_i32(a.f[l], 1)); }
AMX_EMU amx_emu_si amx_emu_set1_epi32(int32_t x) { AMX_EMU_SI(x); }
AMX_EMU amx_emu_si amx_emu_setzero_si512(void) { AMX_EMU_SI(0); }
AMX_EMU amx_emu_si amx_emu_loadu_si512(const void *p) {
    amx_emu_si r;
    memcpy(r.i, p, sizeof r.i);
    return r;
}
AMX_EMU amx_emu_si amx_emu_add_epi32(amx_emu_si a, amx_emu_si b) { AMX_EMU_SI((int32_t)((uint32_t)a.i[l] + (uint32_t)b.i[l])); }
AMX_EMU amx_emu_si amx_emu_sub_epi32(amx_emu_si a, amx_emu_si b) { AMX_EMU_SI((int32_t)((uint32_t)a.i[l] - (uint32_t)b.i[l])); }
AMX_EMU amx_emu_si amx_emu_max_epi32(amx_emu_si a, amx_emu_si b) { AMX_EMU_SI(a.i[l] > b.i[l] ? a.i[l] : b.i[l]); }
AMX_EMU amx_emu_si amx_emu_min_epi32(amx_emu_si a, amx_emu_si b) { AMX_EMU_SI(a.i[l] < b.i[l] ? a.i[l] : b.i[l]); }
AMX_EMU amx_emu_si amx_emu_and_si512(amx_emu_si a, amx_emu_si b) { AMX_EMU_SI(a.i[l] & b.i[l]); }
AMX_EMU amx_emu_si amx_emu_srli_epi32(amx_emu_si a, unsigned n) { AMX_EMU_SI(n > 31 ? 0 : (int32_t)((uint32_t)a.i[l] >> n)); }
/// vpmovusdb with a mask: unsigned saturation of each selected lane to a byte.
AMX_EMU void amx_emu_mask_cvtusepi32_storeu_epi8(void *p, __mmask16 m, amx_emu_si a) {
    for (int l = 0; l < 16; l++)
        if ((m >> l) & 1) ((uint8_t *)p)[l] = (uint32_t)a.i[l] > 255u ? 255 : (uint8_t)a.i[l];
}
/// vpmovdb (truncation of each lane to its low byte) and a masked byte store of the result.
typedef struct {
    uint8_t b[16];
} amx_emu_b16;
AMX_EMU amx_emu_b16 amx_emu_cvtepi32_epi8(amx_emu_si a) {
    amx_emu_b16 r;
    for (int l = 0; l < 16; l++) r.b[l] = (uint8_t)a.i[l];
    return r;
}
AMX_EMU void amx_emu_mask_storeu_epi8(void *p, __mmask16 m, amx_emu_b16 a) {
    for (int l = 0; l < 16; l++)
        if ((m >> l) & 1) ((uint8_t *)p)[l] = a.b[l];
}

#define __m512 amx_emu_ps
#define __m512i amx_emu_si
#undef _mm512_set1_ps
#undef _mm512_loadu_ps
#undef _mm512_load_ps
#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#undef _mm512_add_ps
#undef _mm512_sub_ps
#undef _mm512_mul_ps
#undef _mm512_min_ps
#undef _mm512_max_ps
#undef _mm512_abs_ps
#undef _mm512_roundscale_ps
#undef _mm512_permutex2var_ps
#undef _mm512_cvtepi32_ps
#undef _mm512_cvtps_epi32
#undef _mm512_cvttps_epi32
#undef _mm512_set1_epi32
#undef _mm512_setzero_si512
#undef _mm512_loadu_si512
#undef _mm512_add_epi32
#undef _mm512_sub_epi32
#undef _mm512_max_epi32
#undef _mm512_min_epi32
#undef _mm512_and_si512
#undef _mm512_srli_epi32
#undef _mm512_mask_cvtusepi32_storeu_epi8
#undef _mm512_cvtepi32_epi8
#undef _mm_mask_storeu_epi8
#define _mm512_set1_ps amx_emu_set1_ps
#define _mm512_loadu_ps amx_emu_loadu_ps
#define _mm512_load_ps amx_emu_load_ps
#define _mm512_maskz_loadu_ps amx_emu_maskz_loadu_ps
#define _mm512_mask_storeu_ps amx_emu_mask_storeu_ps
#define _mm512_add_ps amx_emu_add_ps
#define _mm512_sub_ps amx_emu_sub_ps
#define _mm512_mul_ps amx_emu_mul_ps
#define _mm512_min_ps amx_emu_min_ps
#define _mm512_max_ps amx_emu_max_ps
#define _mm512_abs_ps amx_emu_abs_ps
#define _mm512_roundscale_ps amx_emu_roundscale_ps
#define _mm512_permutex2var_ps amx_emu_permutex2var_ps
#define _mm512_cvtepi32_ps amx_emu_cvtepi32_ps
#define _mm512_cvtps_epi32 amx_emu_cvtps_epi32
#define _mm512_cvttps_epi32 amx_emu_cvttps_epi32
#define _mm512_set1_epi32 amx_emu_set1_epi32
#define _mm512_setzero_si512 amx_emu_setzero_si512
#define _mm512_loadu_si512 amx_emu_loadu_si512
#define _mm512_add_epi32 amx_emu_add_epi32
#define _mm512_sub_epi32 amx_emu_sub_epi32
#define _mm512_max_epi32 amx_emu_max_epi32
#define _mm512_min_epi32 amx_emu_min_epi32
#define _mm512_and_si512 amx_emu_and_si512
#define _mm512_srli_epi32 amx_emu_srli_epi32
#define _mm512_mask_cvtusepi32_storeu_epi8 amx_emu_mask_cvtusepi32_storeu_epi8
#define _mm512_cvtepi32_epi8 amx_emu_cvtepi32_epi8
#define _mm_mask_storeu_epi8 amx_emu_mask_storeu_epi8
// The kernels' target("amx-tile,...") and target("avx512f,...") attributes become baseline x86-64.
#define target(...) target("sse2")
