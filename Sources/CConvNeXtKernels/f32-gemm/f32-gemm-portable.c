// Portable f32 GEMM tile: plain loops the compiler may vectorise for the baseline ISA.
#include "../cnxk_internal.h"

void cnxk_f32_gemm_4x16__portable(const cnxk_f32_gemm_tile *t) {
    float acc[4][16];
    const size_t rows = t->rows < 4 ? t->rows : 4;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < 16; j++) acc[r][j] = t->bias[j];
    for (size_t kk = 0; kk < t->k; kk++) {
        const float *b = t->b + kk * 16;
        for (size_t r = 0; r < rows; r++) {
            const float a = t->a[r * t->lda + kk];
            for (size_t j = 0; j < 16; j++) acc[r][j] += a * b[j];
        }
    }
    for (size_t r = 0; r < rows; r++) {
        const ptrdiff_t off = cnxk_c_offset(t, r);
        float *c = t->c + off;
        for (size_t j = 0; j < 16; j++) {
            float v = acc[r][j];
            if (t->gelu) v = cnxk_gelu_scalar(v);
            if (t->residual) v += t->residual[off + j];
            c[j] = v;
        }
    }
}

void cnxk_f32_gelu_portable(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = cnxk_gelu_scalar(x[i]);
}
