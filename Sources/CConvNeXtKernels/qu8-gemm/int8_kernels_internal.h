// Declarations of the int8 kernels of the kernel table (table.c) and of the LayerNorm builds.
#pragma once
#include "cnxq_int8.h"

void cnxq_gemm_u8s8_4x16c4_portable(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                    const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                    const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u16s8_4x16c4_portable(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                     const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                     const int8_t *b_packed, const cnxq_epilogue *ep);
#if defined(__x86_64__)
#define CNXQ_HAVE_X86 1
void cnxq_gemm_u8s8_6x64c4_avx512vnni(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                      const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                      const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u16s8_6x32c4_avx512vnni(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                       const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                       const int8_t *b_packed, const cnxq_epilogue *ep);
// AMX-INT8 tiles (int8_gemm_amx.c).
void cnxq_gemm_u8s8_32x32c4_amx(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u16s8_16x32c4_amx(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                 const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                 const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u8s8_4x16c4_avx512bw(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                    const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                    const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u16s8_4x16c4_avx512bw(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                     const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                     const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_layernorm_avx512(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                           const float *gamma, const float *beta, int32_t kind, float inv_scale,
                           int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);
void cnxq_gemm_u8s8_4x16c4_avx2(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                 const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                 const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u16s8_4x16c4_avx2(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                  const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                  const int8_t *b_packed, const cnxq_epilogue *ep);
// Hand-written AVX2 kernels (int8_gemm_avx2_kernels.c): exact vpmaddwd on 16-bit widened inputs.
void cnxq_gemm_u8s8_4x8c4_avx2w(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_gemm_u16s8_2x8c4_avx2w(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                 const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                 const int8_t *b_packed, const cnxq_epilogue *ep);
void cnxq_layernorm_avx2(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                         const float *gamma, const float *beta, int32_t kind, float inv_scale,
                         int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);
#endif
void cnxq_layernorm_portable(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                             const float *gamma, const float *beta, int32_t kind, float inv_scale,
                             int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);
