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
// Named variables (not an array) so every compiler keeps each chain in a register; the empty asm
// ("+" reg: the vector register class) keeps it there and the loop from being folded away.
#define CNXK_CHAINS(X, p, q)                                                                        \
    X(0, p, q) X(1, p, q) X(2, p, q) X(3, p, q) X(4, p, q) X(5, p, q) X(6, p, q) X(7, p, q) X(8, p, q) \
    X(9, p, q) X(10, p, q) X(11, p, q)
#define CNXK_PEAK_DECL(i, type, init) type v##i = init(i);
#define CNXK_PEAK_STEP(i, reg, op) __asm__ volatile("" : "+" reg(v##i)); v##i = op(v##i);
#define CNXK_PEAK_SUM(i, add, unused) s = add(s, v##i);

/// Defines `static float name(size_t iterations)`, the one shape of every peak loop: chains
/// v0..v11 of `type` start at init(i); each iteration applies op(v) (one multiply-add
/// instruction, using the loop constants declared by the trailing arguments) to every chain;
/// the result is reduce(v0 + ... + v11), summed from `zero` with add.
#define CNXK_PEAK_LOOP(name, attributes, type, reg, init, op, zero, add, reduce, ...)             \
    __attribute__(attributes) static float name(size_t iterations) {                              \
        CNXK_CHAINS(CNXK_PEAK_DECL, type, init)                                                    \
        __VA_ARGS__;                                                                               \
        for (size_t i = 0; i < iterations; i++) { CNXK_CHAINS(CNXK_PEAK_STEP, reg, op) }           \
        type s = zero;                                                                             \
        CNXK_CHAINS(CNXK_PEAK_SUM, add, _)                                                         \
        return reduce(s);                                                                          \
    }

#if defined(CNXK_X86)
#define AVX2_INIT(i) _mm256_set1_ps(1.0f + 0.001f * (float)(i))
#define AVX2_FMA(v) _mm256_fmadd_ps(v, m, c)
CNXK_PEAK_LOOP(peak_avx2, (target("avx2,fma"), noinline), __m256, "x", AVX2_INIT, AVX2_FMA, _mm256_setzero_ps(),
               _mm256_add_ps, _mm256_cvtss_f32, const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f))

#define AVX512_INIT(i) _mm512_set1_ps(1.0f + 0.001f * (float)(i))
#define AVX512_FMA(v) _mm512_fmadd_ps(v, m, c)
CNXK_PEAK_LOOP(peak_avx512, (target("avx512f"), noinline), __m512, "v", AVX512_INIT, AVX512_FMA, _mm512_setzero_ps(),
               _mm512_add_ps, _mm512_reduce_add_ps, const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f))

#define VNNI_DPBUSD(v) _mm512_dpbusd_epi32(v, a, b)
#define VNNI_REDUCE(s) (float)_mm512_reduce_add_epi32(s)
CNXK_PEAK_LOOP(peak_avx512vnni, (target("avx512f,avx512vnni"), noinline), __m512i, "v", _mm512_set1_epi32,
               VNNI_DPBUSD, _mm512_setzero_si512(), _mm512_add_epi32, VNNI_REDUCE,
               const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2))

// vdpbf16ps: each of the 16 f32 lanes adds the products of two bf16 pairs (32 multiply-adds per
// instruction). The bf16 operands are converted from f32 once, outside the loop.
#define BF16_DPBF16(v) _mm512_dpbf16_ps(v, a, b)
CNXK_PEAK_LOOP(peak_avx512bf16, (target("avx512f,avx512bf16"), noinline), __m512, "v", AVX512_INIT, BF16_DPBF16,
               _mm512_setzero_ps(), _mm512_add_ps, _mm512_reduce_add_ps,
               const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.999f), _mm512_set1_ps(0.999f)),
               b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-7f), _mm512_set1_ps(1e-7f)))
#endif

#if defined(CNXK_ARM64)
#define NEON_INIT(i) vdupq_n_f32(1.0f + 0.001f * (float)(i))
#define NEON_FMA(v) vfmaq_f32(c, v, m)
#define NEON_LANE0(s) vgetq_lane_f32(s, 0)
CNXK_PEAK_LOOP(peak_neon, (noinline), float32x4_t, "w", NEON_INIT, NEON_FMA, vdupq_n_f32(0.0f), vaddq_f32, NEON_LANE0,
               const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f))
#endif

double cnxk_peak_ops_per_iteration(int32_t isa) {
    switch (isa) {
    case CNXK_ISA_AVX2: return 12.0 * 8 * 2;
    case CNXK_ISA_AVX512: return 12.0 * 16 * 2;
    case CNXK_ISA_AVX512VNNI: return 12.0 * 64 * 2;
    case CNXK_ISA_AVX512BF16: return 12.0 * 32 * 2;
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
    case CNXK_ISA_AVX512BF16: return peak_avx512bf16(iterations);
#endif
#if defined(CNXK_ARM64)
    case CNXK_ISA_NEON: return peak_neon(iterations);
#endif
    default: return 0;
    }
}
