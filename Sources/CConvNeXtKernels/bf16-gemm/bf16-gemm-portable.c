// Portable bf16 GEMM tile, the panel packing and the A rounding prologue: the exact numerics of
// cnxk_bf16.h in plain C, the reference the hardware variants are tested against and the bf16
// path wherever the CPU has neither AVX512-BF16 nor AMX-BF16 (with --isa portable).
#include "../cnxk_internal.h"

void cnxk_bf16_gemm_4x16__portable(const cnxk_bf16_gemm_tile *t) {
    float acc[4][16];
    const size_t rows = t->rows < 4 ? t->rows : 4;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < 16; j++) acc[r][j] = t->bias[j];
    for (size_t kk = 0; kk < t->k; kk++) {
        const uint16_t *b = t->b + (kk / 2) * 32 + (kk & 1);
        for (size_t r = 0; r < rows; r++) {
            const float a = cnxk_bf16_to_f32(t->a[r * t->lda + kk]);
            // The product of two bf16 values is exact in f32, so a fused and an unfused
            // multiply-add give the same sum.
            for (size_t j = 0; j < 16; j++) acc[r][j] += a * cnxk_bf16_to_f32(b[2 * j]);
        }
    }
    for (size_t r = 0; r < rows; r++) {
        const ptrdiff_t off = t->c_row_offsets ? t->c_row_offsets[r] : (ptrdiff_t)(r * t->ldc);
        float *c = t->c + off;
        for (size_t j = 0; j < 16; j++) {
            float v = acc[r][j];
            if (t->gelu) v = cnxk_gelu_scalar(v);
            if (t->residual) v += t->residual[off + j];
            c[j] = v;
        }
    }
}

void cnxk_bf16_pack_panel(const float *w, size_t ldw, size_t k, size_t columns, size_t nr, uint16_t *panel) {
    const size_t pairs = (k + 1) / 2;
    for (size_t p = 0; p < pairs; p++) {
        uint16_t *row = panel + p * 2 * nr;
        for (size_t j = 0; j < nr; j++) {
            for (size_t half = 0; half < 2; half++) {
                const size_t kk = 2 * p + half;
                row[2 * j + half] = kk < k && j < columns ? cnxk_bf16_from_f32(w[kk * ldw + j]) : 0;
            }
        }
    }
}

void cnxk_bf16_round_rows(const float *a, size_t lda, size_t rows, size_t k, uint16_t *out, size_t ldo) {
    for (size_t r = 0; r < rows; r++)
        for (size_t kk = 0; kk < k; kk++) out[r * ldo + kk] = cnxk_bf16_from_f32(a[r * lda + kk]);
}

size_t cnxk_bf16_padded_k(size_t k, int32_t isa) {
    if (isa != CNXK_ISA_AMX) return k;
    return (k + CNXK_BF16_AMX_K_STEP - 1) / CNXK_BF16_AMX_K_STEP * CNXK_BF16_AMX_K_STEP;
}
