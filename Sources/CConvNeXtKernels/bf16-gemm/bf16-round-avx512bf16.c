// The A prologue of the bf16 GEMMs on AVX512-BF16: f32 rows to bf16 by vcvtneps2bf16, 32 values
// per instruction. Its rounding is cnxk_bf16_from_f32's bit for bit (nearest, ties to even; NaN
// to a quiet NaN; subnormal inputs to a signed zero), so the choice of prologue never changes a
// result; the scalar prologue cost ~2 ns per value, a fifth of bf16 atto's pointwise time.
#include "../cnxk_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void round_rows_avx512bf16(const float *a, size_t lda, size_t rows, size_t k, uint16_t *out, size_t ldo) {
    for (size_t r = 0; r < rows; r++) {
        const float *src = a + r * lda;
        uint16_t *dst = out + r * ldo;
        size_t i = 0;
        for (; i + 32 <= k; i += 32) {
            // cvtne2ps_pbh(hi, lo): the low 16 results come from the second operand.
            const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
            _mm512_storeu_si512((void *)(dst + i), (__m512i)v);
        }
        for (; i < k; i += 16) {
            const __mmask16 m = k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1);
            const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
            _mm256_mask_storeu_epi16((void *)(dst + i), m, (__m256i)h);
        }
    }
}
#endif

cnxk_bf16_round_fn cnxk_bf16_rounding(int32_t isa) {
#if defined(__x86_64__)
    if (isa == CNXK_ISA_AVX512BF16 || isa == CNXK_ISA_AMX) {
        if (cnxk_cpu_has(CNXK_ISA_AVX512BF16)) return round_rows_avx512bf16;
    }
#else
    (void)isa;
#endif
    return cnxk_bf16_round_rows;
}
