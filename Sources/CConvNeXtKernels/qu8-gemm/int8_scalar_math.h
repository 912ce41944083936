// Scalar epilogue arithmetic shared by the portable kernels, cnxq_apply_output and (operation for
// operation) mirrored by the AVX-512 code, so every path rounds identically.
// Multiplies and adds are never fused (FP_CONTRACT OFF, -ffp-contract=off).
#pragma once
#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include "cnxq_int8.h"
#include "int8_gelu_table.h"
#include "int8_gelu_u8_table.h"

#pragma STDC FP_CONTRACT OFF

/// GELU(v) = v Phi(v) = v / 2 + |v| (Phi(|v|) - 1/2), with Phi(a) - 1/2 from the piecewise
/// cubic table evaluated in Estrin's form (short dependency chains for the vector code).
static inline float cnxq_gelu_scalar(float v) {
    const float av = fabsf(v);
    const float a = av < CNXQ_GELU_LIMIT ? av : CNXQ_GELU_LIMIT;
    // a >= 0 and never NaN (the comparison above maps NaN to the limit): truncation is floor.
    float ft = (float)(int32_t)(a * (1.0f / CNXQ_GELU_WIDTH));
    ft = ft < (float)(CNXQ_GELU_INTERVALS - 1) ? ft : (float)(CNXQ_GELU_INTERVALS - 1);
    const int32_t i = (int32_t)ft;
    const float r = a - ft * CNXQ_GELU_WIDTH;
    const float r2 = r * r;
    const float e0 = cnxq_gelu_coefficients[0][i] + cnxq_gelu_coefficients[1][i] * r;
    const float e1 = cnxq_gelu_coefficients[2][i] + cnxq_gelu_coefficients[3][i] * r;
    const float p = e0 + r2 * e1;
    return 0.5f * v + av * p;
}

/// GELU for u8 outputs: v Phi(c), c = v clamped to [CNXQ_GELU_U8_LOW, CNXQ_GELU_U8_HIGH], Phi from
/// the piecewise quadratic in c of interval rint(4 c) & 31. Its error (<= 2.1e-4, 1.3e-5 for
/// |v| < 1) is a few percent of a u8 step at most; it takes 11 vector operations where the
/// accurate form takes 22, and fc1's epilogue is most of the int8 GEMM's time at k = 40-160.
static inline float cnxq_gelu_u8_scalar(float v) {
    // max_ps / min_ps semantics: a NaN v gives the lower bound, like the vector code.
    float c = v > CNXQ_GELU_U8_LOW ? v : CNXQ_GELU_U8_LOW;
    c = c < CNXQ_GELU_U8_HIGH ? c : CNXQ_GELU_U8_HIGH;
    // Round half to even like cvtps2dq (|4 c| < 17): adding and removing 1.5 * 2^23.
    const float k = (c * CNXQ_GELU_U8_PER_UNIT + 12582912.0f) - 12582912.0f;
    const int32_t i = (int32_t)k & 31;
    const float p = cnxq_gelu_u8_coefficients[0][i] +
                    c * (cnxq_gelu_u8_coefficients[1][i] + c * cnxq_gelu_u8_coefficients[2][i]);
    return v * p;
}

/// clamp(rint(x * inv_scale) + zero_point, 0, qmax); the float clamp first keeps the conversion in range.
static inline int32_t cnxq_quantize_scalar(float x, float inv_scale, int32_t zero_point, int32_t qmax) {
    float t = x * inv_scale;
    float lo = (float)(-zero_point) - 1.0f;
    float hi = (float)(qmax - zero_point) + 1.0f;
    t = t > lo ? t : lo;
    t = t < hi ? t : hi;
    // Adding and removing 1.5 * 2^23 rounds half to even (|t| <= 65537 here), like cvtps2dq, and
    // vectorises where lrintf would be a library call.
    float r = (t + 12582912.0f) - 12582912.0f;
    int32_t q = (int32_t)r + zero_point;
    q = q > 0 ? q : 0;
    q = q < qmax ? q : qmax;
    return q;
}

/// Element offset of GEMM row m in the epilogue's output.
static inline size_t cnxq_out_offset(const cnxq_epilogue *ep, size_t m) {
    return (m / ep->out_width) * ep->out_row_stride + (m % ep->out_width) * ep->out_pixel_stride;
}

/// Writes one output element from its biased value v.
static inline void cnxq_store_scalar(const cnxq_epilogue *ep, size_t offset, float v) {
    switch (ep->kind) {
    case CNXQ_OUT_F32:
        ((float *)ep->out)[offset] = v;
        break;
    case CNXQ_OUT_F32_ADD:
        ((float *)ep->out)[offset] = ep->residual[offset] + v;
        break;
    case CNXQ_OUT_GELU_F32:
        ((float *)ep->out)[offset] = cnxq_gelu_scalar(v);
        break;
    case CNXQ_OUT_GELU_U8:
        ((uint8_t *)ep->out)[offset] = (uint8_t)cnxq_quantize_scalar(cnxq_gelu_u8_scalar(v), ep->inv_scale, ep->zero_point, 255);
        break;
    case CNXQ_OUT_GELU_U16: {
        int32_t q = cnxq_quantize_scalar(cnxq_gelu_scalar(v), ep->inv_scale, ep->zero_point, 65535);
        ((uint8_t *)ep->out)[offset] = (uint8_t)(q >> 8);
        ep->out_lo[offset] = (uint8_t)(q & 255);
        break;
    }
    default:
        break;
    }
}
