// The AVX-512 epilogue of the int8 GEMMs (scale, bias, GELU, requantise, residual add) for 16
// columns at a time, shared by the VNNI and AMX kernels so both give the portable kernels' bits:
// every function repeats cnxq_store_scalar's operations (int8_scalar_math.h) in the same order.
// Include after <immintrin.h> and int8_scalar_math.h, inside #if defined(__x86_64__).
#pragma once
#include <immintrin.h>
#include "cnxq_int8.h"
#include "int8_scalar_math.h"

#pragma STDC FP_CONTRACT OFF

#define CNXQ_AVX512_EPILOGUE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq")))

/// Same operations as cnxq_gelu_scalar, sixteen lanes at a time.
CNXQ_AVX512_EPILOGUE __m512 cnxq_avx512_gelu(__m512 v) {
    const __m512 av = _mm512_abs_ps(v);
    const __m512 a = _mm512_min_ps(av, _mm512_set1_ps(CNXQ_GELU_LIMIT));
    __m512 ft = _mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(1.0f / CNXQ_GELU_WIDTH)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    ft = _mm512_min_ps(ft, _mm512_set1_ps((float)(CNXQ_GELU_INTERVALS - 1)));
    const __m512i i = _mm512_cvttps_epi32(ft);
    const __m512 r = _mm512_sub_ps(a, _mm512_mul_ps(ft, _mm512_set1_ps(CNXQ_GELU_WIDTH)));
    const __m512 r2 = _mm512_mul_ps(r, r);
#define COEF(d) _mm512_permutex2var_ps(_mm512_load_ps(cnxq_gelu_coefficients[d]), i, _mm512_load_ps(cnxq_gelu_coefficients[d] + 16))
    const __m512 e0 = _mm512_add_ps(COEF(0), _mm512_mul_ps(COEF(1), r));
    const __m512 e1 = _mm512_add_ps(COEF(2), _mm512_mul_ps(COEF(3), r));
#undef COEF
    const __m512 p = _mm512_add_ps(e0, _mm512_mul_ps(r2, e1));
    return _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_mul_ps(av, p));
}

/// Same operations as cnxq_gelu_u8_scalar, sixteen lanes at a time.
CNXQ_AVX512_EPILOGUE __m512 cnxq_avx512_gelu_u8(__m512 v) {
    __m512 c = _mm512_max_ps(v, _mm512_set1_ps(CNXQ_GELU_U8_LOW));
    c = _mm512_min_ps(c, _mm512_set1_ps(CNXQ_GELU_U8_HIGH));
    // permutex2var reads the index's low five bits: rint(4 c) & 31.
    const __m512i i = _mm512_cvtps_epi32(_mm512_mul_ps(c, _mm512_set1_ps(CNXQ_GELU_U8_PER_UNIT)));
#define COEF(d) _mm512_permutex2var_ps(_mm512_load_ps(cnxq_gelu_u8_coefficients[d]), i, _mm512_load_ps(cnxq_gelu_u8_coefficients[d] + 16))
    const __m512 p = _mm512_add_ps(COEF(0), _mm512_mul_ps(c, _mm512_add_ps(COEF(1), _mm512_mul_ps(c, COEF(2)))));
#undef COEF
    return _mm512_mul_ps(v, p);
}

/// cnxq_quantize_scalar's result with two operations fewer: it clamps to one past each bound,
/// rounds, then clamps the integer; clamping to the bounds themselves (integers, ep->quant_low
/// and quant_high) before rounding gives the same value for every input, NaN included (maxps
/// returns its second operand).
CNXQ_AVX512_EPILOGUE __m512i cnxq_avx512_quantize(__m512 x, const cnxq_epilogue *ep) {
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(ep->inv_scale));
    t = _mm512_max_ps(t, _mm512_set1_ps(ep->quant_low));
    t = _mm512_min_ps(t, _mm512_set1_ps(ep->quant_high));
    return _mm512_add_epi32(_mm512_cvtps_epi32(t), _mm512_set1_epi32(ep->zero_point));
}

/// Stores the low bytes of 16 values (mask): register-form vpmovdb and a masked byte store,
/// which Zen 4 runs faster than the memory form of vpmovusdb (the values are in range already).
CNXQ_AVX512_EPILOGUE void cnxq_avx512_store_bytes(uint8_t *out, __mmask16 mask, __m512i q) {
    _mm_mask_storeu_epi8(out, mask, _mm512_cvtepi32_epi8(q));
}

/// Writes 16 columns (mask) of one output row from their biased values v.
CNXQ_AVX512_EPILOGUE void cnxq_avx512_store(const int kind, const cnxq_epilogue *ep, size_t offset, __mmask16 mask, __m512 v) {
    switch (kind) {
    case CNXQ_OUT_F32:
        _mm512_mask_storeu_ps((float *)ep->out + offset, mask, v);
        break;
    case CNXQ_OUT_F32_ADD: {
        __m512 r = _mm512_maskz_loadu_ps(mask, ep->residual + offset);
        _mm512_mask_storeu_ps((float *)ep->out + offset, mask, _mm512_add_ps(r, v));
        break;
    }
    case CNXQ_OUT_GELU_F32:
        _mm512_mask_storeu_ps((float *)ep->out + offset, mask, cnxq_avx512_gelu(v));
        break;
    case CNXQ_OUT_GELU_U8:
        cnxq_avx512_store_bytes((uint8_t *)ep->out + offset, mask, cnxq_avx512_quantize(cnxq_avx512_gelu_u8(v), ep));
        break;
    case CNXQ_OUT_GELU_U16: {
        __m512i q = cnxq_avx512_quantize(cnxq_avx512_gelu(v), ep);
        cnxq_avx512_store_bytes((uint8_t *)ep->out + offset, mask, _mm512_srli_epi32(q, 8));
        cnxq_avx512_store_bytes(ep->out_lo + offset, mask, q);
        break;
    }
    default:
        break;
    }
}

