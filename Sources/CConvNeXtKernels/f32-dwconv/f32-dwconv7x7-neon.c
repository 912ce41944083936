// NEON 7x7 depthwise convolution, 4 output pixels x 16 channels per step (16 q accumulators).
#if defined(__aarch64__)
#include "../cnxk_internal.h"
#include <arm_neon.h>

// Loops over registers have constant trip counts once inlined; unrolled, the arrays are registers.
#define UNROLL _Pragma("GCC unroll 16")

/// np (1...4, a constant after inlining) output pixels x 16 channels. `in`, `w`, `bias` and `out`
/// point at the first pixel's window, the tap 0 weights and the outputs of this channel block.
CNXK_ALWAYS_INLINE void step_16c(const cnxk_f32_dwconv_args *a, const float *in, const float *w, const float *bias,
                                 float *out, const int np) {
    const size_t ps = a->input_pixel_stride, rs = a->input_row_stride, wts = a->weight_tap_stride;
    float32x4_t acc[4][4];
    UNROLL
    for (int j = 0; j < 4; j++) {
        const float32x4_t vb = vld1q_f32(bias + 4 * j);
        UNROLL
        for (int p = 0; p < np; p++) acc[p][j] = vb;
    }
    for (int ky = 0; ky < 7; ky++) {
        const float *row = in + (size_t)ky * rs;
        const float *wrow = w + (size_t)ky * 7 * wts;
        // Per tap: 4 weight vectors, then the np pixels' 4 input vectors each.
        for (int kx = 0; kx < 7; kx++) {
            const float *wt = wrow + (size_t)kx * wts;
            const float32x4_t w0 = vld1q_f32(wt), w1 = vld1q_f32(wt + 4), w2 = vld1q_f32(wt + 8), w3 = vld1q_f32(wt + 12);
            const float *x = row + (size_t)kx * ps;
            UNROLL
            for (int p = 0; p < np; p++) {
                const float *xp = x + (size_t)p * ps;
                acc[p][0] = vfmaq_f32(acc[p][0], vld1q_f32(xp), w0);
                acc[p][1] = vfmaq_f32(acc[p][1], vld1q_f32(xp + 4), w1);
                acc[p][2] = vfmaq_f32(acc[p][2], vld1q_f32(xp + 8), w2);
                acc[p][3] = vfmaq_f32(acc[p][3], vld1q_f32(xp + 12), w3);
            }
        }
    }
    UNROLL
    for (int p = 0; p < np; p++) {
        float *o = out + (size_t)p * a->output_pixel_stride;
        UNROLL
        for (int j = 0; j < 4; j++) vst1q_f32(o + 4 * j, acc[p][j]);
    }
}

void cnxk_f32_dwconv7x7_4p16c__neon(const cnxk_f32_dwconv_args *a) {
    const size_t ps = a->input_pixel_stride, ops = a->output_pixel_stride;
    for (size_t cb = 0; cb < a->channels; cb += 16) {
        const float *in = a->input + cb, *w = a->weights + cb, *bias = a->bias + cb;
        float *out = a->output + cb;
        size_t p = 0;
        for (; p + 4 <= a->pixels; p += 4) step_16c(a, in + p * ps, w, bias, out + p * ops, 4);
        // Tail step: only the remaining pixels, so no input beyond the last window is read.
        switch (a->pixels - p) {
        case 3: step_16c(a, in + p * ps, w, bias, out + p * ops, 3); break;
        case 2: step_16c(a, in + p * ps, w, bias, out + p * ops, 2); break;
        case 1: step_16c(a, in + p * ps, w, bias, out + p * ops, 1); break;
        default: break;
        }
    }
}
#endif
