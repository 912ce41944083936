// Standalone test of the int8 kernels (Sources/CConvNeXtKernels/qu8-gemm): u8 x s8 and
// u16 (two byte planes) x s8 GEMMs with every epilogue kind, LayerNorm with float / u8 / u16
// output, and the helpers of int8_helpers.c (packing, quantisation, GELU, apply_output).
//
// GEMMs: the reference sums sum((a - zp) w) exactly in 64-bit integers, then forms the epilogue
// input v = (float)(sum) * scale + bias (u16: ((float)hi * 256 + (float)lo) * scale + bias) and
// writes the expected outputs with cnxq_store_scalar from int8_scalar_math.h, so every kernel must
// match it bit for bit (and the portable kernel), over whole output buffers: positions outside
// the written rows / columns keep their NaN / poison bytes. Inputs end right before a PROT_NONE
// page, so reading past the last A row, the packed weights or the per-column arrays faults.
// GELU and quantisation are also checked against independent formulas (erf in double, rint).
//
// LayerNorm: every build runnable here bit-identical to the portable one, the portable one within
// 1e-5 (relative) of a double-precision LayerNorm, quantised outputs exactly the quantisation of
// the float output (and within one step of the double reference).
//
// Compile this file and the int8 sources with -ffp-contract=off (gcc ignores the sources'
// #pragma STDC FP_CONTRACT OFF): fused multiply-adds would change the last bits.
#define _GNU_SOURCE
#include "../../Sources/CConvNeXtKernels/cnxk_internal.h"
#include "../../Sources/CConvNeXtKernels/qu8-gemm/int8_kernels_internal.h"
#include "../../Sources/CConvNeXtKernels/qu8-gemm/int8_scalar_math.h"
#include "int8_test.h"
#include "test_support.h"

enum { Q_PORTABLE, Q_AVX2, Q_AVX512, Q_AVX512VNNI, Q_AMX, Q_AMX_EMULATED };
static const char *const q_isa_names[] = {"portable", "avx2+fma", "avx512f/bw/vl/dq", "avx512vnni+avx512f/bw/vl/dq",
                                          "amx-tile/amx-int8 (with the OS permission)", "emulated amx"};

#if defined(CNXK_TEST_AMX_EMULATION) && defined(__x86_64__)
// The AMX kernels compiled over amx_emulation.h (scripts/test-c-kernels), and its fault counter.
void emu_cnxq_gemm_u8s8_32x32c4_amx(size_t m_begin, size_t m_end, size_t n, size_t k_groups, const uint8_t *a,
                                    const uint8_t *a_lo, size_t lda, const int8_t *b_packed, const cnxq_epilogue *ep);
void emu_cnxq_gemm_u16s8_16x32c4_amx(size_t m_begin, size_t m_end, size_t n, size_t k_groups, const uint8_t *a,
                                     const uint8_t *a_lo, size_t lda, const int8_t *b_packed, const cnxq_epilogue *ep);
int amx_emu_faults;
char amx_emu_first_fault[160];
#endif

static int q_cpu_has(int isa) {
    switch (isa) {
    case Q_PORTABLE:
        return 1;
#if defined(__x86_64__)
    case Q_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Q_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    case Q_AVX512VNNI:
        return q_cpu_has(Q_AVX512) && __builtin_cpu_supports("avx512vnni");
    case Q_AMX:
        // The library's detection: CPUID, XCR0 and the Linux permission request (isa.c).
        return cnxk_cpu_has(CNXK_ISA_AMX);
#endif
#if defined(CNXK_TEST_AMX_EMULATION) && defined(__x86_64__)
    case Q_AMX_EMULATED:
        return 1;
#endif
    default:
        return 0;
    }
}

typedef struct {
    const char *name;
    int isa, planes;
    cnxq_gemm_fn fn;
} qgemm_kernel;

static const qgemm_kernel qgemm_kernels[] = {
    {"qu8_gemm_4x16c4__portable", Q_PORTABLE, 1, cnxq_gemm_u8s8_4x16c4_portable},
#if defined(CNXK_TEST_AMX_EMULATION) && defined(__x86_64__)
    {"qu8_gemm_32x32c4__amx (emulated)", Q_AMX_EMULATED, 1, emu_cnxq_gemm_u8s8_32x32c4_amx},
    {"qu16_gemm_16x32c4__amx (emulated)", Q_AMX_EMULATED, 2, emu_cnxq_gemm_u16s8_16x32c4_amx},
#endif
#if defined(__x86_64__)
    {"qu8_gemm_32x32c4__amx", Q_AMX, 1, cnxq_gemm_u8s8_32x32c4_amx},
    {"qu8_gemm_4x8c4__avx2", Q_AVX2, 1, cnxq_gemm_u8s8_4x8c4_avx2w},
    {"qu8_gemm_4x16c4__avx2", Q_AVX2, 1, cnxq_gemm_u8s8_4x16c4_avx2},
    {"qu8_gemm_4x16c4__avx512", Q_AVX512, 1, cnxq_gemm_u8s8_4x16c4_avx512bw},
    {"qu8_gemm_6x64c4__avx512vnni", Q_AVX512VNNI, 1, cnxq_gemm_u8s8_6x64c4_avx512vnni},
#endif
    {"qu16_gemm_4x16c4__portable", Q_PORTABLE, 2, cnxq_gemm_u16s8_4x16c4_portable},
#if defined(__x86_64__)
    {"qu16_gemm_16x32c4__amx", Q_AMX, 2, cnxq_gemm_u16s8_16x32c4_amx},
    {"qu16_gemm_2x8c4__avx2", Q_AVX2, 2, cnxq_gemm_u16s8_2x8c4_avx2w},
    {"qu16_gemm_4x16c4__avx2", Q_AVX2, 2, cnxq_gemm_u16s8_4x16c4_avx2},
    {"qu16_gemm_4x16c4__avx512", Q_AVX512, 2, cnxq_gemm_u16s8_4x16c4_avx512bw},
    {"qu16_gemm_6x32c4__avx512vnni", Q_AVX512VNNI, 2, cnxq_gemm_u16s8_6x32c4_avx512vnni},
#endif
};

typedef struct {
    const char *name;
    int isa;
    cnxk_layernorm_fn fn;
} ln_kernel;

static const ln_kernel ln_kernels[] = {
    {"layernorm_f32__portable", Q_PORTABLE, cnxq_layernorm_portable},
#if defined(__x86_64__)
    {"layernorm_f32__avx2", Q_AVX2, cnxq_layernorm_avx2},
    {"layernorm_f32__avx512", Q_AVX512, cnxq_layernorm_avx512},
#endif
    {"cnxq_layernorm (dispatch)", Q_PORTABLE, cnxq_layernorm},
};

// ---------------------------------------------------------------------------------------------
// Memory, random numbers, reporting.

static char *current_case;
static size_t current_case_len;

#define FAILF(...) test_failf(30, current_case, __VA_ARGS__)

static size_t page;
static test_region mappings[64];
static int mapping_count;

/// `bytes` bytes ending right before a PROT_NONE page, every byte `fill`; freed by release_to.
static void *guarded(size_t bytes, int fill) {
    if (mapping_count == (int)COUNT(mappings)) {
        fprintf(stderr, "too many guarded mappings\n");
        exit(2);
    }
    test_region *r = &mappings[mapping_count++];
    *r = test_region_new(bytes);
    memset(r->base, fill, r->bytes);
    return test_region_tail(r, bytes);
}

/// Frees the mappings made since `mark` (a previous mapping_count).
static void release_to(int mark) {
    while (mapping_count > mark) {
        mapping_count--;
        munmap(mappings[mapping_count].base, mappings[mapping_count].bytes + page);
    }
}

enum { POISON = 0xA5, POISON_LO = 0x5A, TAIL = 37 };

static void fill_nan(float *p, size_t n) { test_fill_sentinel(p, n); }

static float *guarded_floats(size_t n) {
    float *p = guarded(n * sizeof(float), 0);
    fill_nan(p, n);
    return p;
}

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t urand(void) { return (uint32_t)(test_xorshift(&rng) >> 32); }

/// Uniform in [-1, 1).
static float frand(void) { return (float)((double)urand() / 2147483648.0 - 1.0); }

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

static int is_float_kind(int kind) { return kind == CNXQ_OUT_F32 || kind == CNXQ_OUT_F32_ADD || kind == CNXQ_OUT_GELU_F32; }

static const char *const kind_names[] = {"F32", "F32_ADD", "GELU_F32", "GELU_U8", "GELU_U16"};

/// Independent quantisation: clamp(rint(x * inv_scale) + zero_point, 0, qmax) in double (the
/// product rounded to float first, as the contract's float arithmetic does).
static int32_t quantize_ref(float x, float inv_scale, int32_t zero_point, int32_t qmax) {
    const float t = x * inv_scale;
    double q = rint((double)t) + zero_point;
    q = q > 0 ? q : 0;
    q = q < qmax ? q : qmax;
    return (int32_t)q;
}

// ---------------------------------------------------------------------------------------------
// Weight packing reference (the layout cnxq_int8.h documents).

/// w [n][k] -> 16-column panels of k_groups x (16 lanes x 4 consecutive k); zero elsewhere.
static void pack_ref(const int8_t *w, size_t n, size_t k, size_t k_groups, int8_t *out) {
    const size_t panels = (n + 15) / 16;
    memset(out, 0, panels * k_groups * 64);
    for (size_t p = 0; p < panels; p++)
        for (size_t g = 0; g < k_groups; g++)
            for (size_t lane = 0; lane < 16; lane++)
                for (size_t j = 0; j < 4; j++) {
                    const size_t col = p * 16 + lane, kk = g * 4 + j;
                    if (col < n && kk < k) out[(p * k_groups + g) * 64 + lane * 4 + j] = w[col * k + kk];
                }
}

// ---------------------------------------------------------------------------------------------
// GEMM tests.

/// One GEMM problem: inputs shared by every kernel, range and epilogue, and its exact sums.
typedef struct {
    size_t m, n, k, k_groups, lda;
    int extreme;
    uint8_t *a, *a_lo;               // guarded: row m at a + m * lda, k_groups * 4 bytes used
    int8_t *w;                       // [n][k]
    int8_t *packed;                  // guarded, cnxq_packed_size bytes
    int32_t *colsum;                 // round16(n), from cnxq_pack_weights
    int32_t zp8, zp_hi, zp_lo;       // u8 zero point; u16 zero point = zp_hi * 256 + zp_lo
    int32_t *zpc8, *zpc_hi, *zpc_lo; // guarded, round16(n): zero point x column sum, poison past n
    float *scale8, *scale16, *bias;  // guarded, round16(n), NaN past n
    int64_t *sum8, *sum_hi, *sum_lo; // [m][n]: sum((a - zp8) w), sum((a - zp_hi) w), sum((a_lo - zp_lo) w)
} qproblem;

static int pack_failures, pack_cases;

static void problem_init(qproblem *s, size_t m, size_t n, size_t k, size_t extra_groups, int extreme) {
    memset(s, 0, sizeof *s);
    s->m = m, s->n = n, s->k = k, s->extreme = extreme;
    s->k_groups = (k + 3) / 4 + extra_groups;
    s->lda = s->k_groups * 4 + 5;
    const size_t n16 = round16(n), kb = s->k_groups * 4;
    // A: garbage everywhere (the padding k..k_groups*4 meets zero weights), the last row's used
    // bytes end at the guard page.
    const size_t a_bytes = (m - 1) * s->lda + kb;
    s->a = guarded(a_bytes, 0);
    s->a_lo = guarded(a_bytes, 0);
    for (size_t i = 0; i < a_bytes; i++) {
        s->a[i] = extreme ? 255 : (uint8_t)urand();
        s->a_lo[i] = extreme ? 255 : (uint8_t)urand();
    }
    s->w = malloc(n * k + 1);
    for (size_t i = 0; i < n * k; i++) {
        if (extreme) {
            s->w[i] = (i / k) % 2 ? 127 : -127;
        } else {
            const uint32_t r = urand();
            // Mostly uniform in [-127, 127], sometimes the extremes.
            s->w[i] = (r & 15) == 0 ? ((r >> 4) & 1 ? 127 : -127) : (int8_t)((int32_t)((r >> 8) % 255) - 127);
        }
    }
    const size_t packed_bytes = cnxq_packed_size(n, s->k_groups);
    s->packed = guarded(packed_bytes, POISON);
    s->colsum = malloc(n16 * sizeof(int32_t));
    cnxq_pack_weights(s->w, n, k, s->k_groups, s->packed, s->colsum);
    {
        // cnxq_pack_weights against the documented layout and plain column sums.
        int8_t *ref = malloc(packed_bytes);
        pack_ref(s->w, n, k, s->k_groups, ref);
        int ok = packed_bytes == n16 * s->k_groups * 4 && memcmp(ref, s->packed, packed_bytes) == 0;
        for (size_t col = 0; col < n16; col++) {
            int32_t sum = 0;
            for (size_t kk = 0; col < n && kk < k; kk++) sum += s->w[col * k + kk];
            if (s->colsum[col] != sum) ok = 0;
        }
        if (!ok) {
            FAILF("cnxq_pack_weights n=%zu k=%zu k_groups=%zu differs from the documented layout", n, k, s->k_groups);
            pack_failures++;
        }
        pack_cases++;
        free(ref);
    }
    s->zp8 = extreme ? 0 : (int32_t)(urand() % 256);
    const int32_t zp16 = extreme ? 0 : (int32_t)(urand() % 65536);
    s->zp_hi = zp16 >> 8, s->zp_lo = zp16 & 255;
    s->zpc8 = guarded(n16 * sizeof(int32_t), 0x5C);
    s->zpc_hi = guarded(n16 * sizeof(int32_t), 0x5C);
    s->zpc_lo = guarded(n16 * sizeof(int32_t), 0x5C);
    for (size_t col = 0; col < n; col++) {
        s->zpc8[col] = s->zp8 * s->colsum[col];
        s->zpc_hi[col] = s->zp_hi * s->colsum[col];
        s->zpc_lo[col] = s->zp_lo * s->colsum[col];
    }
    // Exact sums.
    s->sum8 = malloc(m * n * sizeof(int64_t));
    s->sum_hi = malloc(m * n * sizeof(int64_t));
    s->sum_lo = malloc(m * n * sizeof(int64_t));
    double rms8 = 0, rms16 = 0;
    for (size_t r = 0; r < m; r++) {
        const uint8_t *ar = s->a + r * s->lda, *al = s->a_lo + r * s->lda;
        for (size_t col = 0; col < n; col++) {
            const int8_t *wc = s->w + col * k;
            int64_t s8 = 0, sh = 0, sl = 0;
            for (size_t kk = 0; kk < k; kk++) {
                s8 += (int64_t)((int32_t)ar[kk] - s->zp8) * wc[kk];
                sh += (int64_t)((int32_t)ar[kk] - s->zp_hi) * wc[kk];
                sl += (int64_t)((int32_t)al[kk] - s->zp_lo) * wc[kk];
            }
            s->sum8[r * n + col] = s8, s->sum_hi[r * n + col] = sh, s->sum_lo[r * n + col] = sl;
            rms8 += (double)s8 * (double)s8;
            const double v16 = 256.0 * (double)sh + (double)sl;
            rms16 += v16 * v16;
        }
    }
    rms8 = sqrt(rms8 / (double)(m * n)) + 1.0;
    rms16 = sqrt(rms16 / (double)(m * n)) + 1.0;
    // Scales so that v spreads over about [-6, 6] (GELU's interesting range, and its limit);
    // the extreme problem ten times wider (saturating the quantisation).
    const double spread = extreme ? 30.0 : 3.0;
    s->scale8 = guarded_floats(n16);
    s->scale16 = guarded_floats(n16);
    s->bias = guarded_floats(n16);
    for (size_t col = 0; col < n; col++) {
        const double jitter = 0.5 + 0.5 * (frand() + 1.0);
        const float sign = col % 7 == 3 ? -1.0f : 1.0f;  // negative scales too
        s->scale8[col] = sign * (float)(spread / rms8 * jitter);
        s->scale16[col] = sign * (float)(spread / rms16 * jitter);
        s->bias[col] = frand();
    }
}

static void problem_free(qproblem *s) {
    free(s->w), free(s->colsum), free(s->sum8), free(s->sum_hi), free(s->sum_lo);
}

/// The epilogue input of (row, col), from the exact sums, in the kernels' operation order.
static float problem_v(const qproblem *s, int planes, size_t row, size_t col) {
    const size_t i = row * s->n + col;
    if (planes == 2) {
        // Exact sums fit int32 (|sum| <= 255 * 127 * 1280): the conversion rounds as the kernels' does.
        const float hi = (float)(int32_t)s->sum_hi[i] * 256.0f;
        const float lo = (float)(int32_t)s->sum_lo[i];
        return (hi + lo) * s->scale16[col] + s->bias[col];
    }
    return (float)(int32_t)s->sum8[i] * s->scale8[col] + s->bias[col];
}

/// Output layouts: 0 dense rows, 1 image rows of 7 pixels with padding between pixels and rows,
/// 2 one pixel per image row (every row a division step).
static void layout(int which, size_t m, size_t n, size_t *width, size_t *pixel_stride, size_t *row_stride) {
    if (which == 0) {
        *width = m, *pixel_stride = n, *row_stride = m * n;
    } else if (which == 1) {
        *width = 7, *pixel_stride = n + 3, *row_stride = 7 * (n + 3) + 11;
    } else {
        *width = 1, *pixel_stride = n + 1, *row_stride = n + 2;
    }
}

typedef struct {
    size_t cases, apply_cases;
    int apply_failures;
} gemm_stats;

static int first_difference(const void *x, const void *y, size_t bytes, size_t unit) {
    const unsigned char *a = x, *b = y;
    for (size_t i = 0; i < bytes; i++)
        if (a[i] != b[i]) return (int)(i / unit);
    return -1;
}

/// Describes element `idx` of the output (row, col or outside) for a failure message.
static void describe(char *buf, size_t len, const cnxq_epilogue *ep, size_t m_begin, size_t m_end, size_t n, size_t idx) {
    for (size_t m = m_begin; m < m_end; m++) {
        const size_t o = cnxq_out_offset(ep, m);
        if (idx >= o && idx < o + n) {
            snprintf(buf, len, "row %zu col %zu", m, idx - o);
            return;
        }
    }
    snprintf(buf, len, "element %zu outside the written rows/columns", idx);
}

/// Compares a kernel's output planes with the expected ones; 1 when equal bit for bit.
static int compare_outputs(const char *what, const cnxq_epilogue *ep, size_t m_begin, size_t m_end, size_t n,
                           const void *got, const void *want, const uint8_t *got_lo, const uint8_t *want_lo, size_t elems) {
    const int fl = is_float_kind(ep->kind);
    const size_t esz = fl ? 4 : 1;
    int idx = first_difference(got, want, elems * esz, esz);
    char where[96];
    if (idx >= 0) {
        describe(where, sizeof where, ep, m_begin, m_end, n, (size_t)idx);
        if (fl) {
            const float g = ((const float *)got)[idx], e = ((const float *)want)[idx];
            FAILF("%s: %s got %.9g (0x%08x) want %.9g (0x%08x)", what, where, g, float_bits(g), e, float_bits(e));
        } else {
            FAILF("%s: %s got %u want %u", what, where, ((const uint8_t *)got)[idx], ((const uint8_t *)want)[idx]);
        }
        return 0;
    }
    if (got_lo) {
        idx = first_difference(got_lo, want_lo, elems, 1);
        if (idx >= 0) {
            describe(where, sizeof where, ep, m_begin, m_end, n, (size_t)idx);
            FAILF("%s: low plane %s got %u want %u", what, where, got_lo[idx], want_lo[idx]);
            return 0;
        }
    }
    return 1;
}

/// One kernel call over rows [m_begin, m_end) with epilogue `kind` and output layout `lay`;
/// returns 1 when the output buffers equal the expected ones bit for bit.
static int gemm_run(const qgemm_kernel *kn, const qproblem *s, size_t m_begin, size_t m_end, int kind, int lay,
                    gemm_stats *st) {
    const int planes = kn->planes;
    const size_t n = s->n;
    snprintf(current_case, current_case_len, "%s m=%zu n=%zu k=%zu k_groups=%zu rows=[%zu,%zu) %s layout=%d%s", kn->name,
             s->m, n, s->k, s->k_groups, m_begin, m_end, kind_names[kind], lay, s->extreme ? " extreme" : "");
    const int mark = mapping_count;
    cnxq_epilogue ep;
    memset(&ep, 0, sizeof ep);
    ep.kind = kind;
    layout(lay, s->m, n, &ep.out_width, &ep.out_pixel_stride, &ep.out_row_stride);
    const size_t last = cnxq_out_offset(&ep, m_end - 1) + n;  // one past the last written element
    const size_t elems = last + TAIL;
    const int fl = is_float_kind(kind);
    const size_t esz = fl ? 4 : 1;
    if (kind == CNXQ_OUT_GELU_U8) {
        cnxq_epilogue_set_quantization(&ep, (kind + lay) % 2 ? 255.0f / 7.0f : 61.0f, (int32_t)(urand() % 40));
    } else if (kind == CNXQ_OUT_GELU_U16) {
        cnxq_epilogue_set_quantization(&ep, lay % 2 ? 65535.0f / 7.0f : 9000.0f, (int32_t)(urand() % 3000));
    }
    ep.scale = planes == 2 ? s->scale16 : s->scale8;
    ep.bias = s->bias;
    ep.zp_colsum = planes == 2 ? s->zpc_hi : s->zpc8;
    ep.zp_colsum_lo = planes == 2 ? s->zpc_lo : NULL;

    // Outputs: NaN / poison everywhere (and TAIL elements past the last written one).
    void *out = guarded(elems * esz, POISON);
    if (fl) fill_nan(out, elems);
    uint8_t *out_lo = kind == CNXQ_OUT_GELU_U16 ? guarded(elems, POISON_LO) : NULL;
    ep.out = out;
    ep.out_lo = out_lo;
    if (kind == CNXQ_OUT_F32_ADD) {
        // The residual's last element right before the guard page; NaN where nothing is read.
        float *res = guarded_floats(last);
        for (size_t m = m_begin; m < m_end; m++)
            for (size_t c = 0; c < n; c++) res[cnxq_out_offset(&ep, m) + c] = 4.0f * frand();
        ep.residual = res;
    }

    kn->fn(m_begin, m_end, n, s->k_groups, s->a, planes == 2 ? s->a_lo : NULL, s->lda, s->packed, &ep);

    // Expected: the same buffers written by cnxq_store_scalar from the exact sums.
    void *want = malloc(elems * esz);
    uint8_t *want_lo = out_lo ? malloc(elems) : NULL;
    memset(want, POISON, elems * esz);
    if (fl) fill_nan(want, elems);
    if (want_lo) memset(want_lo, POISON_LO, elems);
    cnxq_epilogue ref = ep;
    ref.out = want;
    ref.out_lo = want_lo;
    for (size_t m = m_begin; m < m_end; m++) {
        const size_t o = cnxq_out_offset(&ref, m);
        for (size_t c = 0; c < n; c++) cnxq_store_scalar(&ref, o + c, problem_v(s, planes, m, c));
    }
    int ok = compare_outputs("vs integer reference", &ep, m_begin, m_end, n, out, want, out_lo, want_lo, elems);

    // Independent spot checks of the epilogue formulas (GELU against erf, quantisation with rint).
    if (ok && kind >= CNXQ_OUT_GELU_F32) {
        for (size_t m = m_begin; m < m_end; m += 1 + (m_end - m_begin) / 5) {
            const size_t o = cnxq_out_offset(&ep, m);
            for (size_t c = 0; c < n; c++) {
                const float v = problem_v(s, planes, m, c);
                const double g = test_gelu_exact(v);
                if (kind == CNXQ_OUT_GELU_F32) {
                    const float got = ((const float *)out)[o + c];
                    if (!(fabs(got - g) <= 3e-6 + 1e-6 * fabs(g))) {
                        FAILF("gelu(%.9g) = %.9g, erf form %.9g", v, got, g);
                        ok = 0;
                    }
                } else {
                    const int32_t qmax = kind == CNXQ_OUT_GELU_U8 ? 255 : 65535;
                    const int32_t got = kind == CNXQ_OUT_GELU_U8 ? ((const uint8_t *)out)[o + c]
                                                                 : ((const uint8_t *)out)[o + c] * 256 + out_lo[o + c];
                    const float gelu = kind == CNXQ_OUT_GELU_U8 ? cnxq_gelu_u8_scalar(v) : cnxq_gelu_scalar(v);
                    const int32_t want_q = quantize_ref(gelu, ep.inv_scale, ep.zero_point, qmax);
                    // GELU's own error may move a value across a rounding boundary: within one step of erf's.
                    const double t = fmin(fmax(rint(g * ep.inv_scale) + ep.zero_point, 0), qmax);
                    if (got != want_q || fabs(got - t) > 1) {
                        FAILF("quantised gelu(%.9g) = %d, want %d (erf form %.0f)", v, got, want_q, t);
                        ok = 0;
                    }
                }
                if (!ok) break;
            }
            if (!ok) break;
        }
    }

    // Every kernel equals the portable one bit for bit.
    if (kn->isa != Q_PORTABLE) {
        void *p_out = malloc(elems * esz);
        uint8_t *p_lo = out_lo ? malloc(elems) : NULL;
        memset(p_out, POISON, elems * esz);
        if (fl) fill_nan(p_out, elems);
        if (p_lo) memset(p_lo, POISON_LO, elems);
        cnxq_epilogue pe = ep;
        pe.out = p_out;
        pe.out_lo = p_lo;
        if (planes == 2)
            cnxq_gemm_u16s8_4x16c4_portable(m_begin, m_end, n, s->k_groups, s->a, s->a_lo, s->lda, s->packed, &pe);
        else
            cnxq_gemm_u8s8_4x16c4_portable(m_begin, m_end, n, s->k_groups, s->a, NULL, s->lda, s->packed, &pe);
        ok &= compare_outputs("vs portable kernel", &ep, m_begin, m_end, n, out, p_out, out_lo, p_lo, elems);
        free(p_out), free(p_lo);
    } else {
        // cnxq_apply_output on the float values gives the fused kernels' results.
        const size_t ldv = n + 3;
        float *v = malloc((m_end - m_begin) * ldv * sizeof(float));
        for (size_t m = m_begin; m < m_end; m++)
            for (size_t c = 0; c < n; c++) v[(m - m_begin) * ldv + c] = problem_v(s, planes, m, c);
        void *a_out = malloc(elems * esz);
        uint8_t *a_lo = out_lo ? malloc(elems) : NULL;
        memset(a_out, POISON, elems * esz);
        if (fl) fill_nan(a_out, elems);
        if (a_lo) memset(a_lo, POISON_LO, elems);
        cnxq_epilogue ae = ep;
        ae.out = a_out;
        ae.out_lo = a_lo;
        cnxq_apply_output(&ae, m_begin, m_end, n, v, ldv);
        if (!compare_outputs("cnxq_apply_output vs integer reference", &ep, m_begin, m_end, n, a_out, want, a_lo, want_lo, elems))
            st->apply_failures++;
        st->apply_cases++;
        free(v), free(a_out), free(a_lo);
    }
    free(want), free(want_lo);
    release_to(mark);
    st->cases++;
    return ok;
}

/// GELU_F32 over a dense grid of [-10, 10] and special values: A rows all equal to the zero
/// point make the sums exactly zero, so v = bias; against erf in double.
static int gemm_gelu_sweep(const qgemm_kernel *kn, gemm_stats *st) {
    const int mark = mapping_count;
    const size_t m = 6, n = 1000, k = 4, kg = 1;
    snprintf(current_case, current_case_len, "%s gelu sweep", kn->name);
    uint8_t *a = guarded((m - 1) * 4 + 4, 77), *a_lo = guarded((m - 1) * 4 + 4, 201);
    int8_t *w = malloc(n * k);
    for (size_t i = 0; i < n * k; i++) w[i] = (int8_t)((int32_t)(urand() % 255) - 127);
    int8_t *packed = guarded(cnxq_packed_size(n, kg), 0);
    int32_t colsum[1008];
    cnxq_pack_weights(w, n, k, kg, packed, colsum);
    int32_t *zpc = guarded(1008 * sizeof(int32_t), 0), *zpc_lo = guarded(1008 * sizeof(int32_t), 0);
    for (size_t c = 0; c < n; c++) zpc[c] = 77 * colsum[c], zpc_lo[c] = 201 * colsum[c];
    float *scale = guarded_floats(1008), *bias = guarded_floats(1008);
    float *out = guarded_floats(m * n);
    static const float specials[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 6.0f, -6.0f, 5.9999995f, -5.9999995f, 6.0000005f,
                                     -6.0000005f, 0.1875f, -0.1875f, 5.8125f, -5.8125f, 1e30f, -1e30f, 100.0f, -100.0f};
    const int grid = 20001;
    int ok = 1;
    for (int i0 = 0; i0 < grid + (int)COUNT(specials) && ok; i0 += (int)n) {
        for (size_t c = 0; c < n; c++) {
            const int i = i0 + (int)c;
            scale[c] = 0.37f * (float)(c % 5 + 1);
            bias[c] = i < grid ? (float)(-10.0 + 20.0 * i / (grid - 1))
                      : i < grid + (int)COUNT(specials) ? specials[i - grid] : 1.0f;
        }
        cnxq_epilogue ep = {.kind = CNXQ_OUT_GELU_F32, .scale = scale, .bias = bias, .zp_colsum = zpc,
                            .zp_colsum_lo = kn->planes == 2 ? zpc_lo : NULL, .out = out, .out_pixel_stride = n,
                            .out_row_stride = m * n, .out_width = m};
        kn->fn(0, m, n, kg, a, kn->planes == 2 ? a_lo : NULL, 4, packed, &ep);
        st->cases++;
        for (size_t r = 0; r < m && ok; r++)
            for (size_t c = 0; c < n; c++) {
                const float x = 0.0f * scale[c] + bias[c], got = out[r * n + c];  // -0 bias: +0
                const double g = test_gelu_exact(x);
                const float want = cnxq_gelu_scalar(x);
                if (float_bits(got) != float_bits(want) || !(fabs(got - g) <= 3e-6 + 1e-6 * fabs(g))) {
                    FAILF("gelu(%.9g) = %.9g, cnxq_gelu_scalar %.9g, erf form %.9g", x, got, want, g);
                    ok = 0;
                    break;
                }
            }
    }
    free(w);
    release_to(mark);
    return ok;
}

static int test_qgemm(const qgemm_kernel *kn, gemm_stats *st) {
    // (m, n, k, extra k groups, extreme values)
    static const size_t problems[][5] = {
        {1, 10, 48, 0, 0},    {7, 40, 40, 0, 0},     {13, 80, 160, 0, 0},  {49, 160, 320, 0, 0},
        {6, 1000, 320, 0, 0}, {25, 320, 1280, 0, 0}, {5, 17, 3, 0, 0},     {9, 33, 45, 2, 0},
        {11, 65, 13, 0, 0},   {14, 96, 20, 1, 0},    {3, 48, 1280, 0, 1},  {8, 130, 1280, 0, 1},
        // Whole and partial 64-column blocks of the staged GELU epilogues, rows 1..MR + 1.
        {5, 1008, 40, 0, 0},  {2, 16, 8, 0, 0},      {4, 64, 160, 0, 1},   {3, 129, 44, 1, 0},
    };
    uint64_t saved = rng;
    rng = 0x9e3779b97f4a7c15ull;  // the same problems for every kernel
    int ok = 1;
    for (size_t pi = 0; pi < COUNT(problems); pi++) {
        const int mark = mapping_count;
        qproblem s;
        problem_init(&s, problems[pi][0], problems[pi][1], problems[pi][2], problems[pi][3], (int)problems[pi][4]);
        const size_t m = s.m;
        // Row ranges: all rows, from a middle row to one before the end, the last row alone.
        size_t ranges[3][2] = {{0, m}, {m / 3, m > 2 ? m - 1 : m}, {m - 1, m}};
        const size_t nranges = m > 1 ? 3 : 1;
        for (size_t ri = 0; ri < nranges; ri++)
            for (int kind = 0; kind <= CNXQ_OUT_GELU_U16; kind++)
                ok &= gemm_run(kn, &s, ranges[ri][0], ranges[ri][1], kind, (int)(ri + (size_t)kind + pi) % 3, st);
        problem_free(&s);
        release_to(mark);
    }
    rng = saved;
    ok &= gemm_gelu_sweep(kn, st);
    return ok;
}

/// The AMX kernels' tiling: every row count 1..40 (two 32-row blocks, one 16-row half, tails),
/// ranges that start mid-A and ranges that end at A's guard page, k around the 64-k tile step
/// (k tails go through zero-padded copies), n around the 32-column block (odd panel counts,
/// n = 1000 padded to 1008), every epilogue kind, u8 and u16. Rows 1..40 all with every kind on
/// the small shapes; on the large ones nine row counts, the kind rotating (all five each shape).
static int test_amx_shapes(const qgemm_kernel *kn, gemm_stats *st) {
    static const size_t ks[] = {4, 8, 60, 64, 68, 160, 320, 1280, 1284};
    static const size_t ns[] = {16, 48, 64, 160, 1000};
    static const size_t some_rows[] = {1, 5, 15, 16, 17, 31, 32, 33, 40};
    const size_t m = 43;
    uint64_t saved = rng;
    rng = 0x2545f4914f6cdd1dull;
    int ok = 1;
    for (size_t ki = 0; ki < COUNT(ks); ki++)
        for (size_t ni = 0; ni < COUNT(ns); ni++) {
            const int mark = mapping_count;
            qproblem s;
            problem_init(&s, m, ns[ni], ks[ki], 0, 0);
            const int small = ns[ni] * ks[ki] <= 64 * 68;
            const size_t count = small ? 40 : COUNT(some_rows);
            for (size_t i = 0; i < count; i++) {
                const size_t rows = small ? i + 1 : some_rows[i];
                // Even counts end at the last row of A (right before its guard page), odd ones start mid-A.
                const size_t begin = rows % 2 == 0 ? m - rows : rows % 3;
                for (int kind = 0; kind <= CNXQ_OUT_GELU_U16; kind++) {
                    if (!small && (size_t)kind != (i + ki + ni) % 5) continue;
                    ok &= gemm_run(kn, &s, begin, begin + rows, kind, (int)(rows + (size_t)kind) % 3, st);
                }
            }
            problem_free(&s);
            release_to(mark);
        }
    rng = saved;
    return ok;
}

// ---------------------------------------------------------------------------------------------
// LayerNorm tests.

typedef struct {
    size_t channels, count, xs, os;
    const float *x, *gamma, *beta;
    float eps;
    double *zd;  // [count][channels] double reference of (x - mean) / sqrt(var + eps)
    float *zf;   // [count][channels] the portable build's float output (F32, no gamma / beta)
} ln_problem;

enum { LN_AFFINE, LN_F32, LN_U8, LN_U16, LN_MODES };
static const char *const ln_mode_names[] = {"F32 gamma/beta", "F32", "U8", "U16"};

static void ln_quant_params(int mode, size_t variant, float *inv_scale, int32_t *zp) {
    if (mode == LN_U8) {
        *inv_scale = variant % 2 ? 255.0f / 8.0f : 80.0f;  // the second saturates beyond |z| ~ 1.6
        *zp = variant % 2 ? 128 : 131;
    } else if (mode == LN_U16) {
        *inv_scale = variant % 2 ? 65535.0f / 10.0f : 20000.0f;
        *zp = variant % 2 ? 32768 : 30001;
    } else {
        *inv_scale = 1.0f;
        *zp = 0;
    }
}

/// One call of fn in `mode`; fills the expected buffers from p->zf; 1 when equal bit for bit.
static int ln_run(const ln_kernel *kn, const ln_problem *p, int mode, size_t variant) {
    snprintf(current_case, current_case_len, "%s channels=%zu count=%zu x_stride=%zu out_stride=%zu %s", kn->name, p->channels,
             p->count, p->xs, p->os, ln_mode_names[mode]);
    const int mark = mapping_count;
    const size_t C = p->channels, elems = (p->count - 1) * p->os + C + TAIL;
    const int fl = mode == LN_AFFINE || mode == LN_F32;
    const size_t esz = fl ? 4 : 1;
    float inv_scale;
    int32_t zp;
    ln_quant_params(mode, variant, &inv_scale, &zp);
    const int32_t kind = mode == LN_U8 ? CNXQ_ACT_U8 : mode == LN_U16 ? CNXQ_ACT_U16 : CNXQ_ACT_F32;
    void *out = guarded(elems * esz, POISON);
    if (fl) fill_nan(out, elems);
    uint8_t *out_lo = mode == LN_U16 ? guarded(elems, POISON_LO) : NULL;
    kn->fn(p->x, p->xs, p->count, C, p->eps, mode == LN_AFFINE ? p->gamma : NULL, mode == LN_AFFINE ? p->beta : NULL, kind,
           inv_scale, zp, out, out_lo, p->os);

    void *want = malloc(elems * esz);
    uint8_t *want_lo = out_lo ? malloc(elems) : NULL;
    memset(want, POISON, elems * esz);
    if (fl) fill_nan(want, elems);
    if (want_lo) memset(want_lo, POISON_LO, elems);
    for (size_t q = 0; q < p->count; q++)
        for (size_t c = 0; c < C; c++) {
            const float z = p->zf[q * C + c];
            const size_t o = q * p->os + c;
            if (mode == LN_AFFINE) {
                ((float *)want)[o] = z * p->gamma[c] + p->beta[c];
            } else if (mode == LN_F32) {
                ((float *)want)[o] = z;
            } else if (mode == LN_U8) {
                ((uint8_t *)want)[o] = (uint8_t)cnxq_quantize_scalar(z, inv_scale, zp, 255);
            } else {
                const int32_t v = cnxq_quantize_scalar(z, inv_scale, zp, 65535);
                ((uint8_t *)want)[o] = (uint8_t)(v >> 8);
                want_lo[o] = (uint8_t)(v & 255);
            }
        }
    int ok = 1;
    int idx = first_difference(out, want, elems * esz, esz);
    if (idx < 0 && out_lo) idx = first_difference(out_lo, want_lo, elems, 1);
    if (idx >= 0) {
        const size_t q = (size_t)idx / p->os, c = (size_t)idx % p->os;
        char where[64];
        if (q < p->count && c < C)
            snprintf(where, sizeof where, "pixel %zu channel %zu", q, c);
        else
            snprintf(where, sizeof where, "element %d outside the outputs", idx);
        if (fl)
            FAILF("%s got %.9g want %.9g", where, ((float *)out)[idx], ((float *)want)[idx]);
        else
            FAILF("%s got %u/%u want %u/%u", where, ((uint8_t *)out)[idx], out_lo ? out_lo[idx] : 0, ((uint8_t *)want)[idx],
                  want_lo ? want_lo[idx] : 0);
        ok = 0;
    }
    // Against the double reference.
    for (size_t q = 0; q < p->count && ok; q++)
        for (size_t c = 0; c < C; c++) {
            const double zd = p->zd[q * C + c];
            const size_t o = q * p->os + c;
            if (mode == LN_AFFINE) {
                const double want_d = zd * p->gamma[c] + p->beta[c];
                const double got = ((float *)out)[o];
                // z's own bound (1e-5 x max(|z|, 1), as checked for the reference) scaled by gamma, plus rounding.
                const double tol = 1e-5 * (fmax(fabs(zd), 1.0) * fabs(p->gamma[c]) + fabs(p->beta[c]) + 1e-3);
                if (!(fabs(got - want_d) <= tol)) {
                    FAILF("pixel %zu channel %zu got %.9g want %.9g (double)", q, c, got, want_d);
                    ok = 0;
                    break;
                }
            } else if (mode == LN_U8 || mode == LN_U16) {
                const int32_t qmax = mode == LN_U8 ? 255 : 65535;
                const int32_t got = mode == LN_U8 ? ((uint8_t *)out)[o] : ((uint8_t *)out)[o] * 256 + out_lo[o];
                const double t = fmin(fmax(rint(zd * inv_scale) + zp, 0), qmax);
                if (fabs(got - t) > 1) {
                    FAILF("pixel %zu channel %zu quantised %d want %.0f (double)", q, c, got, t);
                    ok = 0;
                    break;
                }
            }
        }
    free(want), free(want_lo);
    release_to(mark);
    return ok;
}

static const size_t ln_channels[] = {3, 16, 40, 80, 163, 320};

/// Builds the problem (guarded inputs), runs the portable F32 build to get p->zf and checks it
/// against the double reference; returns 0 on failure.
static int ln_problem_init(ln_problem *p, size_t ci, size_t count, int strided) {
    const size_t C = ln_channels[ci];
    p->channels = C, p->count = count, p->eps = 1e-6f;
    p->xs = strided ? C + 5 : C;
    p->os = strided ? C + 3 : C;
    float *x = guarded_floats((count - 1) * p->xs + C);
    for (size_t q = 0; q < count; q++) {
        // Per pixel: an offset and a spread (some pixels nearly constant, some large).
        // The offset is at most the spread: float LayerNorm's error grows with offset / spread.
        const float spread = q % 3 == 0 ? 0.01f : q % 3 == 1 ? 1.0f : 5.0f, offset = spread * frand();
        for (size_t c = 0; c < C; c++) x[q * p->xs + c] = offset + spread * frand();
    }
    float *gamma = guarded_floats(C), *beta = guarded_floats(C);
    for (size_t c = 0; c < C; c++) gamma[c] = 1.0f + 0.5f * frand(), beta[c] = 0.3f * frand();
    p->x = x, p->gamma = gamma, p->beta = beta;
    p->zd = malloc(count * C * sizeof(double));
    p->zf = malloc(count * C * sizeof(float));
    for (size_t q = 0; q < count; q++) {
        double mean = 0, var = 0;
        for (size_t c = 0; c < C; c++) mean += x[q * p->xs + c];
        mean /= (double)C;
        for (size_t c = 0; c < C; c++) var += (x[q * p->xs + c] - mean) * (x[q * p->xs + c] - mean);
        var /= (double)C;
        const double inv_std = 1.0 / sqrt(var + (double)p->eps);
        for (size_t c = 0; c < C; c++) p->zd[q * C + c] = (x[q * p->xs + c] - mean) * inv_std;
    }
    snprintf(current_case, current_case_len, "layernorm_f32__portable channels=%zu count=%zu reference", C, count);
    float *z = guarded_floats((count - 1) * p->os + C);
    cnxq_layernorm_portable(x, p->xs, count, C, p->eps, NULL, NULL, CNXQ_ACT_F32, 1.0f, 0, z, NULL, p->os);
    int ok = 1;
    for (size_t q = 0; q < count; q++)
        for (size_t c = 0; c < C; c++) {
            const float got = z[q * p->os + c];
            const double want = p->zd[q * C + c];
            p->zf[q * C + c] = got;
            if (ok && !(fabs(got - want) <= 1e-5 * fmax(fabs(want), 1.0))) {
                FAILF("pixel %zu channel %zu got %.9g want %.9g (double)", q, c, got, want);
                ok = 0;
            }
        }
    return ok;
}

static int test_layernorm(const ln_kernel *kn, size_t *cases) {
    static const size_t counts[] = {1, 3, 6, 7};  // the AVX-512 build groups 4 pixels: every remainder
    uint64_t saved = rng;
    rng = 0x853c49e6748fea9bull;
    int ok = 1;
    size_t variant = 0;
    for (size_t ci = 0; ci < COUNT(ln_channels); ci++)
        for (size_t ni = 0; ni < COUNT(counts); ni++)
            for (int strided = 0; strided < 2; strided++) {
                const int mark = mapping_count;
                ln_problem p;
                ok &= ln_problem_init(&p, ci, counts[ni], strided);
                for (int mode = 0; mode < LN_MODES; mode++, (*cases)++) ok &= ln_run(kn, &p, mode, variant++);
                free(p.zd), free(p.zf);
                release_to(mark);
            }
    rng = saved;
    return ok;
}

// ---------------------------------------------------------------------------------------------
// Helpers: cnxq_quantize, cnxq_gelu_f32, and the kernel table's int8 entries.

static int test_quantize(size_t *cases) {
    snprintf(current_case, current_case_len, "cnxq_quantize");
    enum { N = 4099 };
    const int mark = mapping_count;
    float *x = guarded_floats(N);
    int ok = 1;
    for (int variant = 0; variant < 6; variant++) {
        const int u16 = variant >= 3;
        const int32_t qmax = u16 ? 65535 : 255;
        const float inv_scale = variant % 3 == 0 ? 1.0f : variant % 3 == 1 ? (u16 ? 4321.5f : 31.75f) : (u16 ? 1e6f : 1e3f);
        const int32_t zp = variant % 3 == 0 ? (u16 ? 32768 : 128) : variant % 3 == 1 ? (u16 ? 7 : 0) : (u16 ? 65535 : 255);
        for (size_t i = 0; i < N; i++) {
            if (variant % 3 == 0)
                x[i] = (float)((double)i / 8 - 256.0) + (i % 2 ? 0.5f : 0.0f);  // many exact halves
            else
                x[i] = (i % 5 == 0 ? 100.0f : 2.0f) * frand();
        }
        x[0] = INFINITY, x[1] = -INFINITY, x[2] = 1e30f, x[3] = -1e30f, x[4] = -0.0f, x[5] = 2.5f, x[6] = -2.5f;
        uint8_t *out = guarded(N + TAIL, POISON), *lo = guarded(N + TAIL, POISON_LO);
        cnxq_quantize(x, N, u16 ? CNXQ_ACT_U16 : CNXQ_ACT_U8, inv_scale, zp, out, u16 ? lo : NULL);
        for (size_t i = 0; i < N + TAIL && ok; i++) {
            if (i >= N) {
                if (out[i] != POISON || lo[i] != POISON_LO) { FAILF("write past the end at %zu", i); ok = 0; }
                continue;
            }
            const int32_t want = quantize_ref(x[i], inv_scale, zp, qmax);
            const int32_t got = u16 ? out[i] * 256 + lo[i] : out[i];
            if (got != want || (!u16 && lo[i] != POISON_LO)) {
                FAILF("x=%.9g inv_scale=%g zp=%d qmax=%d got %d want %d", x[i], inv_scale, zp, qmax, got, want);
                ok = 0;
            }
        }
        (*cases)++;
    }
    // F32: a copy.
    float *copy = guarded_floats(N);
    cnxq_quantize(x, N, CNXQ_ACT_F32, 1.0f, 0, copy, NULL);
    if (memcmp(copy, x, N * sizeof(float)) != 0) { FAILF("F32 kind is not a copy"); ok = 0; }
    (*cases)++;
    release_to(mark);
    return ok;
}

static int test_gelu_f32(size_t *cases) {
    snprintf(current_case, current_case_len, "cnxq_gelu_f32");
    enum { N = 20001 };
    float *x = malloc(N * sizeof(float)), *y = malloc((N + TAIL) * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = (float)(-10.0 + 20.0 * i / (N - 1));
    memcpy(y, x, N * sizeof(float));
    fill_nan(y + N, TAIL);
    cnxq_gelu_f32(y, N);
    int ok = 1;
    for (int i = 0; i < N + TAIL && ok; i++) {
        if (i >= N) {
            if (float_bits(y[i]) != TEST_SENTINEL_BITS) { FAILF("write past the end"); ok = 0; }
            continue;
        }
        const double g = test_gelu_exact(x[i]);
        if (float_bits(y[i]) != float_bits(cnxq_gelu_scalar(x[i])) || !(fabs(y[i] - g) <= 3e-6 + 1e-6 * fabs(g))) {
            FAILF("gelu(%.9g) = %.9g want %.9g (erf form)", x[i], y[i], g);
            ok = 0;
        }
    }
    // The u8 epilogues' GELU (cnxq_gelu_u8_scalar) against erf: its bounds (2.1e-4; 1.3e-5 where
    // |x| < 1) over [-12, 12] (both clamp bounds and the ranges beyond them), exactly 0 / x far out.
    for (int i = 0; i <= 2 * N && ok; i++) {
        const float v = (float)(-12.0 + 24.0 * i / (2 * N));
        const double g = test_gelu_exact(v), err = fabs(cnxq_gelu_u8_scalar(v) - g);
        if (!(err <= (fabsf(v) < 1.0f ? 1.4e-5 : 2.1e-4))) {
            FAILF("u8 gelu(%.9g) = %.9g want %.9g (erf form)", v, cnxq_gelu_u8_scalar(v), g);
            ok = 0;
        }
    }
    static const float far[] = {-1e30f, -100.0f, -4.5f, 4.5f, 100.0f, 1e30f};
    for (size_t i = 0; i < COUNT(far) && ok; i++) {
        const float want = far[i] < 0 ? 0.0f : far[i], got = cnxq_gelu_u8_scalar(far[i]);
        if (!(fabsf(got - want) <= 1e-6f * fabsf(far[i]))) {
            FAILF("u8 gelu(%.9g) = %.9g want %.9g", far[i], got, want);
            ok = 0;
        }
    }
    *cases = 3 * N + 1 + COUNT(far);
    free(x), free(y);
    return ok;
}

/// Every int8 / LayerNorm entry of the kernel table (this architecture) is one this test runs.
static int test_table_coverage(size_t *cases) {
    snprintf(current_case, current_case_len, "kernel table int8 entries");
    int ok = 1;
    for (size_t i = 0; i < cnxk_kernel_count(); i++) {
        const cnxk_kernel *e = cnxk_kernel_at(i);
        int found = 0;
        if (e->op == CNXK_OP_QU8_GEMM || e->op == CNXK_OP_QU16_GEMM) {
            for (size_t j = 0; j < COUNT(qgemm_kernels); j++)
                found |= qgemm_kernels[j].fn == e->q_gemm && qgemm_kernels[j].planes == (e->op == CNXK_OP_QU16_GEMM ? 2 : 1) &&
                         strcmp(qgemm_kernels[j].name, e->name) == 0;
        } else if (e->op == CNXK_OP_LAYERNORM) {
            for (size_t j = 0; j < COUNT(ln_kernels); j++)
                found |= ln_kernels[j].fn == e->layernorm && strcmp(ln_kernels[j].name, e->name) == 0;
        } else {
            continue;
        }
        (*cases)++;
        if (!found) { FAILF("table entry %s is not tested here", e->name); ok = 0; }
    }
    return ok;
}

// ---------------------------------------------------------------------------------------------
// Benchmark (informational): the int8 GEMMs runnable here on whole layers, one thread.

void int8_bench(void) {
    // (m, k, n) of pointwise layers, and the epilogue kind.
    static const size_t shapes[][4] = {
        {48, 160, 160, CNXQ_OUT_F32}, {196, 320, 1280, CNXQ_OUT_GELU_U8}, {196, 1280, 320, CNXQ_OUT_F32_ADD},
        {128, 40, 160, CNXQ_OUT_GELU_U8}, {128, 160, 40, CNXQ_OUT_F32_ADD},  // atto stage 1 fc1, fc2
    };
    for (size_t si = 0; si < COUNT(shapes); si++) {
        const size_t m = shapes[si][0], k = shapes[si][1], n = shapes[si][2], kg = (k + 3) / 4;
        uint8_t *a = malloc(m * kg * 4), *a_lo = malloc(m * kg * 4);
        int8_t *w = malloc(n * k), *packed = malloc(cnxq_packed_size(n, kg));
        int32_t *colsum = malloc(round16(n) * sizeof(int32_t)), *zpc = malloc(round16(n) * sizeof(int32_t));
        float *scale = malloc(round16(n) * sizeof(float)), *bias = malloc(round16(n) * sizeof(float));
        float *out = malloc(m * n * sizeof(float)), *res = malloc(m * n * sizeof(float));
        uint8_t *out_lo = malloc(m * n);
        for (size_t i = 0; i < m * kg * 4; i++) a[i] = (uint8_t)urand(), a_lo[i] = (uint8_t)urand();
        for (size_t i = 0; i < n * k; i++) w[i] = (int8_t)((int32_t)(urand() % 255) - 127);
        cnxq_pack_weights(w, n, k, kg, packed, colsum);
        for (size_t c = 0; c < round16(n); c++) zpc[c] = 128 * colsum[c], scale[c] = 1e-5f, bias[c] = 0.1f;
        for (size_t i = 0; i < m * n; i++) res[i] = frand();
        cnxq_epilogue ep = {.kind = (int32_t)shapes[si][3], .scale = scale, .bias = bias,
                            .zp_colsum = zpc, .zp_colsum_lo = zpc, .out = out, .out_lo = out_lo, .residual = res,
                            .out_pixel_stride = n, .out_row_stride = m * n, .out_width = m};
        cnxq_epilogue_set_quantization(&ep, 20.0f, 3);
        for (size_t i = 0; i < COUNT(qgemm_kernels); i++) {
            const qgemm_kernel *kn = &qgemm_kernels[i];
            if (!q_cpu_has(kn->isa) || kn->isa == Q_AMX_EMULATED) continue;
            const uint8_t *lo = kn->planes == 2 ? a_lo : NULL;
            kn->fn(0, m, n, kg, a, lo, kg * 4, packed, &ep);
            size_t reps = 1;
            for (;;) {
                const double t0 = test_now_seconds();
                for (size_t r = 0; r < reps; r++) kn->fn(0, m, n, kg, a, lo, kg * 4, packed, &ep);
                if (test_now_seconds() - t0 > 0.01) break;
                reps *= 2;
            }
            double best = 1e30;
            for (int t = 0; t < 7; t++) {
                const double t0 = test_now_seconds();
                for (size_t r = 0; r < reps; r++) kn->fn(0, m, n, kg, a, lo, kg * 4, packed, &ep);
                const double dt = (test_now_seconds() - t0) / (double)reps;
                if (dt < best) best = dt;
            }
            printf("BENCH %-28s %5zux%-5zu x %5zux%-5zu %-8s %7.1f GOP/s\n", kn->name, m, k, k, n, kind_names[shapes[si][3]],
                   2.0 * (double)(m * k * n) / best * 1e-9);
        }
        free(a), free(a_lo), free(w), free(packed), free(colsum), free(zpc), free(scale), free(bias), free(out), free(res), free(out_lo);
    }
}

// ---------------------------------------------------------------------------------------------

void int8_tests(int *passed, int *failed, char *case_buf, size_t case_len) {
    current_case = case_buf;
    current_case_len = case_len;
    page = (size_t)sysconf(_SC_PAGESIZE);
    gemm_stats portable_stats = {0, 0, 0};
    int amx_skip_said = 0;
    for (size_t i = 0; i < COUNT(qgemm_kernels); i++) {
        const qgemm_kernel *kn = &qgemm_kernels[i];
        const int supported = q_cpu_has(kn->isa);
        if (!supported && kn->isa == Q_AMX && !amx_skip_said++)
            printf("SKIP: AMX kernels natively (this CPU lacks AMX)\n");
        if (!test_should_run(kn->name, kn->isa == Q_AMX_EMULATED, test_native_only, supported, q_isa_names[kn->isa]))
            continue;
        gemm_stats st = {0, 0, 0};
#if defined(CNXK_TEST_AMX_EMULATION) && defined(__x86_64__)
        amx_emu_faults = 0;
        amx_emu_first_fault[0] = 0;
#endif
        int ok = test_qgemm(kn, &st);
        if (kn->isa == Q_AMX || kn->isa == Q_AMX_EMULATED) ok &= test_amx_shapes(kn, &st);
#if defined(CNXK_TEST_AMX_EMULATION) && defined(__x86_64__)
        if (amx_emu_faults != 0) {
            // Always printed (FAILF stops after 30 messages): the cause of the other failures.
            fprintf(stderr, "FAIL %s: %d tile or AVX-512 instructions would have faulted on real hardware; the first: %s\n",
                    kn->name, amx_emu_faults, amx_emu_first_fault);
            ok = 0;
        }
#endif
        test_report(ok, kn->name, st.cases, passed, failed);
        portable_stats.apply_cases += st.apply_cases;
        portable_stats.apply_failures += st.apply_failures;
    }
    test_report(pack_failures == 0, "cnxq_pack_weights", (size_t)pack_cases, passed, failed);
    test_report(portable_stats.apply_failures == 0, "cnxq_apply_output", portable_stats.apply_cases, passed, failed);
    for (size_t i = 0; i < COUNT(ln_kernels); i++) {
        const ln_kernel *kn = &ln_kernels[i];
        if (!test_should_run(kn->name, 0, test_native_only, q_cpu_has(kn->isa), q_isa_names[kn->isa])) continue;
        size_t cases = 0;
        const int ok = test_layernorm(kn, &cases);
        test_report(ok, kn->name, cases, passed, failed);
    }
    size_t cases = 0;
    int ok = test_quantize(&cases);
    test_report(ok, "cnxq_quantize", cases, passed, failed);
    cases = 0;
    ok = test_gelu_f32(&cases);
    test_report(ok, "cnxq_gelu_f32", cases, passed, failed);
    cases = 0;
    ok = test_table_coverage(&cases);
    test_report(ok, "kernel table int8 entries", cases, passed, failed);
}
