/// Float micro-kernels: the register-tile GEMM with fused epilogues and the 7x7 depthwise
/// convolution, one variant per ISA behind a portable one (see cnxk_table.h for the table).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One register tile of C = A x B + bias, then GELU (optional), then + residual (optional).
///
/// - A is row-major with leading dimension `lda`; `k` columns are read.
/// - B is one panel packed k-major: for each of the `k` rows, `nr` contiguous floats (nr is the
///   kernel's). `bias` holds `nr` floats.
/// - Row r of C is stored at c + (c_row_offsets ? c_row_offsets[r] : r * ldc). A residual, when
///   given, is read at the same offsets from `residual` and added last.
/// - `rows` (1...mr) rows are computed and stored; a kernel may read A rows only below `rows`.
typedef struct {
    size_t k;
    const float *a;
    size_t lda;
    size_t rows;
    const float *b;
    const float *bias;
    float *c;
    size_t ldc;
    const ptrdiff_t *c_row_offsets;
    const float *residual;
    /// 1: apply GELU (erf form) to A x B + bias before storing.
    int32_t gelu;
} cnxk_f32_gemm_tile;

typedef void (*cnxk_f32_gemm_fn)(const cnxk_f32_gemm_tile *t);

/// A run of output pixels of a 7x7 depthwise convolution, NHWC, every channel.
///
/// The input has a zero border of 3 pixels, so `input` is the top-left tap of the first output
/// pixel's window, pixel p's window starts p * input_pixel_stride floats later and kernel row ky
/// ky * input_row_stride floats later. Tap t = ky * 7 + kx of channel c is
/// weights[t * weight_tap_stride + c]. Output pixel p, channel c at output[p * output_pixel_stride + c].
/// `channels` is a multiple of 16; every address is 4-byte aligned only. Reads no input beyond
/// the windows of the `pixels` outputs.
typedef struct {
    const float *input;
    size_t input_row_stride;
    size_t input_pixel_stride;
    const float *weights;
    size_t weight_tap_stride;
    const float *bias;
    float *output;
    size_t output_pixel_stride;
    size_t pixels;
    size_t channels;
} cnxk_f32_dwconv_args;

typedef void (*cnxk_f32_dwconv_fn)(const cnxk_f32_dwconv_args *a);

/// GELU (erf form) as the GEMM epilogues compute it, for n floats in place (portable scalar code).
void cnxk_f32_gelu_portable(float *x, size_t n);

#ifdef __cplusplus
}
#endif
