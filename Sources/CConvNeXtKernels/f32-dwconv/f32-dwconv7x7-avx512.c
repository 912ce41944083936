// AVX-512 7x7 depthwise convolution, 8 output pixels x 16 channels per step (8 zmm accumulators).
#if defined(__x86_64__)
#include "../cnxk_internal.h"
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq")))
// Loops over registers have constant trip counts once inlined; unrolled, the arrays are registers.
#define UNROLL _Pragma("GCC unroll 16")

/// np (1...8, a constant after inlining) output pixels x 16 channels. `in`, `w`, `bias` and `out`
/// point at the first pixel's window, the tap 0 weights and the outputs of this channel block.
AVX512_INLINE void step_16c(const cnxk_f32_dwconv_args *a, const float *in, const float *w, const float *bias,
                            float *out, const int np) {
    const size_t ps = a->input_pixel_stride, rs = a->input_row_stride, wts = a->weight_tap_stride;
    __m512 acc[8];
    const __m512 vb = _mm512_loadu_ps(bias);
    UNROLL
    for (int p = 0; p < np; p++) acc[p] = vb;
    for (int ky = 0; ky < 7; ky++) {
        const float *row = in + (size_t)ky * rs;
        const float *wrow = w + (size_t)ky * 7 * wts;
        // The row's 7 weights stay in registers; each of the np + 6 input vectors of this kernel
        // row is loaded once and feeds every (pixel, tap) pair it belongs to.
        __m512 wv[7];
        UNROLL
        for (int kx = 0; kx < 7; kx++) wv[kx] = _mm512_loadu_ps(wrow + (size_t)kx * wts);
        UNROLL
        for (int i = 0; i < np + 6; i++) {
            const __m512 x = _mm512_loadu_ps(row + (size_t)i * ps);
            UNROLL
            for (int kx = 0; kx < 7; kx++) {
                const int p = i - kx;
                if (p >= 0 && p < np) acc[p] = _mm512_fmadd_ps(x, wv[kx], acc[p]);
            }
        }
    }
    UNROLL
    for (int p = 0; p < np; p++) _mm512_storeu_ps(out + (size_t)p * a->output_pixel_stride, acc[p]);
}

AVX512_TARGET void cnxk_f32_dwconv7x7_8p16c__avx512(const cnxk_f32_dwconv_args *a) {
    const size_t ps = a->input_pixel_stride, ops = a->output_pixel_stride;
    for (size_t cb = 0; cb < a->channels; cb += 16) {
        const float *in = a->input + cb, *w = a->weights + cb, *bias = a->bias + cb;
        float *out = a->output + cb;
        size_t p = 0;
        for (; p + 8 <= a->pixels; p += 8) step_16c(a, in + p * ps, w, bias, out + p * ops, 8);
        // Tail step: only the remaining pixels, so no input beyond the last window is read.
        switch (a->pixels - p) {
        case 7: step_16c(a, in + p * ps, w, bias, out + p * ops, 7); break;
        case 6: step_16c(a, in + p * ps, w, bias, out + p * ops, 6); break;
        case 5: step_16c(a, in + p * ps, w, bias, out + p * ops, 5); break;
        case 4: step_16c(a, in + p * ps, w, bias, out + p * ops, 4); break;
        case 3: step_16c(a, in + p * ps, w, bias, out + p * ops, 3); break;
        case 2: step_16c(a, in + p * ps, w, bias, out + p * ops, 2); break;
        case 1: step_16c(a, in + p * ps, w, bias, out + p * ops, 1); break;
        default: break;
        }
    }
}
#endif
