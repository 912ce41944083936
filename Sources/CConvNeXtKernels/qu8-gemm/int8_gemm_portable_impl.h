// The portable u8 x s8 GEMM (4 rows x 16 columns per tile, written so that compilers vectorise the
// 16-column loop), compiled once per instruction set: CNXQ_PORTABLE_TARGET, CNXQ_PORTABLE_SUFFIX.
// Integer sums are exact and the epilogue is cnxq_store_scalar, so every build gives the same bits.
#pragma STDC FP_CONTRACT OFF
#define CNXQ_CAT2(a, b) a##b
#define CNXQ_CAT(a, b) CNXQ_CAT2(a, b)
#define CNXQ_GEMM_IMPL CNXQ_CAT(gemm_impl_, CNXQ_PORTABLE_SUFFIX)

#ifndef PORTABLE_MR
#define PORTABLE_MR 4
#endif

CNXQ_PORTABLE_TARGET static inline void CNXQ_GEMM_IMPL(int planes, size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                 const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                 const int8_t *b_packed, const cnxq_epilogue *ep) {
    const size_t panels = (n + 15) / 16;
    const size_t panel_bytes = k_groups * 64;
    for (size_t p = 0; p < panels; p++) {
        const int8_t *bp = b_packed + p * panel_bytes;
        const size_t n0 = p * 16;
        const size_t valid_n = n - n0 < 16 ? n - n0 : 16;
        for (size_t m0 = m_begin; m0 < m_end; m0 += PORTABLE_MR) {
            int32_t acc[PORTABLE_MR][16];
            int32_t acc_lo[PORTABLE_MR][16];
            memset(acc, 0, sizeof(acc));
            memset(acc_lo, 0, sizeof(acc_lo));
            const uint8_t *rows[PORTABLE_MR];
            const uint8_t *rows_lo[PORTABLE_MR];
            for (int r = 0; r < PORTABLE_MR; r++) {
                size_t m = m0 + (size_t)r < m_end ? m0 + (size_t)r : m_end - 1;
                rows[r] = a + m * lda;
                rows_lo[r] = planes == 2 ? a_lo + m * lda : rows[r];
            }
            for (size_t g = 0; g < k_groups; g++) {
                const int8_t *bg = bp + g * 64;
                for (int r = 0; r < PORTABLE_MR; r++) {
                    const int32_t x0 = rows[r][4 * g], x1 = rows[r][4 * g + 1];
                    const int32_t x2 = rows[r][4 * g + 2], x3 = rows[r][4 * g + 3];
                    for (int c = 0; c < 16; c++) {
                        acc[r][c] += x0 * bg[4 * c] + x1 * bg[4 * c + 1] + x2 * bg[4 * c + 2] + x3 * bg[4 * c + 3];
                    }
                    if (planes == 2) {
                        const int32_t y0 = rows_lo[r][4 * g], y1 = rows_lo[r][4 * g + 1];
                        const int32_t y2 = rows_lo[r][4 * g + 2], y3 = rows_lo[r][4 * g + 3];
                        for (int c = 0; c < 16; c++) {
                            acc_lo[r][c] += y0 * bg[4 * c] + y1 * bg[4 * c + 1] + y2 * bg[4 * c + 2] + y3 * bg[4 * c + 3];
                        }
                    }
                }
            }
            size_t y = m0 / ep->out_width, x = m0 % ep->out_width;
            for (int r = 0; r < PORTABLE_MR && m0 + (size_t)r < m_end; r++) {
                const size_t base = y * ep->out_row_stride + x * ep->out_pixel_stride + n0;
                if (++x == ep->out_width) {
                    x = 0;
                    y++;
                }
                for (size_t c = 0; c < valid_n; c++) {
                    const size_t col = n0 + c;
                    float v;
                    if (planes == 2) {
                        float hi = (float)(acc[r][c] - ep->zp_colsum[col]) * 256.0f;
                        float lo = (float)(acc_lo[r][c] - ep->zp_colsum_lo[col]);
                        v = (hi + lo) * ep->scale[col] + ep->bias[col];
                    } else {
                        v = (float)(acc[r][c] - ep->zp_colsum[col]) * ep->scale[col] + ep->bias[col];
                    }
                    cnxq_store_scalar(ep, base + c, v);
                }
            }
        }
    }
}

CNXQ_PORTABLE_TARGET void CNXQ_CAT(cnxq_gemm_u8s8_4x16c4_, CNXQ_PORTABLE_SUFFIX)(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                    const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                    const int8_t *b_packed, const cnxq_epilogue *ep) {
    (void)a_lo;
    CNXQ_GEMM_IMPL(1, m_begin, m_end, n, k_groups, a, NULL, lda, b_packed, ep);
}

CNXQ_PORTABLE_TARGET void CNXQ_CAT(cnxq_gemm_u16s8_4x16c4_, CNXQ_PORTABLE_SUFFIX)(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                                     const uint8_t *a, const uint8_t *a_lo, size_t lda,
                                     const int8_t *b_packed, const cnxq_epilogue *ep) {
    CNXQ_GEMM_IMPL(2, m_begin, m_end, n, k_groups, a, a_lo, lda, b_packed, ep);
}

#undef CNXQ_GEMM_IMPL
