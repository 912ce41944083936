// The one kernel table: every micro-kernel with its op, tile and ISA, fastest first within an op.
// Dispatch (cnxk_best), the kernel tests and `convnext bench --kernels` all read this list.
#include "cnxk_internal.h"
#include "qu8-gemm/int8_kernels_internal.h"

#define F32_GEMM(name, isa, mr, nr, fn) {name, CNXK_OP_F32_GEMM, isa, mr, nr, fn, NULL, NULL, NULL, NULL}
#define F32_DWCONV(name, isa, pixels, channels, fn) {name, CNXK_OP_F32_DWCONV7X7, isa, pixels, channels, NULL, fn, NULL, NULL, NULL}
#define LAYERNORM(name, isa, fn) {name, CNXK_OP_LAYERNORM, isa, 1, 1, NULL, NULL, fn, NULL, NULL}
#define QU8_GEMM(name, isa, mr, nr, fn) {name, CNXK_OP_QU8_GEMM, isa, mr, nr, NULL, NULL, NULL, fn, NULL}
#define BF16_GEMM(name, isa, mr, nr, fn) {name, CNXK_OP_BF16_GEMM, isa, mr, nr, NULL, NULL, NULL, NULL, fn}
#define QU16_GEMM(name, isa, mr, nr, fn) {name, CNXK_OP_QU16_GEMM, isa, mr, nr, NULL, NULL, NULL, fn, NULL}

static const cnxk_kernel kernel_table[] = {
#if defined(CNXK_X86)
    F32_GEMM("f32_gemm_8x48__avx512", CNXK_ISA_AVX512, 8, 48, cnxk_f32_gemm_8x48__avx512),
    F32_GEMM("f32_gemm_8x32__avx512", CNXK_ISA_AVX512, 8, 32, cnxk_f32_gemm_8x32__avx512),
    F32_GEMM("f32_gemm_8x16__avx512", CNXK_ISA_AVX512, 8, 16, cnxk_f32_gemm_8x16__avx512),
    F32_GEMM("f32_gemm_1x48__avx512", CNXK_ISA_AVX512, 1, 48, cnxk_f32_gemm_1x48__avx512),
    F32_GEMM("f32_gemm_1x32__avx512", CNXK_ISA_AVX512, 1, 32, cnxk_f32_gemm_1x32__avx512),
    F32_GEMM("f32_gemm_1x16__avx512", CNXK_ISA_AVX512, 1, 16, cnxk_f32_gemm_1x16__avx512),
    F32_GEMM("f32_gemm_6x16__avx2", CNXK_ISA_AVX2, 6, 16, cnxk_f32_gemm_6x16__avx2),
    F32_GEMM("f32_gemm_1x16__avx2", CNXK_ISA_AVX2, 1, 16, cnxk_f32_gemm_1x16__avx2),
#endif
#if defined(CNXK_ARM64)
    F32_GEMM("f32_gemm_6x16__neon", CNXK_ISA_NEON, 6, 16, cnxk_f32_gemm_6x16__neon),
    F32_GEMM("f32_gemm_1x16__neon", CNXK_ISA_NEON, 1, 16, cnxk_f32_gemm_1x16__neon),
#endif
    F32_GEMM("f32_gemm_4x16__portable", CNXK_ISA_PORTABLE, 4, 16, cnxk_f32_gemm_4x16__portable),

#if defined(CNXK_X86)
    F32_DWCONV("f32_dwconv7x7_8p16c__avx512", CNXK_ISA_AVX512, 8, 16, cnxk_f32_dwconv7x7_8p16c__avx512),
    F32_DWCONV("f32_dwconv7x7_8p8c__avx2", CNXK_ISA_AVX2, 8, 8, cnxk_f32_dwconv7x7_8p8c__avx2),
#endif
#if defined(CNXK_ARM64)
    F32_DWCONV("f32_dwconv7x7_4p16c__neon", CNXK_ISA_NEON, 4, 16, cnxk_f32_dwconv7x7_4p16c__neon),
#endif
    F32_DWCONV("f32_dwconv7x7_4p16c__portable", CNXK_ISA_PORTABLE, 4, 16, cnxk_f32_dwconv7x7_4p16c__portable),

#if defined(CNXK_X86)
    LAYERNORM("layernorm_f32__avx512", CNXK_ISA_AVX512, cnxq_layernorm_avx512),
    LAYERNORM("layernorm_f32__avx2", CNXK_ISA_AVX2, cnxq_layernorm_avx2),
#endif
    LAYERNORM("layernorm_f32__portable", CNXK_ISA_PORTABLE, cnxq_layernorm_portable),

#if defined(CNXK_X86)
    QU8_GEMM("qu8_gemm_32x32c4__amx", CNXK_ISA_AMX, 32, 32, cnxq_gemm_u8s8_32x32c4_amx),
    QU8_GEMM("qu8_gemm_6x64c4__avx512vnni", CNXK_ISA_AVX512VNNI, 6, 64, cnxq_gemm_u8s8_6x64c4_avx512vnni),
    // Hand-written vpmaddwd kernels before the portable code built for AVX-512 or AVX2: on an
    // AVX-512 CPU without VNNI the AVX2 one is ~3x faster (Zen 5 capped by --isa avx512: int8 atto
    // 28.9 ms with 4x16c4__avx512, 10.7 with 4x8c4__avx2). The others stay listed for tests and
    // benches, and the AVX2 portable one as the fallback (rows longer than 2048 k go to it).
    QU8_GEMM("qu8_gemm_4x8c4__avx2", CNXK_ISA_AVX2, 4, 8, cnxq_gemm_u8s8_4x8c4_avx2w),
    QU8_GEMM("qu8_gemm_4x16c4__avx512", CNXK_ISA_AVX512, 4, 16, cnxq_gemm_u8s8_4x16c4_avx512bw),
    QU8_GEMM("qu8_gemm_4x16c4__avx2", CNXK_ISA_AVX2, 4, 16, cnxq_gemm_u8s8_4x16c4_avx2),
#endif
    QU8_GEMM("qu8_gemm_4x16c4__portable", CNXK_ISA_PORTABLE, 4, 16, cnxq_gemm_u8s8_4x16c4_portable),
#if defined(CNXK_X86)
    QU16_GEMM("qu16_gemm_16x32c4__amx", CNXK_ISA_AMX, 16, 32, cnxq_gemm_u16s8_16x32c4_amx),
    QU16_GEMM("qu16_gemm_6x32c4__avx512vnni", CNXK_ISA_AVX512VNNI, 6, 32, cnxq_gemm_u16s8_6x32c4_avx512vnni),
    QU16_GEMM("qu16_gemm_2x8c4__avx2", CNXK_ISA_AVX2, 2, 8, cnxq_gemm_u16s8_2x8c4_avx2w),
    QU16_GEMM("qu16_gemm_4x16c4__avx512", CNXK_ISA_AVX512, 4, 16, cnxq_gemm_u16s8_4x16c4_avx512bw),
    QU16_GEMM("qu16_gemm_4x16c4__avx2", CNXK_ISA_AVX2, 4, 16, cnxq_gemm_u16s8_4x16c4_avx2),
#endif
    QU16_GEMM("qu16_gemm_4x16c4__portable", CNXK_ISA_PORTABLE, 4, 16, cnxq_gemm_u16s8_4x16c4_portable),

#if defined(CNXK_X86)
    BF16_GEMM("bf16_gemm_32x32__amx", CNXK_ISA_AMX, 32, 32, cnxk_bf16_gemm_32x32__amx),
    BF16_GEMM("bf16_gemm_32x16__amx", CNXK_ISA_AMX, 32, 16, cnxk_bf16_gemm_32x16__amx),
    BF16_GEMM("bf16_gemm_8x48__avx512bf16", CNXK_ISA_AVX512BF16, 8, 48, cnxk_bf16_gemm_8x48__avx512bf16),
    BF16_GEMM("bf16_gemm_8x32__avx512bf16", CNXK_ISA_AVX512BF16, 8, 32, cnxk_bf16_gemm_8x32__avx512bf16),
    BF16_GEMM("bf16_gemm_8x16__avx512bf16", CNXK_ISA_AVX512BF16, 8, 16, cnxk_bf16_gemm_8x16__avx512bf16),
    BF16_GEMM("bf16_gemm_1x48__avx512bf16", CNXK_ISA_AVX512BF16, 1, 48, cnxk_bf16_gemm_1x48__avx512bf16),
    BF16_GEMM("bf16_gemm_1x32__avx512bf16", CNXK_ISA_AVX512BF16, 1, 32, cnxk_bf16_gemm_1x32__avx512bf16),
    BF16_GEMM("bf16_gemm_1x16__avx512bf16", CNXK_ISA_AVX512BF16, 1, 16, cnxk_bf16_gemm_1x16__avx512bf16),
#endif
    BF16_GEMM("bf16_gemm_4x16__portable", CNXK_ISA_PORTABLE, 4, 16, cnxk_bf16_gemm_4x16__portable),
};

size_t cnxk_kernel_count(void) { return sizeof(kernel_table) / sizeof(kernel_table[0]); }

const cnxk_kernel *cnxk_kernel_at(size_t i) { return i < cnxk_kernel_count() ? &kernel_table[i] : NULL; }

const cnxk_kernel *cnxk_best(int32_t op) {
    for (size_t i = 0; i < cnxk_kernel_count(); i++) {
        const cnxk_kernel *k = &kernel_table[i];
        if (k->op == op && cnxk_isa_enabled(k->isa)) return k;
    }
    return NULL;
}

const cnxk_kernel *cnxk_best_tile(int32_t op, int32_t mr, int32_t nr) {
    const cnxk_kernel *best = cnxk_best(op);
    if (best == NULL) return NULL;
    for (size_t i = 0; i < cnxk_kernel_count(); i++) {
        const cnxk_kernel *k = &kernel_table[i];
        if (k->op == op && k->isa == best->isa && k->mr == mr && k->nr == nr) return k;
    }
    return NULL;
}
