// Standalone test of the bf16 kernels (Sources/CConvNeXtKernels/bf16-gemm): the rounding rule
// (cnxk_bf16_from_f32), the panel packing, and every bf16 GEMM tile against a double-precision
// reference of the same bf16-rounded inputs.
//
// GEMM cases: rows 1..mr, k odd and even from 1 to 1280, one panel or n = 16..1008 columns over
// several panels (pad columns included), GELU, residual, row offsets. A's last valid bf16 ends
// right before a PROT_NONE page (so does the last panel and the bias), so reading past the last
// row, the last k or the packed weights faults; the gaps between A rows and the element after an
// odd k are NaN, so reading them poisons the result; C holds a NaN sentinel wherever a kernel
// must not write, checked bit for bit. Tolerance: 1e-5 x (1 + |bias| + sum |a b|), which f32
// summation meets and which the error of skipping the bf16 rounding of A (2^-9 relative per
// element) exceeds; GELU adds 3e-6 (the polynomial's error vs erf).
//
// The AVX512-BF16 tiles run natively where the CPU has AVX512-BF16 and otherwise print a SKIP
// line; built with -DCNXK_TEST_AVX512_EMULATION (scripts/test-c-kernels, x86-64), their source is
// also tested compiled over scalar emulation of its intrinsics (avx512bf16_emulation.h, emu_*).
// The AMX-BF16 tiles likewise: natively where the CPU (and OS) has AMX-BF16, and everywhere on
// x86-64 over that emulation plus scalar tile registers (amx_tile_emulation.h), which also fail
// the kernel for any tile instruction that would fault.
#define _GNU_SOURCE
#include "../../Sources/CConvNeXtKernels/cnxk_internal.h"
#include "bf16_test.h"
#include "int8_test.h"
#include "test_support.h"

#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
#define EMULATED(tile) void emu_cnxk_bf16_gemm_##tile##__avx512bf16(const cnxk_bf16_gemm_tile *t);
EMULATED(8x48) EMULATED(8x32) EMULATED(8x16) EMULATED(1x48) EMULATED(1x32) EMULATED(1x16)
#undef EMULATED
void emu_cnxk_bf16_gemm_32x32__amx(const cnxk_bf16_gemm_tile *t);
void emu_cnxk_bf16_gemm_32x16__amx(const cnxk_bf16_gemm_tile *t);
// amx_tile_emulation.h's fault counter (defined by int8_test.c).
extern int amx_emu_faults;
extern char amx_emu_first_fault[160];
#endif

typedef struct {
    const char *name;
    int32_t isa;  ///< cnxk_isa: the CPU it needs natively, and its padding of k
    int mr, nr;
    cnxk_bf16_gemm_fn fn;
    int emulated;  ///< 1: compiled over scalar emulation, runs anywhere
} bf16_kernel;

static const bf16_kernel kernels[] = {
    {"bf16_gemm_4x16__portable", CNXK_ISA_PORTABLE, 4, 16, cnxk_bf16_gemm_4x16__portable, 0},
#if defined(__x86_64__)
    {"bf16_gemm_32x32__amx", CNXK_ISA_AMX, 32, 32, cnxk_bf16_gemm_32x32__amx, 0},
    {"bf16_gemm_32x16__amx", CNXK_ISA_AMX, 32, 16, cnxk_bf16_gemm_32x16__amx, 0},
    {"bf16_gemm_8x48__avx512bf16", CNXK_ISA_AVX512BF16, 8, 48, cnxk_bf16_gemm_8x48__avx512bf16, 0},
    {"bf16_gemm_8x32__avx512bf16", CNXK_ISA_AVX512BF16, 8, 32, cnxk_bf16_gemm_8x32__avx512bf16, 0},
    {"bf16_gemm_8x16__avx512bf16", CNXK_ISA_AVX512BF16, 8, 16, cnxk_bf16_gemm_8x16__avx512bf16, 0},
    {"bf16_gemm_1x48__avx512bf16", CNXK_ISA_AVX512BF16, 1, 48, cnxk_bf16_gemm_1x48__avx512bf16, 0},
    {"bf16_gemm_1x32__avx512bf16", CNXK_ISA_AVX512BF16, 1, 32, cnxk_bf16_gemm_1x32__avx512bf16, 0},
    {"bf16_gemm_1x16__avx512bf16", CNXK_ISA_AVX512BF16, 1, 16, cnxk_bf16_gemm_1x16__avx512bf16, 0},
#endif
#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
    {"bf16_gemm_8x48__avx512bf16 (emulated)", CNXK_ISA_AVX512BF16, 8, 48, emu_cnxk_bf16_gemm_8x48__avx512bf16, 1},
    {"bf16_gemm_8x32__avx512bf16 (emulated)", CNXK_ISA_AVX512BF16, 8, 32, emu_cnxk_bf16_gemm_8x32__avx512bf16, 1},
    {"bf16_gemm_8x16__avx512bf16 (emulated)", CNXK_ISA_AVX512BF16, 8, 16, emu_cnxk_bf16_gemm_8x16__avx512bf16, 1},
    {"bf16_gemm_1x48__avx512bf16 (emulated)", CNXK_ISA_AVX512BF16, 1, 48, emu_cnxk_bf16_gemm_1x48__avx512bf16, 1},
    {"bf16_gemm_1x32__avx512bf16 (emulated)", CNXK_ISA_AVX512BF16, 1, 32, emu_cnxk_bf16_gemm_1x32__avx512bf16, 1},
    {"bf16_gemm_1x16__avx512bf16 (emulated)", CNXK_ISA_AVX512BF16, 1, 16, emu_cnxk_bf16_gemm_1x16__avx512bf16, 1},
    {"bf16_gemm_32x32__amx (emulated)", CNXK_ISA_AMX, 32, 32, emu_cnxk_bf16_gemm_32x32__amx, 1},
    {"bf16_gemm_32x16__amx (emulated)", CNXK_ISA_AMX, 32, 16, emu_cnxk_bf16_gemm_32x16__amx, 1},
#endif
};

static char *case_name;
static size_t case_size;

static void fail(const char *what, double got, double want, double tol) { test_fail_value(case_name, what, got, want, tol); }

// ---------------------------------------------------------------------------------------------
// Memory (guarded regions of test_support.h), random numbers.

static const uint16_t bf16_nan = 0x7fc0;

static uint64_t rng = 0x2545f4914f6cdd1dull;

/// Uniform in [-1, 1).
static float frand(void) { return test_frand53(&rng); }

static float float_of(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

// ---------------------------------------------------------------------------------------------
// Rounding.

/// Special values, ties and a random sweep: the result is the nearer of the two bf16 neighbours
/// (ties to the even one), NaN stays NaN, subnormals become a signed zero.
static int test_rounding(size_t *cases) {
    snprintf(case_name, case_size, "cnxk_bf16_from_f32");
    static const struct {
        uint32_t in;
        uint16_t out;
    } fixed[] = {
        {0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81},
        {0x3f807fff, 0x3f80}, {0xbf808000, 0xbf80}, {0x7f7fffff, 0x7f80}, {0x7f800000, 0x7f80},
        {0xff800000, 0xff80}, {0x00000000, 0x0000}, {0x80000000, 0x8000}, {0x00000001, 0x0000},
        {0x807fffff, 0x8000}, {0x00800000, 0x0080}, {0x7fc00000, 0x7fc0}, {0xffc00001, 0xffc0},
    };
    int ok = 1;
    size_t n = 0;
    for (size_t i = 0; i < COUNT(fixed); i++, n++) {
        const uint16_t got = cnxk_bf16_from_f32(float_of(fixed[i].in));
        if (got != fixed[i].out) fail("fixed value", got, fixed[i].out, 0), ok = 0;
    }
    // Signalling NaNs whose payload is only in the low bits must not become infinity.
    for (uint32_t low = 1; low < 0x10000; low <<= 1, n++) {
        const uint16_t got = cnxk_bf16_from_f32(float_of(0x7f800000u | low));
        if (!isnan(cnxk_bf16_to_f32(got))) fail("NaN kept", got, NAN, 0), ok = 0;
    }
    for (int i = 0; i < 200000; i++, n++) {
        const uint32_t u = (uint32_t)(test_xorshift(&rng) >> 17);
        const float x = float_of(u);
        if (isnan(x) || fpclassify(x) == FP_SUBNORMAL) continue;
        const uint16_t got = cnxk_bf16_from_f32(x);
        const uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
        const double dl = fabs((double)x - (double)cnxk_bf16_to_f32(lo));
        const double dh = isinf(cnxk_bf16_to_f32(hi)) ? INFINITY : fabs((double)x - (double)cnxk_bf16_to_f32(hi));
        uint16_t want = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
        // Beyond the largest bf16 by at least half a step, nearest rounding gives infinity.
        if (isinf(dh) && (u & 0xffffu) >= 0x8000u && (lo & 0x7fffu) == 0x7f7fu) want = hi;
        if (got != want) {
            fail("random value", got, want, 0);
            ok = 0;
        }
    }
    *cases = n;
    return ok;
}

#if defined(__x86_64__)
/// The AVX512-BF16 A prologue (cnxk_bf16_rounding) against cnxk_bf16_round_rows: every bit
/// pattern class (random words, so NaNs, infinities and subnormals too), every row length up to
/// 70 (vector bodies and masked tails), strided rows; the elements between rows stay untouched.
static int test_round_rows(cnxk_bf16_round_fn fn, size_t *cases) {
    enum { ROWS = 3, MAX_LEN = 70, LDA = MAX_LEN + 5, LDO = MAX_LEN + 7 };
    float a[ROWS * LDA];
    uint16_t want[ROWS * LDO], got[ROWS * LDO];
    int ok = 1;
    size_t n = 0;
    for (int round = 0; round < 40; round++) {
        for (size_t i = 0; i < ROWS * LDA; i++) {
            uint32_t u = (uint32_t)(test_xorshift(&rng) >> 17);
            // A quarter tiny exponents (subnormals, zeros), a quarter NaN/infinity, the rest anything.
            if ((i & 3) == 1) u &= 0x807fffffu;
            if ((i & 3) == 2) u |= 0x7f800000u;
            a[i] = float_of(u);
        }
        for (size_t k = 1; k <= MAX_LEN; k++, n++) {
            memset(want, 0xa5, sizeof want);
            memset(got, 0xa5, sizeof got);
            cnxk_bf16_round_rows(a, LDA, ROWS, k, want, LDO);
            fn(a, LDA, ROWS, k, got, LDO);
            if (memcmp(want, got, sizeof want) != 0) {
                for (size_t i = 0; i < ROWS * LDO; i++)
                    if (want[i] != got[i]) {
                        snprintf(case_name, case_size, "bf16 round rows k=%zu round=%d element %zu", k, round, i);
                        fail("rounded bits", got[i], want[i], 0);
                        break;
                    }
                ok = 0;
            }
        }
    }
    *cases = n;
    return ok;
}

#endif

// ---------------------------------------------------------------------------------------------
// GEMM tiles.

enum { MAX_K = 1280, MAX_MR = 32, MAX_N = 1008 + 48 };

typedef struct {
    test_region a, b, bias, offsets, c, res, w;
} gemm_regions;

/// One GEMM of `rows` rows over ceil(n / nr) panels (one tile call each); 1 when every output
/// and every sentinel is right.
static int gemm_case(const bf16_kernel *kn, gemm_regions *g, size_t k, size_t rows, size_t n, int gelu,
                     int residual, int use_offsets) {
    const size_t mr = (size_t)kn->mr, nr = (size_t)kn->nr;
    const size_t panels = (n + nr - 1) / nr, width = panels * nr;
    // The k the tiles read (AMX: a multiple of 32, zeros past k in A and in the panels).
    const size_t kp = cnxk_bf16_padded_k(k, kn->isa);
    const size_t lda = kp + 3;
    snprintf(case_name, case_size, "%s k=%zu rows=%zu n=%zu gelu=%d residual=%d offsets=%d", kn->name, k, rows, n,
             gelu, residual, use_offsets);

    // A: bf16 rows from f32 values through the prologue; gaps NaN, the last element at the guard page.
    const size_t a_count = (rows - 1) * lda + kp;
    uint16_t *a = test_region_tail(&g->a, a_count * sizeof(uint16_t));
    for (size_t i = 0; i < a_count; i++) a[i] = bf16_nan;
    float *af = test_region_tail(&g->w, rows * k * sizeof(float));
    for (size_t i = 0; i < rows * k; i++) af[i] = 2.0f * frand();
    cnxk_bf16_round_rows(af, k, rows, k, a, lda);
    for (size_t r = 0; r < rows; r++)
        for (size_t kk = k; kk < kp; kk++) a[r * lda + kk] = 0;
    static double ar[MAX_MR][MAX_K];
    for (size_t r = 0; r < rows; r++)
        for (size_t kk = 0; kk < k; kk++) ar[r][kk] = cnxk_bf16_to_f32(cnxk_bf16_from_f32(af[r * k + kk]));

    // W (k x n, f32) packed into panels; the last panel ends at the guard page.
    static float w[MAX_K * MAX_N];
    for (size_t i = 0; i < k * n; i++) w[i] = frand();
    const size_t panel_elements = cnxk_bf16_panel_elements(kp, nr), packed = cnxk_bf16_panel_elements(k, nr);
    uint16_t *b = test_region_tail(&g->b, panels * panel_elements * sizeof(uint16_t));
    for (size_t p = 0; p < panels; p++) {
        const size_t columns = n - p * nr < nr ? n - p * nr : nr;
        cnxk_bf16_pack_panel(w + p * nr, n, k, columns, nr, b + p * panel_elements);
        memset(b + p * panel_elements + packed, 0, (panel_elements - packed) * sizeof(uint16_t));
    }
    float *bias = test_region_tail(&g->bias, width * sizeof(float));
    for (size_t j = 0; j < width; j++) bias[j] = 2.0f * frand();

    // C and the residual: rows of ldc (or, with offsets, reversed and shifted), NaN elsewhere.
    const size_t ldc = width + 5, cn = (mr + 3) * ldc + 16, origin = 2 * ldc + 7;
    ptrdiff_t *offsets = NULL;
    if (use_offsets) {
        offsets = test_region_tail(&g->offsets, rows * sizeof(ptrdiff_t));
        for (size_t r = 0; r < rows; r++)
            offsets[r] = ((ptrdiff_t)mr - 2 - (ptrdiff_t)r) * (ptrdiff_t)ldc + (ptrdiff_t)(r & 1) * 2;
    }
    float *c = test_region_tail(&g->c, cn * sizeof(float));
    float *res = test_region_tail(&g->res, cn * sizeof(float));
    test_fill_sentinel(c, cn);
    test_fill_sentinel(res, cn);
    ptrdiff_t row_off[MAX_MR];
    for (size_t r = 0; r < rows; r++) {
        row_off[r] = offsets ? offsets[r] : (ptrdiff_t)(r * ldc);
        for (size_t j = 0; j < width; j++) res[(ptrdiff_t)origin + row_off[r] + (ptrdiff_t)j] = frand();
    }

    for (size_t p = 0; p < panels; p++) {
        cnxk_bf16_gemm_tile t = {
            .k = k, .a = a, .lda = lda, .rows = rows, .b = b + p * panel_elements, .bias = bias + p * nr,
            .c = c + origin + p * nr, .ldc = ldc, .c_row_offsets = offsets,
            .residual = residual ? res + origin + p * nr : NULL, .gelu = gelu,
        };
        kn->fn(&t);
    }

    int ok = 1;
    static unsigned char written[(MAX_MR + 3) * (MAX_N + 5) + 16];
    memset(written, 0, cn);
    for (size_t r = 0; r < rows && ok; r++) {
        for (size_t j = 0; j < width; j++) {
            const size_t idx = (size_t)((ptrdiff_t)origin + row_off[r] + (ptrdiff_t)j);
            written[idx] = 1;
            double acc = bias[j], mag = fabs((double)bias[j]);
            if (j < n) {
                for (size_t kk = 0; kk < k; kk++) {
                    const double prod = ar[r][kk] * (double)cnxk_bf16_to_f32(cnxk_bf16_from_f32(w[kk * n + j]));
                    acc += prod;
                    mag += fabs(prod);
                }
            }
            double tol = 1e-5 * (1.0 + mag);
            if (gelu) acc = test_gelu_exact(acc), tol += 3e-6;
            if (residual) acc += res[idx], tol += 1e-6 * fabs((double)res[idx]);
            if (!(fabs(c[idx] - acc) <= tol)) {
                fail("value", c[idx], acc, tol);
                ok = 0;
                break;
            }
        }
    }
    for (size_t i = 0; i < cn && ok; i++) {
        if (!written[i] && !test_is_sentinel(c[i])) {
            fail("write outside the tile", c[i], NAN, 0);
            ok = 0;
        }
    }
    return ok;
}

/// GELU over [-10, 10] carried by the bias (k = 1, zero weights): within 2e-6 of cnxk_gelu_scalar.
static int gelu_sweep(const bf16_kernel *kn, gemm_regions *g, size_t *cases) {
    const size_t mr = (size_t)kn->mr, nr = (size_t)kn->nr;
    snprintf(case_name, case_size, "%s gelu sweep", kn->name);
    const size_t kp = cnxk_bf16_padded_k(1, kn->isa);
    uint16_t *a = test_region_tail(&g->a, mr * kp * sizeof(uint16_t));
    for (size_t i = 0; i < mr * kp; i++) a[i] = i % kp == 0 ? cnxk_bf16_from_f32(1.0f) : 0;
    uint16_t *b = test_region_tail(&g->b, cnxk_bf16_panel_elements(kp, nr) * sizeof(uint16_t));
    memset(b, 0, cnxk_bf16_panel_elements(kp, nr) * sizeof(uint16_t));
    float *bias = test_region_tail(&g->bias, nr * sizeof(float));
    float *c = test_region_tail(&g->c, mr * nr * sizeof(float));
    const int n = 20001;
    int ok = 1;
    for (int i0 = 0; i0 < n && ok; i0 += (int)nr) {
        for (size_t j = 0; j < nr; j++) {
            const int i = i0 + (int)j < n ? i0 + (int)j : n - 1;
            bias[j] = (float)(-10.0 + 20.0 * i / (n - 1));
        }
        cnxk_bf16_gemm_tile t = {.k = 1, .a = a, .lda = kp, .rows = mr, .b = b, .bias = bias, .c = c, .ldc = nr,
                                 .c_row_offsets = NULL, .residual = NULL, .gelu = 1};
        kn->fn(&t);
        ++*cases;
        for (size_t r = 0; r < mr; r++)
            for (size_t j = 0; j < nr; j++)
                if (!(fabs(c[r * nr + j] - cnxk_gelu_scalar(bias[j])) <= 2e-6))
                    fail("gelu vs scalar formula", c[r * nr + j], cnxk_gelu_scalar(bias[j]), 2e-6), ok = 0;
    }
    return ok;
}

static int test_kernel(const bf16_kernel *kn, size_t *cases) {
    static gemm_regions g;
    if (!g.a.base) {
        g.a = test_region_new(MAX_MR * (MAX_K + CNXK_BF16_AMX_K_STEP + 3) * sizeof(uint16_t));
        g.b = test_region_new(cnxk_bf16_panel_elements(MAX_K + CNXK_BF16_AMX_K_STEP, MAX_N) * sizeof(uint16_t));
        g.bias = test_region_new(MAX_N * sizeof(float));
        g.offsets = test_region_new(MAX_MR * sizeof(ptrdiff_t));
        g.c = test_region_new(sizeof(float) * ((MAX_MR + 3) * (MAX_N + 5) + 16));
        g.res = test_region_new(sizeof(float) * ((MAX_MR + 3) * (MAX_N + 5) + 16));
        g.w = test_region_new(sizeof(float) * MAX_MR * MAX_K);
    }
    static const size_t ks[] = {1, 2, 3, 7, 16, 40, 47, 80, 160, 320, 639, 640, 1279, 1280};
    static const size_t wide_ks[] = {1, 3, 40, 1280};
    static const size_t ns[] = {16, 32, 48, 80, 160, 320, 1008};
    const size_t mr = (size_t)kn->mr;
    int ok = 1;
    size_t n = 0;
    for (size_t ki = 0; ki < COUNT(ks); ki++)
        for (size_t rows = 1; rows <= mr; rows++)
            for (int v = 0; v < 8; v++, n++)
                ok &= gemm_case(kn, &g, ks[ki], rows, (size_t)kn->nr, v & 1, (v >> 1) & 1, (v >> 2) & 1);
    for (size_t ni = 0; ni < COUNT(ns); ni++)
        for (size_t ki = 0; ki < COUNT(wide_ks); ki++)
            for (size_t rows = 1; rows <= mr; rows += mr > 1 ? mr - 1 : 1, n++)
                ok &= gemm_case(kn, &g, wide_ks[ki], rows, ns[ni], 1, 1, rows & 1);
    ok &= gelu_sweep(kn, &g, &n);
    *cases = n;
    return ok;
}

void bf16_tests(int *passed, int *failed, char *case_buf, size_t case_len) {
    case_name = case_buf;
    case_size = case_len;
    size_t cases = 0;
    const int rounding_ok = test_rounding(&cases);
    test_report(rounding_ok, "bf16 rounding cnxk_bf16_from_f32", cases, passed, failed);
#if defined(__x86_64__)
    if (test_should_run("bf16 round rows, AVX512-BF16 prologue", 0, test_native_only,
                        cnxk_cpu_has(CNXK_ISA_AVX512BF16), "avx512bf16")) {
        cases = 0;
        const int round_ok = test_round_rows(cnxk_bf16_rounding(CNXK_ISA_AVX512BF16), &cases);
        test_report(round_ok, "bf16 round rows, AVX512-BF16 prologue", cases, passed, failed);
    }
#endif
    for (size_t i = 0; i < COUNT(kernels); i++) {
        const bf16_kernel *kn = &kernels[i];
        if (!test_should_run(kn->name, kn->emulated, test_native_only, kn->emulated || cnxk_cpu_has(kn->isa),
                             cnxk_isa_name(kn->isa)))
            continue;
        cases = 0;
#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
        amx_emu_faults = 0;
        amx_emu_first_fault[0] = 0;
#endif
        int ok = test_kernel(kn, &cases);
#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
        if (amx_emu_faults != 0) {
            printf("FAIL %s: %d tile instructions would have faulted; first: %s\n", kn->name, amx_emu_faults,
                   amx_emu_first_fault);
            ok = 0;
        }
#endif
        test_report(ok, kn->name, cases, passed, failed);
    }
}
