// Portable 7x7 depthwise convolution: 4 output pixels x 16 channels per step.
#include "../cnxk_internal.h"

void cnxk_f32_dwconv7x7_4p16c__portable(const cnxk_f32_dwconv_args *a) {
    for (size_t cb = 0; cb < a->channels; cb += 16) {
        for (size_t p0 = 0; p0 < a->pixels; p0 += 4) {
            const size_t np = a->pixels - p0 < 4 ? a->pixels - p0 : 4;
            float acc[4][16];
            for (size_t p = 0; p < np; p++)
                for (size_t j = 0; j < 16; j++) acc[p][j] = a->bias[cb + j];
            for (size_t ky = 0; ky < 7; ky++) {
                for (size_t kx = 0; kx < 7; kx++) {
                    const float *w = a->weights + (ky * 7 + kx) * a->weight_tap_stride + cb;
                    for (size_t p = 0; p < np; p++) {
                        const float *x = a->input + ky * a->input_row_stride + (p0 + p + kx) * a->input_pixel_stride + cb;
                        for (size_t j = 0; j < 16; j++) acc[p][j] += x[j] * w[j];
                    }
                }
            }
            for (size_t p = 0; p < np; p++) {
                float *o = a->output + (p0 + p) * a->output_pixel_stride + cb;
                for (size_t j = 0; j < 16; j++) o[j] = acc[p][j];
            }
        }
    }
}
