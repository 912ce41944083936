// Register-only multiply-add loops: the rate an ISA's arithmetic sustains on this core with no
// memory traffic, printed by `convnext bench --kernels` beside each kernel's rate.
#include "cnxk_internal.h"
#if defined(CNXK_X86)
#include <immintrin.h>
#endif
#if defined(CNXK_ARM64)
#include <arm_neon.h>
#endif

// Twelve independent accumulator chains: more than FMA latency x FMA pipes on current cores.
// The empty asm keeps every chain in a register and the loop from being folded away.
#define CNXK_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#if defined(CNXK_X86)
__attribute__((target("avx2,fma"), noinline)) static float peak_avx2(size_t iterations) {
#define DECL(i) __m256 v##i = _mm256_set1_ps(1.0f + 0.001f * (float)(i));
#define STEP(i) __asm__ volatile("" : "+x"(v##i)); v##i = _mm256_fmadd_ps(v##i, m, c);
#define SUM(i) s = _mm256_add_ps(s, v##i);
    CNXK_CHAINS(DECL)
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (size_t i = 0; i < iterations; i++) { CNXK_CHAINS(STEP) }
    __m256 s = _mm256_setzero_ps();
    CNXK_CHAINS(SUM)
    return _mm256_cvtss_f32(s);
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx512f"), noinline)) static float peak_avx512(size_t iterations) {
#define DECL(i) __m512 v##i = _mm512_set1_ps(1.0f + 0.001f * (float)(i));
#define STEP(i) __asm__ volatile("" : "+v"(v##i)); v##i = _mm512_fmadd_ps(v##i, m, c);
#define SUM(i) s = _mm512_add_ps(s, v##i);
    CNXK_CHAINS(DECL)
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (size_t i = 0; i < iterations; i++) { CNXK_CHAINS(STEP) }
    __m512 s = _mm512_setzero_ps();
    CNXK_CHAINS(SUM)
    return _mm512_reduce_add_ps(s);
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx512f,avx512vnni"), noinline)) static float peak_avx512vnni(size_t iterations) {
#define DECL(i) __m512i v##i = _mm512_set1_epi32(i);
#define STEP(i) __asm__ volatile("" : "+v"(v##i)); v##i = _mm512_dpbusd_epi32(v##i, a, b);
#define SUM(i) s = _mm512_add_epi32(s, v##i);
    CNXK_CHAINS(DECL)
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (size_t i = 0; i < iterations; i++) { CNXK_CHAINS(STEP) }
    __m512i s = _mm512_setzero_si512();
    CNXK_CHAINS(SUM)
    return (float)_mm512_reduce_add_epi32(s);
#undef DECL
#undef STEP
#undef SUM
}
#endif

#if defined(CNXK_ARM64)
__attribute__((noinline)) static float peak_neon(size_t iterations) {
#define DECL(i) float32x4_t v##i = vdupq_n_f32(1.0f + 0.001f * (float)(i));
#define STEP(i) __asm__ volatile("" : "+w"(v##i)); v##i = vfmaq_f32(c, v##i, m);
#define SUM(i) s = vaddq_f32(s, v##i);
    CNXK_CHAINS(DECL)
    const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
    for (size_t i = 0; i < iterations; i++) { CNXK_CHAINS(STEP) }
    float32x4_t s = vdupq_n_f32(0.0f);
    CNXK_CHAINS(SUM)
    return vgetq_lane_f32(s, 0);
#undef DECL
#undef STEP
#undef SUM
}
#endif

double cnxk_peak_ops_per_iteration(int32_t isa) {
    switch (isa) {
    case CNXK_ISA_AVX2: return 12.0 * 8 * 2;
    case CNXK_ISA_AVX512: return 12.0 * 16 * 2;
    case CNXK_ISA_AVX512VNNI: return 12.0 * 64 * 2;
    case CNXK_ISA_NEON: return 12.0 * 4 * 2;
    default: return 0;
    }
}

float cnxk_peak_loop(int32_t isa, size_t iterations) {
    if (!cnxk_cpu_has(isa)) return 0;
    switch (isa) {
#if defined(CNXK_X86)
    case CNXK_ISA_AVX2: return peak_avx2(iterations);
    case CNXK_ISA_AVX512: return peak_avx512(iterations);
    case CNXK_ISA_AVX512VNNI: return peak_avx512vnni(iterations);
#endif
#if defined(CNXK_ARM64)
    case CNXK_ISA_NEON: return peak_neon(iterations);
#endif
    default: return 0;
    }
}
