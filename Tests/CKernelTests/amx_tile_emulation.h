// Test-only: scalar AMX tile registers for the AMX kernel sources on a CPU without AMX. Included
// by amx_emulation.h (the int8 kernels, which also need their AVX-512 epilogue emulated) and
// force-included with avx512bf16_emulation.h ahead of bf16-gemm-amx.c (scripts/test-c-kernels).
//
// Whatever would fault on real hardware is checked and counted in amx_emu_faults (defined by the
// test, which fails a kernel when it is non-zero): a tile instruction without a loaded
// configuration or on an unconfigured tile, LDTILECFG with a palette other than 1, a non-zero
// start row or reserved byte, more than 16 rows or 64 bytes per row, rows and colsb not both zero,
// tiles 8-15 configured; TDPBUSD / TDPBF16PS with repeated tiles or shapes that do not chain
// (C rows = A rows, A colsb = 4 x B rows, C colsb = B colsb). A load or store stride smaller than
// the row size is counted as well (legal on hardware, but overlapping rows are a bug in these
// kernels). Faulting instructions do nothing else.
#pragma once
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/// 1 when c += a b chains: the three tiles differ and C rows = A rows, A colsb = 4 x B rows,
/// C colsb = B colsb (both instructions read A in 4-byte groups).
AMX_EMU int amx_emu_chains(int c, int a, int b, const char *what) {
    if (!amx_emu_usable(c, what) || !amx_emu_usable(a, what) || !amx_emu_usable(b, what)) return 0;
    if (c == a || c == b || a == b) {
        amx_emu_fault("tile multiply with a repeated tile", c);  // #UD
        return 0;
    }
    if (amx_emu.rows[a] != amx_emu.rows[c] || amx_emu.colsb[a] % 4 != 0 || amx_emu.rows[b] != amx_emu.colsb[a] / 4 ||
        amx_emu.colsb[b] != amx_emu.colsb[c] || amx_emu.colsb[c] % 4 != 0) {
        amx_emu_fault("tile multiply with shapes that do not chain", c);  // #UD
        return 0;
    }
    return 1;
}

/// TDPBUSD c, a, b: c[m][n] += sum over k of a[m][4k + i] (u8) x b[k][4n + i] (s8), i < 4, Int32
/// with wrap-around like the hardware.
AMX_EMU void amx_emu_dpbusd(int c, int a, int b) {
    if (!amx_emu_chains(c, a, b, "TDPBUSD")) return;
    const int m_rows = amx_emu.rows[c], k_groups = amx_emu.colsb[a] / 4, n_cols = amx_emu.colsb[c] / 4;
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

/// A bf16 as TDPBF16PS reads it: subnormals are zero.
AMX_EMU float amx_emu_bf16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    if ((h & 0x7f80u) == 0) h &= 0x8000u;
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/// TDPBF16PS c, a, b: c[m][n] (f32) += a[m][2k] b[k][2n], then += a[m][2k + 1] b[k][2n + 1], for
/// each k pair in turn; each addition rounded to nearest even (the bf16 products are exact),
/// subnormal inputs read as zero and subnormal sums flushed to zero.
AMX_EMU void amx_emu_dpbf16ps(int c, int a, int b) {
    if (!amx_emu_chains(c, a, b, "TDPBF16PS")) return;
    const int m_rows = amx_emu.rows[c], k_pairs = amx_emu.colsb[a] / 4, n_cols = amx_emu.colsb[c] / 4;
    for (int m = 0; m < m_rows; m++)
        for (int n = 0; n < n_cols; n++) {
            float acc;
            memcpy(&acc, &amx_emu.data[c][m][4 * n], 4);
            for (int k = 0; k < k_pairs; k++)
                for (int i = 0; i < 2; i++) {
                    const volatile float product =
                        amx_emu_bf16(&amx_emu.data[a][m][4 * k + 2 * i]) * amx_emu_bf16(&amx_emu.data[b][k][4 * n + 2 * i]);
                    acc += product;
                    if (fpclassify(acc) == FP_SUBNORMAL) acc = copysignf(0.0f, acc);
                }
            memcpy(&amx_emu.data[c][m][4 * n], &acc, 4);
        }
}

#undef _tile_loadconfig
#undef _tile_release
#undef _tile_zero
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbusd
#undef _tile_dpbf16ps
#define _tile_loadconfig(p) amx_emu_loadconfig(p)
#define _tile_release() amx_emu_release()
#define _tile_zero(t) amx_emu_zero(t)
#define _tile_loadd(t, base, stride) amx_emu_loadd((t), (base), (size_t)(stride))
#define _tile_stored(t, base, stride) amx_emu_stored((t), (base), (size_t)(stride))
#define _tile_dpbusd(c, a, b) amx_emu_dpbusd((c), (a), (b))
#define _tile_dpbf16ps(c, a, b) amx_emu_dpbf16ps((c), (a), (b))
