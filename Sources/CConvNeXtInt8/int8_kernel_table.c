// The kernel table (one list drives dispatch, tests and benchmarks), the run-time CPU check,
// weight packing and the element-wise helpers.
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"

#pragma STDC FP_CONTRACT OFF

static const cnxq_gemm_kernel kernel_table[] = {
#if defined(CNXQ_HAVE_X86)
    {"gemm_u8s8_6x64c4_avx512vnni", CNXQ_ISA_AVX512VNNI, 1, 6, 64, cnxq_gemm_u8s8_6x64c4_avx512vnni},
    {"gemm_u16s8_6x32c4_avx512vnni", CNXQ_ISA_AVX512VNNI, 2, 6, 32, cnxq_gemm_u16s8_6x32c4_avx512vnni},
    {"gemm_u8s8_4x16c4_avx512bw", CNXQ_ISA_AVX512BW, 1, 4, 16, cnxq_gemm_u8s8_4x16c4_avx512bw},
    {"gemm_u16s8_4x16c4_avx512bw", CNXQ_ISA_AVX512BW, 2, 4, 16, cnxq_gemm_u16s8_4x16c4_avx512bw},
#endif
    {"gemm_u8s8_4x16c4_portable", CNXQ_ISA_PORTABLE, 1, 4, 16, cnxq_gemm_u8s8_4x16c4_portable},
    {"gemm_u16s8_4x16c4_portable", CNXQ_ISA_PORTABLE, 2, 4, 16, cnxq_gemm_u16s8_4x16c4_portable},
};

size_t cnxq_gemm_kernel_count(void) { return sizeof(kernel_table) / sizeof(kernel_table[0]); }

const cnxq_gemm_kernel *cnxq_gemm_kernel_at(size_t i) {
    return i < cnxq_gemm_kernel_count() ? &kernel_table[i] : NULL;
}

int32_t cnxq_isa_available(int32_t isa) {
    if (isa == CNXQ_ISA_PORTABLE) return 1;
#if defined(CNXQ_HAVE_X86)
    if (isa == CNXQ_ISA_AVX512VNNI) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512f");
    }
    if (isa == CNXQ_ISA_AVX512BW) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512f");
    }
#endif
    return 0;
}

const cnxq_gemm_kernel *cnxq_gemm_best(int32_t input_planes) {
    // The table lists the fastest kernels first.
    for (size_t i = 0; i < cnxq_gemm_kernel_count(); i++) {
        const cnxq_gemm_kernel *k = &kernel_table[i];
        if (k->input_planes == input_planes && cnxq_isa_available(k->isa)) return k;
    }
    return NULL;
}

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
#if defined(CNXQ_HAVE_X86)
    static int cached = -1;  // -1 unknown, 0 no, 1 yes; computed once, read atomically
    int avx512 = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (avx512 < 0) {
        __builtin_cpu_init();
        avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
        __atomic_store_n(&cached, avx512, __ATOMIC_RELAXED);
    }
    if (avx512) {
        cnxq_layernorm_avx512(x, x_pixel_stride, count, channels, eps, gamma, beta, kind, inv_scale,
                              zero_point, out, out_lo, out_pixel_stride);
        return;
    }
#endif
    cnxq_layernorm_portable(x, x_pixel_stride, count, channels, eps, gamma, beta, kind, inv_scale,
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
