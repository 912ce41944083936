// Int8 weight packing, the element-wise helpers and the LayerNorm dispatch.
#include <string.h>
#include "int8_kernels_internal.h"
#include "cnxk_table.h"
#include "int8_scalar_math.h"

#pragma STDC FP_CONTRACT OFF

size_t cnxq_packed_size(size_t n, size_t k_groups) { return (n + 15) / 16 * 16 * k_groups * 4; }

void cnxq_pack_weights(const int8_t *w, size_t n, size_t k, size_t k_groups, int8_t *b_packed, int32_t *colsum) {
    const size_t panels = (n + 15) / 16;
    memset(b_packed, 0, cnxq_packed_size(n, k_groups));
    memset(colsum, 0, panels * 16 * sizeof(int32_t));
    for (size_t col = 0; col < n; col++) {
        int8_t *panel = b_packed + (col / 16) * k_groups * 64;
        const size_t lane = col % 16;
        int32_t sum = 0;
        for (size_t kk = 0; kk < k && kk < k_groups * 4; kk++) {
            const int8_t value = w[col * k + kk];
            panel[(kk / 4) * 64 + lane * 4 + kk % 4] = value;
            sum += value;
        }
        colsum[col] = sum;
    }
}

void cnxq_apply_output(const cnxq_epilogue *ep, size_t m_begin, size_t m_end, size_t n, const float *v, size_t ldv) {
    for (size_t m = m_begin; m < m_end; m++) {
        const size_t base = cnxq_out_offset(ep, m);
        const float *row = v + (m - m_begin) * ldv;
        for (size_t c = 0; c < n; c++) cnxq_store_scalar(ep, base + c, row[c]);
    }
}

void cnxq_gelu_f32(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = cnxq_gelu_scalar(x[i]);
}

float cnxq_gelu_u8(float x) { return cnxq_gelu_u8_scalar(x); }

void cnxq_quantize(const float *x, size_t n, int32_t kind, float inv_scale, int32_t zero_point, void *out, uint8_t *out_lo) {
    if (kind == CNXQ_ACT_U8) {
        uint8_t *dst = (uint8_t *)out;
        for (size_t i = 0; i < n; i++) dst[i] = (uint8_t)cnxq_quantize_scalar(x[i], inv_scale, zero_point, 255);
    } else if (kind == CNXQ_ACT_U16) {
        uint8_t *hi = (uint8_t *)out;
        for (size_t i = 0; i < n; i++) {
            int32_t q = cnxq_quantize_scalar(x[i], inv_scale, zero_point, 65535);
            hi[i] = (uint8_t)(q >> 8);
            out_lo[i] = (uint8_t)(q & 255);
        }
    } else {
        memmove(out, x, n * sizeof(float));
    }
}

#define CNXQ_LN_TARGET
#define CNXQ_LN_NAME cnxq_layernorm_portable
#include "int8_layernorm_impl.h"

void cnxq_layernorm(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                    const float *gamma, const float *beta, int32_t kind, float inv_scale,
                    int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride) {
    cnxk_best(CNXK_OP_LAYERNORM)->layernorm(x, x_pixel_stride, count, channels, eps, gamma, beta, kind, inv_scale,
                                            zero_point, out, out_lo, out_pixel_stride);
}

int32_t cnxq_atomic_add_i32(int32_t *p, int32_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }

int32_t cnxq_atomic_load_i32(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

void cnxq_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
