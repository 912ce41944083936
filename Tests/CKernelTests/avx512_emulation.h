// Test-only: runs the AVX-512 kernel sources on a CPU without AVX-512 (qemu's TCG has none
// either). Force-included (-include) ahead of f32-gemm-avx512.c / f32-dwconv7x7-avx512.c, it
// replaces __m512 and the few _mm512 intrinsics they use by scalar code with the same per-lane
// semantics (fmadd fused, min/max returning the second operand on NaN), and their target
// attributes by baseline x86-64, so the kernels' indexing, tails and epilogues are exercised.
#pragma once
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    float f[16];
} emu_m512;

#define EMU static inline __attribute__((always_inline))
#define EMU_MAP(expr)                        \
    emu_m512 r;                              \
    for (int i = 0; i < 16; i++) r.f[i] = expr; \
    return r

EMU emu_m512 emu_loadu(const float *p) {
    emu_m512 r;
    memcpy(r.f, p, sizeof r.f);
    return r;
}
/// vmovaps faults on an unaligned address; the emulation stops there too.
EMU emu_m512 emu_load(const float *p) {
    if ((uintptr_t)p % 64 != 0) __builtin_trap();
    return emu_loadu(p);
}
EMU void emu_storeu(float *p, emu_m512 v) { memcpy(p, v.f, sizeof v.f); }
EMU emu_m512 emu_set1(float x) { EMU_MAP(x); }
EMU emu_m512 emu_setzero(void) { EMU_MAP(0.0f); }
EMU emu_m512 emu_add(emu_m512 a, emu_m512 b) { EMU_MAP(a.f[i] + b.f[i]); }
EMU emu_m512 emu_sub(emu_m512 a, emu_m512 b) { EMU_MAP(a.f[i] - b.f[i]); }
EMU emu_m512 emu_mul(emu_m512 a, emu_m512 b) { EMU_MAP(a.f[i] * b.f[i]); }
EMU emu_m512 emu_div(emu_m512 a, emu_m512 b) { EMU_MAP(a.f[i] / b.f[i]); }
EMU emu_m512 emu_fmadd(emu_m512 a, emu_m512 b, emu_m512 c) { EMU_MAP(fmaf(a.f[i], b.f[i], c.f[i])); }
EMU emu_m512 emu_min(emu_m512 a, emu_m512 b) { EMU_MAP(a.f[i] < b.f[i] ? a.f[i] : b.f[i]); }
EMU emu_m512 emu_max(emu_m512 a, emu_m512 b) { EMU_MAP(a.f[i] > b.f[i] ? a.f[i] : b.f[i]); }

#define __m512 emu_m512
#define _mm512_loadu_ps emu_loadu
#define _mm512_load_ps emu_load
#define _mm512_storeu_ps emu_storeu
#define _mm512_set1_ps emu_set1
#define _mm512_setzero_ps emu_setzero
#define _mm512_add_ps emu_add
#define _mm512_sub_ps emu_sub
#define _mm512_mul_ps emu_mul
#define _mm512_div_ps emu_div
#define _mm512_fmadd_ps emu_fmadd
#define _mm512_min_ps emu_min
#define _mm512_max_ps emu_max
// The kernels' target("avx512f,...") attributes become baseline x86-64.
#define target(...) target("sse2")
