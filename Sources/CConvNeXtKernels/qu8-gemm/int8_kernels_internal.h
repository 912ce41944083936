// Declarations of the int8 kernels of the kernel table (table.c) and of the LayerNorm builds.
#pragma once
#include "cnxq_int8.h"

// Every GEMM kernel has the cnxq_gemm_fn signature and every LayerNorm build the
// cnxk_layernorm_fn one: declared through one macro each, so a signature is written once.
#define CNXQ_DECLARE_GEMM(name)                                                                     \
    void name(size_t m_begin, size_t m_end, size_t n, size_t k_groups, const uint8_t *a,           \
              const uint8_t *a_lo, size_t lda, const int8_t *b_packed, const cnxq_epilogue *ep);
#define CNXQ_DECLARE_LAYERNORM(name)                                                                \
    void name(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,      \
              const float *gamma, const float *beta, int32_t kind, float inv_scale,                 \
              int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);

CNXQ_DECLARE_GEMM(cnxq_gemm_u8s8_4x16c4_portable)
CNXQ_DECLARE_GEMM(cnxq_gemm_u16s8_4x16c4_portable)
#if defined(__x86_64__)
#define CNXQ_HAVE_X86 1
CNXQ_DECLARE_GEMM(cnxq_gemm_u8s8_6x64c4_avx512vnni)
CNXQ_DECLARE_GEMM(cnxq_gemm_u16s8_6x32c4_avx512vnni)
// AMX-INT8 tiles (int8_gemm_amx.c).
CNXQ_DECLARE_GEMM(cnxq_gemm_u8s8_32x32c4_amx)
CNXQ_DECLARE_GEMM(cnxq_gemm_u16s8_16x32c4_amx)
CNXQ_DECLARE_GEMM(cnxq_gemm_u8s8_4x16c4_avx512bw)
CNXQ_DECLARE_GEMM(cnxq_gemm_u16s8_4x16c4_avx512bw)
CNXQ_DECLARE_LAYERNORM(cnxq_layernorm_avx512)
CNXQ_DECLARE_GEMM(cnxq_gemm_u8s8_4x16c4_avx2)
CNXQ_DECLARE_GEMM(cnxq_gemm_u16s8_4x16c4_avx2)
// Hand-written AVX2 kernels (int8_gemm_avx2_kernels.c): exact vpmaddwd on 16-bit widened inputs.
CNXQ_DECLARE_GEMM(cnxq_gemm_u8s8_4x8c4_avx2w)
CNXQ_DECLARE_GEMM(cnxq_gemm_u16s8_2x8c4_avx2w)
CNXQ_DECLARE_LAYERNORM(cnxq_layernorm_avx2)
#endif
CNXQ_DECLARE_LAYERNORM(cnxq_layernorm_portable)
