// Test-only: runs the AMX kernel source (qu8-gemm/int8_gemm_amx.c) on a CPU without AMX or
// AVX-512. Force-included (-include) ahead of it, this replaces the tile intrinsics by scalar
// tile registers (per thread, like the hardware's tile state) and the AVX-512 intrinsics of the
// shared epilogue (int8_avx512_epilogue.h) by scalar code with the same per-lane semantics, and
// the target attributes by baseline x86-64.
//
// The tile registers and the faults they check are in amx_tile_emulation.h. Masked AVX-512 loads
// and stores touch only the lanes of the mask, so the test's guard pages catch what the hardware
// would read or write.
#pragma once
#include "amx_tile_emulation.h"
#include <pthread.h>
#include <stdlib.h>

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
