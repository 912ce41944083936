// Standalone test (and small benchmark) of the f32 GEMM and 7x7 depthwise micro-kernels,
// (int8_test.c) of the int8 GEMM, LayerNorm and quantisation kernels, and (bf16_test.c) of the
// bf16 rounding, packing and GEMM tiles.
//
// Every kernel of this architecture that the CPU supports runs against a double-precision
// reference over the shapes the model uses. Inputs end right before a PROT_NONE page, so a read
// past the last valid A row / B row / bias / offset / input window faults; unused memory inside
// the buffers is NaN, so reading a wrong element poisons the result; the output buffers hold a
// NaN sentinel everywhere a kernel must not write, checked bit for bit afterwards.
//
//   kernel_test            run the tests; prints "C kernel tests: N passed, M failed"
//   kernel_test --bench    also time the kernels (informational GFLOP/s, never a failure)
//   kernel_test --only S   test only the kernels whose name contains S (the others print SKIP)
//
// Built with -DCNXK_TEST_AVX512_EMULATION (see scripts/test-c-kernels), it also tests the AVX-512
// kernel sources compiled a second time over scalar emulation (avx512_emulation.h), with their
// functions renamed emu_*, on any x86-64 CPU.
#define _GNU_SOURCE
#include <signal.h>

#include "../../Sources/CConvNeXtKernels/cnxk_internal.h"
#include "bf16_test.h"
#include "int8_test.h"
#include "test_support.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

enum { ISA_PORTABLE, ISA_AVX2, ISA_AVX512, ISA_NEON, ISA_EMULATED };
static const char *const isa_names[] = {"portable", "avx2+fma", "avx512f/bw/vl/dq", "neon", "emulated"};

#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
#define EMULATED_GEMM(name) void emu_cnxk_f32_gemm_##name##__avx512(const cnxk_f32_gemm_tile *t);
EMULATED_GEMM(8x48) EMULATED_GEMM(8x32) EMULATED_GEMM(8x16) EMULATED_GEMM(1x48) EMULATED_GEMM(1x32) EMULATED_GEMM(1x16)
#undef EMULATED_GEMM
void emu_cnxk_f32_dwconv7x7_8p16c__avx512(const cnxk_f32_dwconv_args *a);
#endif

typedef struct {
    const char *name;
    int isa, mr, nr;
    cnxk_f32_gemm_fn fn;
} gemm_kernel;

typedef struct {
    const char *name;
    int isa, pixels_per_step, channels_per_step;
    cnxk_f32_dwconv_fn fn;
} dwconv_kernel;

static const gemm_kernel gemm_kernels[] = {
    {"f32_gemm_4x16__portable", ISA_PORTABLE, 4, 16, cnxk_f32_gemm_4x16__portable},
#if defined(__x86_64__)
    {"f32_gemm_6x16__avx2", ISA_AVX2, 6, 16, cnxk_f32_gemm_6x16__avx2},
    {"f32_gemm_1x16__avx2", ISA_AVX2, 1, 16, cnxk_f32_gemm_1x16__avx2},
    {"f32_gemm_8x48__avx512", ISA_AVX512, 8, 48, cnxk_f32_gemm_8x48__avx512},
    {"f32_gemm_8x32__avx512", ISA_AVX512, 8, 32, cnxk_f32_gemm_8x32__avx512},
    {"f32_gemm_8x16__avx512", ISA_AVX512, 8, 16, cnxk_f32_gemm_8x16__avx512},
    {"f32_gemm_1x48__avx512", ISA_AVX512, 1, 48, cnxk_f32_gemm_1x48__avx512},
    {"f32_gemm_1x32__avx512", ISA_AVX512, 1, 32, cnxk_f32_gemm_1x32__avx512},
    {"f32_gemm_1x16__avx512", ISA_AVX512, 1, 16, cnxk_f32_gemm_1x16__avx512},
#endif
#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
    {"f32_gemm_8x48__avx512 (emulated)", ISA_EMULATED, 8, 48, emu_cnxk_f32_gemm_8x48__avx512},
    {"f32_gemm_8x32__avx512 (emulated)", ISA_EMULATED, 8, 32, emu_cnxk_f32_gemm_8x32__avx512},
    {"f32_gemm_8x16__avx512 (emulated)", ISA_EMULATED, 8, 16, emu_cnxk_f32_gemm_8x16__avx512},
    {"f32_gemm_1x48__avx512 (emulated)", ISA_EMULATED, 1, 48, emu_cnxk_f32_gemm_1x48__avx512},
    {"f32_gemm_1x32__avx512 (emulated)", ISA_EMULATED, 1, 32, emu_cnxk_f32_gemm_1x32__avx512},
    {"f32_gemm_1x16__avx512 (emulated)", ISA_EMULATED, 1, 16, emu_cnxk_f32_gemm_1x16__avx512},
#endif
#if defined(__aarch64__)
    {"f32_gemm_6x16__neon", ISA_NEON, 6, 16, cnxk_f32_gemm_6x16__neon},
    {"f32_gemm_1x16__neon", ISA_NEON, 1, 16, cnxk_f32_gemm_1x16__neon},
#endif
};

static const dwconv_kernel dwconv_kernels[] = {
    {"f32_dwconv7x7_4p16c__portable", ISA_PORTABLE, 4, 16, cnxk_f32_dwconv7x7_4p16c__portable},
#if defined(__x86_64__)
    {"f32_dwconv7x7_8p8c__avx2", ISA_AVX2, 8, 8, cnxk_f32_dwconv7x7_8p8c__avx2},
    {"f32_dwconv7x7_8p16c__avx512", ISA_AVX512, 8, 16, cnxk_f32_dwconv7x7_8p16c__avx512},
#endif
#if defined(CNXK_TEST_AVX512_EMULATION) && defined(__x86_64__)
    {"f32_dwconv7x7_8p16c__avx512 (emulated)", ISA_EMULATED, 8, 16, emu_cnxk_f32_dwconv7x7_8p16c__avx512},
#endif
#if defined(__aarch64__)
    {"f32_dwconv7x7_4p16c__neon", ISA_NEON, 4, 16, cnxk_f32_dwconv7x7_4p16c__neon},
#endif
};

static int cpu_has(int isa) {
    switch (isa) {
    case ISA_PORTABLE:
    case ISA_EMULATED:
        return 1;
#if defined(__x86_64__)
    case ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
#if defined(__aarch64__)
    case ISA_NEON:
        return 1;
#endif
    default:
        return 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Memory (guarded regions of test_support.h) and random numbers.

/// n floats ending `gap` floats before the guard page; the whole span (and the gap) is NaN.
static float *arena_floats(test_region *ar, size_t n, size_t gap) {
    float *p = test_region_tail(ar, (n + gap) * sizeof(float));
    test_fill_sentinel(p, n + gap);
    return p;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/// Uniform in [-1, 1).
static float frand(void) { return test_frand53(&rng_state); }

// A fault in a kernel is a test failure: say which case, then exit non-zero.
static char current_case[256];

static void on_fault(int sig) {
    (void)sig;
    static const char msg[] = "FAIL out-of-bounds access (SIGSEGV) in ";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, current_case, strlen(current_case));
    w = write(2, "\n", 1);
    (void)w;
    _exit(1);
}

// ---------------------------------------------------------------------------------------------
// GEMM tests.

static const size_t gemm_ks[] = {1, 3, 16, 40, 48, 80, 160, 320, 640, 1280};
enum { MAX_K = 1280, MAX_MR = 8, MAX_NR = 48 };

typedef struct {
    test_region a, b, bias, offsets, c, res;
} gemm_arenas;

static void report_failure(const char *what, double got, double want, double tol) {
    test_fail_value(current_case, what, got, want, tol);
}

/// One tile call; returns 1 when every output and every sentinel is right.
static int gemm_case(const gemm_kernel *kn, gemm_arenas *ar, size_t k, size_t rows, int gelu, int residual,
                     int use_offsets, size_t misalign) {
    const size_t mr = (size_t)kn->mr, nr = (size_t)kn->nr;
    const size_t lda = k + 3;
    snprintf(current_case, sizeof current_case, "%s k=%zu rows=%zu gelu=%d residual=%d offsets=%d misalign=%zu",
             kn->name, k, rows, gelu, residual, use_offsets, misalign);

    // A: rows x k valid, the lda padding NaN, the last valid element right before the guard page.
    float *a = arena_floats(&ar->a, (rows - 1) * lda + k, 0);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < k; j++) a[r * lda + j] = frand();
    float *b = arena_floats(&ar->b, k * nr, misalign);
    for (size_t i = 0; i < k * nr; i++) b[i] = frand();
    float *bias = arena_floats(&ar->bias, nr, 0);
    for (size_t j = 0; j < nr; j++) bias[j] = 2.0f * frand();

    // C (and the residual) as a buffer of mr + 3 rows of ldc; rows at r * ldc or, with offsets,
    // in reverse order, shifted, one of them at a negative offset.
    const size_t ldc = nr + 5;
    const size_t cn = (mr + 3) * ldc + 16;
    const size_t origin = 2 * ldc + 7;
    ptrdiff_t *offsets = NULL;
    if (use_offsets) {
        float *f = arena_floats(&ar->offsets, rows * sizeof(ptrdiff_t) / sizeof(float), 0);
        offsets = (ptrdiff_t *)(void *)f;
        for (size_t r = 0; r < rows; r++) offsets[r] = ((ptrdiff_t)mr - 2 - (ptrdiff_t)r) * (ptrdiff_t)ldc + (ptrdiff_t)(r & 1) * 2;
    }
    float *cbuf = arena_floats(&ar->c, cn, 0);
    float *rbuf = arena_floats(&ar->res, cn, 0);
    ptrdiff_t row_off[MAX_MR];
    for (size_t r = 0; r < rows; r++) {
        row_off[r] = offsets ? offsets[r] : (ptrdiff_t)(r * ldc);
        for (size_t j = 0; j < nr; j++) rbuf[(ptrdiff_t)origin + row_off[r] + (ptrdiff_t)j] = frand();
    }

    cnxk_f32_gemm_tile t = {
        .k = k, .a = a, .lda = lda, .rows = rows, .b = b, .bias = bias, .c = cbuf + origin, .ldc = ldc,
        .c_row_offsets = offsets, .residual = residual ? rbuf + origin : NULL, .gelu = gelu,
    };
    kn->fn(&t);

    int ok = 1;
    static unsigned char written[(MAX_MR + 3) * (MAX_NR + 5) + 16];
    memset(written, 0, cn);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < nr; j++) {
            const size_t idx = (size_t)((ptrdiff_t)origin + row_off[r] + (ptrdiff_t)j);
            written[idx] = 1;
            double acc = bias[j], mag = fabs((double)bias[j]);
            for (size_t kk = 0; kk < k; kk++) {
                const double p = (double)a[r * lda + kk] * (double)b[kk * nr + j];
                acc += p;
                mag += fabs(p);
            }
            double tol = 1e-5 * (1.0 + mag);
            if (gelu) {
                acc = test_gelu_exact(acc);
                tol += 3e-6;
            }
            if (residual) {
                acc += rbuf[idx];
                tol += 1e-6 * fabs((double)rbuf[idx]);
            }
            const double got = cbuf[idx];
            if (!(fabs(got - acc) <= tol)) {
                report_failure("value", got, acc, tol);
                ok = 0;
            }
        }
    }
    for (size_t i = 0; i < cn; i++) {
        if (!written[i] && !test_is_sentinel(cbuf[i])) {
            report_failure("write outside the tile", cbuf[i], NAN, 0);
            ok = 0;
            break;
        }
    }
    return ok;
}

/// GELU on a dense grid of [-10, 10] (as bias with k = 1 and zero B): against erf in double
/// within 3e-6, and against cnxk_gelu_scalar within 2e-6.
static int gemm_gelu_sweep(const gemm_kernel *kn, gemm_arenas *ar, size_t *cases) {
    const size_t mr = (size_t)kn->mr, nr = (size_t)kn->nr;
    snprintf(current_case, sizeof current_case, "%s gelu sweep", kn->name);
    float *a = arena_floats(&ar->a, mr, 0);
    for (size_t r = 0; r < mr; r++) a[r] = 1.0f;
    float *b = arena_floats(&ar->b, nr, 0);
    for (size_t j = 0; j < nr; j++) b[j] = 0.0f;
    float *bias = arena_floats(&ar->bias, nr, 0);
    float *c = arena_floats(&ar->c, mr * nr, 0);
    const int n = 20001;
    int ok = 1;
    for (int i0 = 0; i0 < n; i0 += (int)nr) {
        for (size_t j = 0; j < nr; j++) {
            const int i = i0 + (int)j < n ? i0 + (int)j : n - 1;
            bias[j] = (float)(-10.0 + 20.0 * i / (n - 1));
        }
        if (i0 == 0) bias[1] = 0.0f, bias[2] = -1e-20f, bias[3] = 3.9f * 1.41421356f;
        cnxk_f32_gemm_tile t = {.k = 1, .a = a, .lda = 1, .rows = mr, .b = b, .bias = bias, .c = c, .ldc = nr,
                                .c_row_offsets = NULL, .residual = NULL, .gelu = 1};
        kn->fn(&t);
        ++*cases;
        for (size_t r = 0; r < mr; r++) {
            for (size_t j = 0; j < nr; j++) {
                const float x = bias[j], got = c[r * nr + j];
                const double e1 = fabs(got - test_gelu_exact(x)), e2 = fabs(got - cnxk_gelu_scalar(x));
                if (!(e1 <= 3e-6)) report_failure("gelu vs erf", got, test_gelu_exact(x), 3e-6), ok = 0;
                if (!(e2 <= 2e-6)) report_failure("gelu vs scalar formula", got, cnxk_gelu_scalar(x), 2e-6), ok = 0;
            }
        }
    }
    return ok;
}

static int test_gemm(const gemm_kernel *kn, size_t *cases) {
    static gemm_arenas ar;
    static int init;
    if (!init) {
        init = 1;
        ar.a = test_region_new(MAX_MR * (MAX_K + 3) * sizeof(float));
        ar.b = test_region_new((MAX_K * MAX_NR + 4) * sizeof(float));
        ar.bias = test_region_new(MAX_NR * sizeof(float));
        ar.offsets = test_region_new(MAX_MR * sizeof(ptrdiff_t));
        ar.c = test_region_new(sizeof(float) * ((MAX_MR + 3) * (MAX_NR + 5) + 16));
        ar.res = test_region_new(sizeof(float) * ((MAX_MR + 3) * (MAX_NR + 5) + 16));
    }
    int ok = 1;
    size_t n = 0;
    for (size_t ki = 0; ki < COUNT(gemm_ks); ki++)
        for (size_t rows = 1; rows <= (size_t)kn->mr; rows++)
            for (int v = 0; v < 8; v++, n++)
                ok &= gemm_case(kn, &ar, gemm_ks[ki], rows, v & 1, (v >> 1) & 1, (v >> 2) & 1, n & 1);
    ok &= gemm_gelu_sweep(kn, &ar, &n);
    *cases = n;
    return ok;
}

// ---------------------------------------------------------------------------------------------
// Depthwise tests.

static const size_t dw_channels[] = {16, 48, 80, 160, 320};
static const size_t dw_pixels[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 56, 28, 14, 7};
enum { MAX_C = 320, MAX_P = 56 };

/// One call over `pixels` outputs; `padded` puts NaN gaps between pixels, rows and taps.
static int dwconv_case(const dwconv_kernel *kn, size_t channels, size_t pixels, int padded) {
    static test_region in_ar, w_ar, b_ar, out_ar;
    if (!in_ar.base) {
        in_ar = test_region_new(sizeof(float) * (7 * (MAX_P + 6) * (MAX_C + 4) + 7 * 5 + 64));
        w_ar = test_region_new(sizeof(float) * (49 * (MAX_C + 3)));
        b_ar = test_region_new(sizeof(float) * MAX_C);
        out_ar = test_region_new(sizeof(float) * ((MAX_P + 1) * (MAX_C + 5)));
    }
    snprintf(current_case, sizeof current_case, "%s channels=%zu pixels=%zu padded=%d", kn->name, channels, pixels, padded);
    const size_t ps = channels + (padded ? 4 : 0);
    const size_t rs = (pixels + 6) * ps + (padded ? 5 : 0);
    const size_t wts = channels + (padded ? 3 : 0);
    const size_t ops = channels + (padded ? 5 : 0);

    // The last element of the last window ends right before the guard page.
    const size_t in_n = 6 * rs + (pixels + 5) * ps + channels;
    float *in = arena_floats(&in_ar, in_n, 0);
    for (size_t y = 0; y < 7; y++)
        for (size_t x = 0; x < pixels + 6; x++)
            for (size_t c = 0; c < channels; c++) in[y * rs + x * ps + c] = frand();
    float *w = arena_floats(&w_ar, 48 * wts + channels, 0);
    for (size_t tap = 0; tap < 49; tap++)
        for (size_t c = 0; c < channels; c++) w[tap * wts + c] = frand();
    float *bias = arena_floats(&b_ar, channels, 0);
    for (size_t c = 0; c < channels; c++) bias[c] = frand();
    const size_t out_n = pixels * ops + 16;
    float *out = arena_floats(&out_ar, out_n, 0);

    cnxk_f32_dwconv_args args = {
        .input = in, .input_row_stride = rs, .input_pixel_stride = ps, .weights = w, .weight_tap_stride = wts,
        .bias = bias, .output = out, .output_pixel_stride = ops, .pixels = pixels, .channels = channels,
    };
    kn->fn(&args);

    int ok = 1;
    for (size_t p = 0; p < pixels; p++) {
        for (size_t c = 0; c < channels; c++) {
            double acc = bias[c], mag = fabs((double)bias[c]);
            for (size_t ky = 0; ky < 7; ky++)
                for (size_t kx = 0; kx < 7; kx++) {
                    const double v = (double)in[ky * rs + (p + kx) * ps + c] * (double)w[(ky * 7 + kx) * wts + c];
                    acc += v;
                    mag += fabs(v);
                }
            const double tol = 1e-5 * (1.0 + mag), got = out[p * ops + c];
            if (!(fabs(got - acc) <= tol)) {
                report_failure("value", got, acc, tol);
                ok = 0;
            }
        }
    }
    for (size_t i = 0; i < out_n; i++) {
        const size_t p = i / ops, c = i % ops;
        if ((p >= pixels || c >= channels) && !test_is_sentinel(out[i])) {
            report_failure("write outside the outputs", out[i], NAN, 0);
            ok = 0;
            break;
        }
    }
    return ok;
}

static int test_dwconv(const dwconv_kernel *kn, size_t *cases) {
    int ok = 1;
    size_t n = 0;
    for (int padded = 0; padded < 2; padded++)
        for (size_t ci = 0; ci < COUNT(dw_channels); ci++)
            for (size_t pi = 0; pi < COUNT(dw_pixels); pi++, n++) ok &= dwconv_case(kn, dw_channels[ci], dw_pixels[pi], padded);
    *cases = n;
    return ok;
}

// ---------------------------------------------------------------------------------------------
// Benchmark (informational only).

static volatile float bench_sink;

// Register-only FMA loops: named variables (not arrays) so both compilers keep them in registers,
// and an empty asm per iteration so the loop is neither folded nor vectorised away.
#define FMA_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#if defined(__x86_64__)
/// 12 independent chains of 8-wide FMAs: more than FMA latency x FMA pipes on current cores.
__attribute__((target("avx2,fma"), noinline)) static void fma_loop_avx2(size_t iters) {
#define DECL(i) __m256 v##i = _mm256_set1_ps(1.0f + 1e-3f * (float)(i));
#define KEEP(i) __asm__ volatile("" : "+x"(v##i));
#define FMA(i) v##i = _mm256_fmadd_ps(v##i, m, add);
#define SUM(i) s = _mm256_add_ps(s, v##i);
    FMA_CHAINS(DECL)
    const __m256 m = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
    for (size_t it = 0; it < iters; it++) {
        FMA_CHAINS(KEEP)
        FMA_CHAINS(FMA)
    }
    __m256 s = _mm256_setzero_ps();
    FMA_CHAINS(SUM)
    bench_sink = _mm256_cvtss_f32(s);
#undef DECL
#undef KEEP
#undef FMA
#undef SUM
}
#endif
#if defined(__aarch64__)
/// 12 independent chains of 4-wide FMAs.
__attribute__((noinline)) static void fma_loop_neon(size_t iters) {
#define DECL(i) float32x4_t v##i = vdupq_n_f32(1.0f + 1e-3f * (float)(i));
#define KEEP(i) __asm__ volatile("" : "+w"(v##i));
#define FMA(i) v##i = vfmaq_f32(add, v##i, m);
#define SUM(i) s = vaddq_f32(s, v##i);
    FMA_CHAINS(DECL)
    const float32x4_t m = vdupq_n_f32(0.999999f), add = vdupq_n_f32(1e-7f);
    for (size_t it = 0; it < iters; it++) {
        FMA_CHAINS(KEEP)
        FMA_CHAINS(FMA)
    }
    float32x4_t s = vdupq_n_f32(0.0f);
    FMA_CHAINS(SUM)
    bench_sink = vgetq_lane_f32(s, 0);
#undef DECL
#undef KEEP
#undef FMA
#undef SUM
}
#endif

/// Peak single-core FMA GFLOP/s of the widest ISA the GEMMs here use (0 when unknown).
static double bench_fma_peak(void) {
#if defined(__x86_64__)
    if (!cpu_has(ISA_AVX2)) return 0;
    const size_t iters = 2000000;
    double best = 1e30;
    for (int rep = 0; rep < 25; rep++) {
        const double t0 = test_now_seconds();
        fma_loop_avx2(iters);
        const double dt = test_now_seconds() - t0;
        if (dt < best) best = dt;
    }
    const double gflops = (double)iters * 12 * 8 * 2 / best * 1e-9;
    printf("BENCH fma peak (avx2, 12 chains of 8-wide FMA, register only): %.1f GFLOP/s\n", gflops);
    return gflops;
#elif defined(__aarch64__)
    const size_t iters = 2000000;
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        const double t0 = test_now_seconds();
        fma_loop_neon(iters);
        const double dt = test_now_seconds() - t0;
        if (dt < best) best = dt;
    }
    const double gflops = (double)iters * 12 * 4 * 2 / best * 1e-9;
    printf("BENCH fma peak (neon, 12 chains of 4-wide FMA, register only): %.1f GFLOP/s\n", gflops);
    return gflops;
#else
    return 0;
#endif
}

/// Best time of fn(ctx) over 15 timings of >= 10 ms each: the minimum filters out interference
/// from other processes on a shared machine.
static double time_best(void (*fn)(void *), void *ctx) {
    fn(ctx);
    size_t reps = 1;
    for (;;) {
        const double t0 = test_now_seconds();
        for (size_t i = 0; i < reps; i++) fn(ctx);
        if (test_now_seconds() - t0 > 0.01) break;
        reps *= 2;
    }
    double best = 1e30;
    for (int r = 0; r < 15; r++) {
        const double t0 = test_now_seconds();
        for (size_t i = 0; i < reps; i++) fn(ctx);
        const double dt = (test_now_seconds() - t0) / (double)reps;
        if (dt < best) best = dt;
    }
    return best;
}

typedef struct {
    const gemm_kernel *kn;
    size_t m, k, n;
    const float *a, *b, *bias;
    float *c;
    int gelu;
} gemm_bench_ctx;

/// C (m x n) = A (m x k) B, B as n / nr k-major panels. When B fits in L2 the row tiles are the
/// outer loop (A tile in L1, B in L2); otherwise the panels are (each panel reused from L2).
static void gemm_bench_run(void *p) {
    const gemm_bench_ctx *g = p;
    const size_t mr = (size_t)g->kn->mr, nr = (size_t)g->kn->nr;
    const int rows_outer = g->k * g->n * sizeof(float) <= 256 * 1024;
    const size_t outer = rows_outer ? g->m : g->n, outer_step = rows_outer ? mr : nr;
    const size_t inner = rows_outer ? g->n : g->m, inner_step = rows_outer ? nr : mr;
    for (size_t o = 0; o < outer; o += outer_step) {
        for (size_t in = 0; in < inner; in += inner_step) {
            const size_t i0 = rows_outer ? o : in, j0 = rows_outer ? in : o;
            cnxk_f32_gemm_tile t = {.k = g->k, .a = g->a + i0 * g->k, .lda = g->k,
                                    .rows = g->m - i0 < mr ? g->m - i0 : mr, .b = g->b + j0 * g->k,
                                    .bias = g->bias + j0, .c = g->c + i0 * g->n + j0, .ldc = g->n,
                                    .c_row_offsets = NULL, .residual = NULL, .gelu = g->gelu};
            g->kn->fn(&t);
        }
    }
}

static void bench_gemm(const gemm_kernel *kn, size_t m, size_t k, size_t n, int gelu, double peak) {
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
    float *bias = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * m * n);
    for (size_t i = 0; i < m * k; i++) a[i] = frand();
    for (size_t i = 0; i < k * n; i++) b[i] = frand();
    for (size_t i = 0; i < n; i++) bias[i] = frand();
    gemm_bench_ctx g = {kn, m, k, n, a, b, bias, c, gelu};
    const double dt = time_best(gemm_bench_run, &g);
    const double gflops = 2.0 * (double)m * (double)k * (double)n / dt * 1e-9;
    printf("BENCH %-26s %5zux%-5zu x %5zux%-5zu%s %7.1f GFLOP/s", kn->name, m, k, k, n, gelu ? " +gelu" : "      ", gflops);
    if (peak > 0) printf("  %5.1f%% of peak", 100.0 * gflops / peak);
    printf("\n");
    free(a), free(b), free(bias), free(c);
}

typedef struct {
    const gemm_kernel *kn;
    cnxk_f32_gemm_tile t;
} tile_bench_ctx;

static void tile_bench_run(void *p) {
    const tile_bench_ctx *c = p;
    for (int i = 0; i < 100; i++) c->kn->fn(&c->t);
}

/// One full tile called over and over on the same (cache-resident) data: the kernel's own speed.
static void bench_tile(const gemm_kernel *kn, size_t k, int gelu, double peak) {
    const size_t mr = (size_t)kn->mr, nr = (size_t)kn->nr;
    float *a = malloc(sizeof(float) * mr * k), *b = malloc(sizeof(float) * k * nr);
    float *bias = malloc(sizeof(float) * nr), *c = malloc(sizeof(float) * mr * nr);
    for (size_t i = 0; i < mr * k; i++) a[i] = frand();
    for (size_t i = 0; i < k * nr; i++) b[i] = frand();
    for (size_t i = 0; i < nr; i++) bias[i] = frand();
    tile_bench_ctx ctx = {kn, {.k = k, .a = a, .lda = k, .rows = mr, .b = b, .bias = bias, .c = c, .ldc = nr,
                               .c_row_offsets = NULL, .residual = NULL, .gelu = gelu}};
    const double dt = time_best(tile_bench_run, &ctx) / 100;
    const double gflops = 2.0 * (double)(mr * nr * k) / dt * 1e-9;
    printf("BENCH %-26s one hot tile, k=%-4zu%s %7.1f GFLOP/s", kn->name, k, gelu ? " +gelu" : "      ", gflops);
    if (peak > 0) printf("  %5.1f%% of peak", 100.0 * gflops / peak);
    printf("\n");
    free(a), free(b), free(bias), free(c);
}

typedef struct {
    const dwconv_kernel *kn;
    size_t h, w, c;
    const float *in, *wt, *bias;
    float *out;
} dw_bench_ctx;

/// One 7x7 depthwise layer on an h x w x c image: one kernel call per output row.
static void dw_bench_run(void *p) {
    const dw_bench_ctx *d = p;
    const size_t ps = d->c, rs = (d->w + 6) * d->c;
    for (size_t y = 0; y < d->h; y++) {
        cnxk_f32_dwconv_args args = {.input = d->in + y * rs, .input_row_stride = rs, .input_pixel_stride = ps,
                                     .weights = d->wt, .weight_tap_stride = d->c, .bias = d->bias,
                                     .output = d->out + y * d->w * d->c, .output_pixel_stride = d->c,
                                     .pixels = d->w, .channels = d->c};
        d->kn->fn(&args);
    }
}

static void bench_dwconv(const dwconv_kernel *kn, size_t h, size_t w, size_t c, double peak) {
    const size_t in_n = (h + 6) * (w + 6) * c;
    float *in = malloc(sizeof(float) * in_n), *wt = malloc(sizeof(float) * 49 * c);
    float *bias = malloc(sizeof(float) * c), *out = malloc(sizeof(float) * h * w * c);
    for (size_t i = 0; i < in_n; i++) in[i] = frand();
    for (size_t i = 0; i < 49 * c; i++) wt[i] = frand();
    for (size_t i = 0; i < c; i++) bias[i] = frand();
    dw_bench_ctx d = {kn, h, w, c, in, wt, bias, out};
    const double dt = time_best(dw_bench_run, &d);
    const double gflops = 2.0 * 49 * (double)(h * w * c) / dt * 1e-9;
    printf("BENCH %-30s %3zux%-3zux%-4zu %7.1f GFLOP/s", kn->name, h, w, c, gflops);
    if (peak > 0) printf("  %5.1f%% of peak", 100.0 * gflops / peak);
    printf("\n");
    free(in), free(wt), free(bias), free(out);
}

static void run_bench(void) {
    const double peak = bench_fma_peak();
    // (m, k, n) of the model's pointwise layers: 56x56, 28x28, 14x14, 7x7 pixels.
    static const size_t shapes[][3] = {
        {3136, 40, 160}, {3136, 160, 40}, {784, 80, 320}, {784, 320, 80},
        {196, 160, 640}, {196, 640, 160}, {49, 320, 1280}, {49, 1280, 320},
    };
    for (size_t i = 0; i < COUNT(gemm_kernels); i++) {
        const gemm_kernel *kn = &gemm_kernels[i];
        if (!cpu_has(kn->isa) || kn->isa == ISA_EMULATED) continue;
        for (size_t s = 0; s < COUNT(shapes); s++) {
            if (shapes[s][2] % (size_t)kn->nr) continue;
            bench_gemm(kn, shapes[s][0], shapes[s][1], shapes[s][2], 0, peak);
        }
        bench_gemm(kn, 3136, 40, 160, 1, peak);
        bench_tile(kn, 40, 0, peak);
        bench_tile(kn, 40, 1, peak);
        bench_tile(kn, 320, 0, peak);
        bench_tile(kn, 1280, 0, peak);
    }
    static const size_t dw_shapes[][3] = {{56, 56, 48}, {28, 28, 80}, {14, 14, 160}, {7, 7, 320}};
    for (size_t i = 0; i < COUNT(dwconv_kernels); i++) {
        const dwconv_kernel *kn = &dwconv_kernels[i];
        if (!cpu_has(kn->isa) || kn->isa == ISA_EMULATED) continue;
        for (size_t s = 0; s < COUNT(dw_shapes); s++) bench_dwconv(kn, dw_shapes[s][0], dw_shapes[s][1], dw_shapes[s][2], peak);
    }
}

// ---------------------------------------------------------------------------------------------

int test_native_only = 0;
const char *test_only = NULL;

int main(int argc, char **argv) {
    int bench = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bench") == 0) {
            bench = 1;
        } else if (strcmp(argv[i], "--native-only") == 0) {
            test_native_only = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            test_only = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--bench] [--native-only] [--only SUBSTRING]\n", argv[0]);
            return 2;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    int passed = 0, failed = 0;
    for (size_t i = 0; i < COUNT(gemm_kernels); i++) {
        const gemm_kernel *kn = &gemm_kernels[i];
        if (!test_should_run(kn->name, kn->isa == ISA_EMULATED, test_native_only, cpu_has(kn->isa), isa_names[kn->isa]))
            continue;
        size_t cases = 0;
        const int ok = test_gemm(kn, &cases);
        test_report(ok, kn->name, cases, &passed, &failed);
    }
    for (size_t i = 0; i < COUNT(dwconv_kernels); i++) {
        const dwconv_kernel *kn = &dwconv_kernels[i];
        if (!test_should_run(kn->name, kn->isa == ISA_EMULATED, test_native_only, cpu_has(kn->isa), isa_names[kn->isa]))
            continue;
        size_t cases = 0;
        const int ok = test_dwconv(kn, &cases);
        test_report(ok, kn->name, cases, &passed, &failed);
    }
    // The portable scalar GELU entry point against erf in double.
    {
        int ok = 1;
        float x[2001];
        for (int i = 0; i < 2001; i++) x[i] = (float)(-10.0 + 0.01 * i);
        float y[2001];
        memcpy(y, x, sizeof x);
        cnxk_f32_gelu_portable(y, 2001);
        for (int i = 0; i < 2001; i++)
            if (!(fabs(y[i] - test_gelu_exact(x[i])) <= 3e-6)) ok = 0;
        test_report(ok, "f32_gelu__portable", 2001, &passed, &failed);
    }
    int8_tests(&passed, &failed, current_case, sizeof current_case);
    bf16_tests(&passed, &failed, current_case, sizeof current_case);
    if (bench) {
        run_bench();
        int8_bench();
    }
    printf("C kernel tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
