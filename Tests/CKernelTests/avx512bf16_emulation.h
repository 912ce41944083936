// Test-only: runs the AVX512-BF16 kernel source (bf16-gemm-avx512bf16.c) on a CPU without it.
// Force-included ahead of that file, it adds to avx512_emulation.h the integer and bf16 vector
// types and the intrinsics the kernel uses, in scalar code with the instruction's semantics:
// vdpbf16ps lane j adds a[2j+1] b[2j+1], then a[2j] b[2j], to the f32 sum, each addition
// rounded to nearest even, bf16 subnormal inputs read as zero and subnormal sums flushed to zero.
#pragma once
#include "avx512_emulation.h"

// Generic vectors (not structs), so that the kernel's casts between them compile unchanged.
// Out of line (EMU_CALL): inlined into the unrolled tiles, the scalar loops make gcc take minutes.
#define EMU_CALL static __attribute__((noinline, unused))
typedef int32_t emu_m512i __attribute__((vector_size(64)));
typedef uint16_t emu_m512bh __attribute__((vector_size(64)));

EMU emu_m512i emu_loadu_si512(const void *p) {
    emu_m512i r;
    memcpy(&r, p, sizeof r);
    return r;
}
EMU emu_m512i emu_set1_epi32(int x) {
    emu_m512i r;
    for (int i = 0; i < 16; i++) r[i] = x;
    return r;
}
/// A bf16 as the instruction reads it: subnormals are zero.
EMU float emu_bf16_daz(uint16_t h) {
    if ((h & 0x7f80u) == 0) h &= 0x8000u;
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
EMU float emu_ftz(float x) { return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x; }
EMU_CALL emu_m512 emu_dpbf16(emu_m512 src, emu_m512bh a, emu_m512bh b) {
    emu_m512 r;
    for (int j = 0; j < 16; j++) {
        float t = src.f[j];
        const volatile float odd = emu_bf16_daz(a[2 * j + 1]) * emu_bf16_daz(b[2 * j + 1]);
        t = emu_ftz(t + odd);
        const volatile float even = emu_bf16_daz(a[2 * j]) * emu_bf16_daz(b[2 * j]);
        t = emu_ftz(t + even);
        r.f[j] = t;
    }
    return r;
}

#define __m512i emu_m512i
#define __m512bh emu_m512bh
#define _mm512_loadu_si512 emu_loadu_si512
#define _mm512_set1_epi32 emu_set1_epi32
#define _mm512_dpbf16_ps emu_dpbf16
