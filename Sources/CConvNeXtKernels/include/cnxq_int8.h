/// Int8 micro-kernels for ConvNeXtKit: u8 x s8 -> s32 GEMMs with fused requantising epilogues,
/// and the LayerNorm / quantisation helpers that produce their u8 inputs.
///
/// Why C: Swift cannot emit AVX-512 VNNI (vpdpbusd), and its generic SIMD float->int
/// conversions compile to calls. Everything here has a portable C path; the VNNI path is chosen
/// at run time (cnxk_table.h). Both paths give bit-identical results.
///
/// Conventions
/// - Activations are unsigned: int8 tensors are u8 with a zero point, int16 tensors are u16 with a
///   zero point stored as two u8 planes (high byte, low byte) so that the same u8 x s8 dot product
///   serves both: sum((u - zp) w) = 256 sum((hi - zp_hi) w) + sum((lo - zp_lo) w).
/// - Weights are symmetric s8 in [-127, 127], prepacked by cnxq_pack_weights into 16-column panels
///   holding 4 consecutive k per 32-bit lane (the layout vpdpbusd consumes).
/// - Quantisation of a float x: q = clamp(rint(x * inv_scale) + zero_point, 0, qmax), round half to even.
/// - GEMM rows are pixels; output element (m, n) lives at
///   out + (m / out_width) * out_row_stride + (m % out_width) * out_pixel_stride + n.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What the epilogue does with v = (acc - zp_colsum) * scale[n] + bias[n].
typedef enum {
    /// out_f32 = v
    CNXQ_OUT_F32 = 0,
    /// out_f32 = residual + v (residual has the same addressing as out)
    CNXQ_OUT_F32_ADD = 1,
    /// out_f32 = gelu(v)
    CNXQ_OUT_GELU_F32 = 2,
    /// out_u8 = quantise8(gelu(v))
    CNXQ_OUT_GELU_U8 = 3,
    /// (out_u8, out_lo) = high and low bytes of quantise16(gelu(v))
    CNXQ_OUT_GELU_U16 = 4,
} cnxq_output_kind;

/// How an activation tensor is stored.
typedef enum {
    CNXQ_ACT_F32 = 0,
    CNXQ_ACT_U8 = 1,
    /// u16 as two u8 planes: `out` gets the high bytes, `out_lo` the low bytes.
    CNXQ_ACT_U16 = 2,
} cnxq_activation_kind;

/// Per-GEMM epilogue parameters. Per-column arrays hold at least round_up(n, 16) entries.
typedef struct {
    int32_t kind;               ///< cnxq_output_kind
    int32_t zero_point;         ///< output quantisation zero point (GELU_U8 / GELU_U16)
    float inv_scale;            ///< output quantisation 1 / scale
    /// The requantise clamp, -zero_point and qmax - zero_point as floats: the vector epilogues read
    /// them from memory (a broadcast operand) instead of converting the zero point per vector.
    /// Set with the rest by cnxq_epilogue_set_quantization.
    float quant_low;
    float quant_high;
    int32_t reserved;
    const float *scale;         ///< input scale x weight scale, per column
    const float *bias;          ///< per column
    const int32_t *zp_colsum;   ///< input zero point (high byte for u16) x column sum of weights
    const int32_t *zp_colsum_lo;///< u16 input only: low byte of the zero point x column sum
    void *out;                  ///< float or u8 (high plane for GELU_U16)
    uint8_t *out_lo;            ///< low plane for GELU_U16
    const float *residual;      ///< F32_ADD only
    size_t out_pixel_stride;
    size_t out_row_stride;
    size_t out_width;
} cnxq_epilogue;

/// Sets the output quantisation of a GELU_U8 / GELU_U16 epilogue whose kind is set: 1 / scale,
/// the zero point and the clamp bounds derived from them (qmax 255, or 65535 for GELU_U16).
static inline void cnxq_epilogue_set_quantization(cnxq_epilogue *ep, float inv_scale, int32_t zero_point) {
    const int32_t qmax = ep->kind == CNXQ_OUT_GELU_U16 ? 65535 : 255;
    ep->inv_scale = inv_scale;
    ep->zero_point = zero_point;
    ep->quant_low = (float)(-zero_point);
    ep->quant_high = (float)(qmax - zero_point);
}

/// Computes rows [m_begin, m_end) of A x B for all n columns and applies the epilogue.
/// a: row m at a + m * lda (u8, k_groups * 4 entries used); a_lo: low-byte plane (two-plane
/// kernels) or NULL; b_packed: from cnxq_pack_weights with the same n and k_groups.
typedef void (*cnxq_gemm_fn)(size_t m_begin, size_t m_end, size_t n, size_t k_groups,
                             const uint8_t *a, const uint8_t *a_lo, size_t lda,
                             const int8_t *b_packed, const cnxq_epilogue *ep);

/// Bytes of a packed weight matrix: round_up(n, 16) * k_groups * 4.
size_t cnxq_packed_size(size_t n, size_t k_groups);
/// Packs w ([n][k] row-major; entries past k_groups * 4 are left out, missing k and n are zero) and writes the
/// column sums (round_up(n, 16) entries, zero past n).
void cnxq_pack_weights(const int8_t *w, size_t n, size_t k, size_t k_groups,
                       int8_t *b_packed, int32_t *colsum);

/// Applies the post-bias part of an epilogue to float values: v is rows [m_begin, m_end) of an
/// n-column matrix, row m at v + (m - m_begin) * ldv (already acc * scale + bias). Used by the
/// float GEMM path and by layer dumps; gives the same results as the fused kernels.
void cnxq_apply_output(const cnxq_epilogue *ep, size_t m_begin, size_t m_end, size_t n,
                       const float *v, size_t ldv);

/// GELU (erf form) as the epilogues compute it, for n floats in place.
void cnxq_gelu_f32(float *x, size_t n);

/// GELU as the epilogues compute it into u8 outputs (a cheaper form, within 2.1e-4 of erf).
float cnxq_gelu_u8(float x);

/// Quantises n floats: kind U8 writes out (u8), U16 writes out (high) and out_lo (low), F32 copies.
void cnxq_quantize(const float *x, size_t n, int32_t kind, float inv_scale, int32_t zero_point,
                   void *out, uint8_t *out_lo);

/// LayerNorm over `channels` for `count` pixels (pixel p at x + p * x_pixel_stride), then:
/// with gamma/beta (F32 only) out = z * gamma + beta, else out = quantise(z) per `kind`, where
/// z = (x - mean) / sqrt(var + eps). Output pixel p at out + p * out_pixel_stride elements.
void cnxq_layernorm(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                    const float *gamma, const float *beta, int32_t kind, float inv_scale,
                    int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);

/// The portable build of cnxq_layernorm (cnxq_layernorm picks the best enabled build from the
/// kernel table; all give identical results). For tests and comparisons.
void cnxq_layernorm_portable(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                             const float *gamma, const float *beta, int32_t kind, float inv_scale,
                             int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);

/// Sequentially consistent atomic add; returns the new value (for the engine's worker pool:
/// Swift's Synchronization module needs newer macOS than this package supports).
int32_t cnxq_atomic_add_i32(int32_t *p, int32_t v);
/// Sequentially consistent atomic load.
int32_t cnxq_atomic_load_i32(const int32_t *p);
/// A spin-wait hint (pause).
void cnxq_cpu_relax(void);

#ifdef __cplusplus
}
#endif
