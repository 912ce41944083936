// LayerNorm over channels followed by quantisation: one body, compiled once per instruction set
// (CNXQ_LN_TARGET, CNXQ_LN_NAME). Sixteen independent partial sums per pixel, reduced in a fixed
// order, so every instruction set gives the same floats.
#pragma STDC FP_CONTRACT OFF

CNXQ_LN_TARGET void CNXQ_LN_NAME(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                                 const float *gamma, const float *beta, int32_t kind, float inv_scale,
                                 int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride) {
    const size_t full = channels / 16 * 16;
    const float inv_channels = 1.0f / (float)channels;
    for (size_t p = 0; p < count; p++) {
        const float *xp = x + p * x_pixel_stride;
        float lane[16] = {0};
        for (size_t c = 0; c < full; c += 16)
            for (int j = 0; j < 16; j++) lane[j] += xp[c + (size_t)j];
        for (size_t c = full; c < channels; c++) lane[c - full] += xp[c];
        // Pairwise reduction: short dependency chains, the same order on every instruction set.
        for (int width = 8; width >= 1; width /= 2)
            for (int j = 0; j < width; j++) lane[j] += lane[j + width];
        const float mean = lane[0] * inv_channels;
        float sq[16] = {0};
        for (size_t c = 0; c < full; c += 16)
            for (int j = 0; j < 16; j++) {
                float d = xp[c + (size_t)j] - mean;
                sq[j] += d * d;
            }
        for (size_t c = full; c < channels; c++) {
            float d = xp[c] - mean;
            sq[c - full] += d * d;
        }
        for (int width = 8; width >= 1; width /= 2)
            for (int j = 0; j < width; j++) sq[j] += sq[j + width];
        const float var = sq[0];
        const float inv_std = 1.0f / sqrtf(var * inv_channels + eps);
        const size_t o = p * out_pixel_stride;
        if (gamma != NULL && beta != NULL) {
            float *dst = (float *)out + o;
            for (size_t c = 0; c < channels; c++) dst[c] = (xp[c] - mean) * inv_std * gamma[c] + beta[c];
        } else if (kind == CNXQ_ACT_U8) {
            uint8_t *dst = (uint8_t *)out + o;
            for (size_t c = 0; c < channels; c++)
                dst[c] = (uint8_t)cnxq_quantize_scalar((xp[c] - mean) * inv_std, inv_scale, zero_point, 255);
        } else if (kind == CNXQ_ACT_U16) {
            uint8_t *hi = (uint8_t *)out + o;
            uint8_t *lo = out_lo + o;
            for (size_t c = 0; c < channels; c++) {
                int32_t q = cnxq_quantize_scalar((xp[c] - mean) * inv_std, inv_scale, zero_point, 65535);
                hi[c] = (uint8_t)(q >> 8);
                lo[c] = (uint8_t)(q & 255);
            }
        } else {
            float *dst = (float *)out + o;
            for (size_t c = 0; c < channels; c++) dst[c] = (xp[c] - mean) * inv_std;
        }
    }
}
