/// The one kernel table (XNNPACK style): every entry is named op_dtype_tile__isa, the engine picks
/// entries from it at run time, the kernel tests run every entry against its reference, and
/// `convnext bench --kernels` times every entry. Also the CPU feature detection behind the choice.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "cnxk_bf16.h"
#include "cnxk_f32.h"
#include "cnxq_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets a kernel may need, in the order a cap (--isa, CONVNEXT_ISA) applies on each
/// architecture: a cap allows its own ISA and every earlier one of the same architecture.
typedef enum {
    CNXK_ISA_PORTABLE = 0,
    /// x86-64: AVX2 + FMA (Haswell, Zen 1 and later).
    CNXK_ISA_AVX2 = 1,
    /// x86-64: AVX-512 F, BW, VL and DQ (Skylake-SP, Zen 4 and later).
    CNXK_ISA_AVX512 = 2,
    /// x86-64: AVX-512 with VNNI (Cascade Lake, Ice Lake, Zen 4 and later).
    CNXK_ISA_AVX512VNNI = 3,
    /// x86-64: AVX-512 BF16 (Cooper Lake, Sapphire Rapids, Zen 4 and later).
    CNXK_ISA_AVX512BF16 = 4,
    /// x86-64: AMX tiles, INT8 and BF16 (Sapphire Rapids and later), with the OS permission granted.
    CNXK_ISA_AMX = 5,
    /// aarch64: Advanced SIMD (every ARMv8-A core).
    CNXK_ISA_NEON = 6,
    /// aarch64: Advanced SIMD with the dot-product extension (ARMv8.2-A dotprod, e.g. Cortex-A55).
    CNXK_ISA_NEONDOT = 7,
    CNXK_ISA_COUNT = 8,
} cnxk_isa;

/// What a kernel computes.
typedef enum {
    /// cnxk_f32_gemm_fn: one mr x nr tile of a float GEMM with fused bias, GELU and residual.
    CNXK_OP_F32_GEMM = 0,
    /// cnxk_f32_dwconv_fn: a run of pixels of a 7x7 depthwise convolution, NHWC.
    CNXK_OP_F32_DWCONV7X7 = 1,
    /// cnxk_layernorm_fn: LayerNorm per pixel with float, u8 or u16 output.
    CNXK_OP_LAYERNORM = 2,
    /// cnxq_gemm_fn: u8 activations x s8 weights -> s32, requantising epilogue.
    CNXK_OP_QU8_GEMM = 3,
    /// cnxq_gemm_fn: u16 activations (two byte planes) x s8 weights -> s32.
    CNXK_OP_QU16_GEMM = 4,
    /// cnxk_bf16_gemm_fn: one mr x nr tile of a bf16 GEMM (f32 sums) with fused bias, GELU and residual.
    CNXK_OP_BF16_GEMM = 5,
    CNXK_OP_COUNT = 6,
} cnxk_op;

/// cnxq_layernorm's signature.
typedef void (*cnxk_layernorm_fn)(const float *x, size_t x_pixel_stride, size_t count, size_t channels, float eps,
                                  const float *gamma, const float *beta, int32_t kind, float inv_scale,
                                  int32_t zero_point, void *out, uint8_t *out_lo, size_t out_pixel_stride);

/// One entry of the kernel table. Exactly one function pointer, the one of `op`, is set.
typedef struct {
    const char *name;   ///< e.g. "f32_gemm_8x48__avx512", "bf16_gemm_8x48__avx512bf16"
    int32_t op;         ///< cnxk_op
    int32_t isa;        ///< cnxk_isa
    int32_t mr;         ///< rows per tile (GEMMs), pixels per step (depthwise), else 1
    int32_t nr;         ///< columns per tile (GEMMs; the packed panel width for f32), channels per step
    cnxk_f32_gemm_fn f32_gemm;
    cnxk_f32_dwconv_fn f32_dwconv;
    cnxk_layernorm_fn layernorm;
    cnxq_gemm_fn q_gemm;
    cnxk_bf16_gemm_fn bf16_gemm;
} cnxk_kernel;

/// Number of entries in the table (runnable here or not).
size_t cnxk_kernel_count(void);
/// Entry i, NULL when out of range. Within an op, entries are listed fastest first.
const cnxk_kernel *cnxk_kernel_at(size_t i);

/// Short lowercase name of an ISA ("portable", "avx2", "avx512", "avx512vnni", "avx512bf16",
/// "amx", "neon", "neondot"), "?" when out of range.
const char *cnxk_isa_name(int32_t isa);
/// The ISA of a name (as cnxk_isa_name), -1 when unknown.
int32_t cnxk_isa_from_name(const char *name);
/// 1 when this CPU (and OS) can run kernels of `isa`, ignoring any cap. Read once (CPUID and
/// XGETBV on x86-64, hwcaps on aarch64) and cached.
int32_t cnxk_cpu_has(int32_t isa);
/// 1 when kernels of `isa` may run: the CPU has it and it is within the cap.
int32_t cnxk_isa_enabled(int32_t isa);
/// Caps the ISAs kernels may use (the cap and the earlier ISAs of its architecture). Returns 0,
/// or -1 (nothing changed) when this CPU lacks `isa` or `isa` belongs to another architecture.
/// Set it before building engines: engines choose their kernels when they are built.
int32_t cnxk_set_isa_cap(int32_t isa);
/// 1 when a cap was set (cnxk_set_isa_cap succeeded at least once), 0 when the cap is the CPU's best ISA by default.
int32_t cnxk_isa_cap_is_set(void);
/// The current cap: the best ISA of this CPU unless cnxk_set_isa_cap lowered it.
int32_t cnxk_isa_cap(void);
/// Applies the CONVNEXT_ISA environment variable once (unset or empty: no cap). Returns 0, or -1
/// when it names an unknown ISA or one this CPU lacks (then the cap is unchanged).
int32_t cnxk_apply_isa_environment(void);
/// The best enabled entry for op (fastest first), NULL when none (never for ops with a portable entry).
const cnxk_kernel *cnxk_best(int32_t op);
/// The enabled entry for op with tile mr x nr, of the same ISA as the best entry for op.
const cnxk_kernel *cnxk_best_tile(int32_t op, int32_t mr, int32_t nr);

/// Operations (a multiply-add counts 2) one iteration of cnxk_peak_loop does for `isa`: avx2 and
/// avx512 f32 FMAs, avx512vnni u8 x s8 dot products, avx512bf16 bf16 dot products (vdpbf16ps),
/// neon f32 FMAs; 0 for ISAs without a loop.
double cnxk_peak_ops_per_iteration(int32_t isa);
/// Runs `iterations` of a register-only multiply-add loop of `isa` (12 independent chains), for
/// measuring the arithmetic peak; returns a value to keep it from being optimised away (0 when
/// the CPU lacks the ISA or it has no loop).
float cnxk_peak_loop(int32_t isa, size_t iterations);

/// CPU description for `convnext cpu`: the vendor/brand string (may be empty).
const char *cnxk_cpu_brand(void);

#ifdef __cplusplus
}
#endif
