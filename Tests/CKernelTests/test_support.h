// Scaffolding shared by the parts of the standalone C kernel test (kernel_test.c, int8_test.c,
// bf16_test.c): guarded memory, the NaN sentinel, the xorshift generator, failure messages and
// the PASS / FAIL / SKIP lines.
//
// Everything here is static, so each test file keeps its own generator state (seeded by the
// file) and its own count of failure messages: every file draws the same numbers it drew before.
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

// ---------------------------------------------------------------------------------------------
// Memory: regions that end right before a PROT_NONE page, so a read past the end faults.

/// A read/write region of whole pages followed by a PROT_NONE page.
typedef struct {
    unsigned char *base;
    size_t bytes;
} test_region;

/// At least `bytes` (whole pages, at least one) of read/write memory right before a PROT_NONE
/// page; exits with status 2 when the mapping fails.
static inline test_region test_region_new(size_t bytes) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (bytes + page - 1) / page * page;
    if (rounded == 0) rounded = page;
    unsigned char *p = mmap(NULL, rounded + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p + rounded, page, PROT_NONE) != 0) {
        perror("mmap");
        exit(2);
    }
    return (test_region){p, rounded};
}

/// The last `bytes` bytes of the region (right before its guard page).
static inline void *test_region_tail(const test_region *r, size_t bytes) {
    if (bytes > r->bytes) {
        fprintf(stderr, "region too small\n");
        exit(2);
    }
    return r->base + r->bytes - bytes;
}

// ---------------------------------------------------------------------------------------------
// The NaN sentinel: written wherever a kernel must not read (reading it poisons the result) or
// write (checked bit for bit afterwards).

#define TEST_SENTINEL_BITS 0x7fc0deadu

static inline float test_sentinel(void) {
    const uint32_t bits = TEST_SENTINEL_BITS;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline int test_is_sentinel(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u == TEST_SENTINEL_BITS;
}

static inline void test_fill_sentinel(float *p, size_t n) {
    const float s = test_sentinel();
    for (size_t i = 0; i < n; i++) p[i] = s;
}

// ---------------------------------------------------------------------------------------------
// Random numbers and reference helpers.

/// One xorshift64 step of *state; returns the new state.
static inline uint64_t test_xorshift(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/// Uniform in [-1, 1) from the top 53 bits of the next state.
static inline float test_frand53(uint64_t *state) {
    return (float)((double)(test_xorshift(state) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/// GELU with erf, in double: the reference of every GELU epilogue.
static inline double test_gelu_exact(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

static inline double test_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Reporting.

static int test_failures_reported;

/// Prints "FAIL <case>: <message>" on stderr for the first `limit` failures of this file; later
/// ones are only counted (the first ones say what is wrong, the rest would flood the log).
__attribute__((format(printf, 3, 4))) static inline void test_failf(int limit, const char *case_name,
                                                                    const char *format, ...) {
    if (test_failures_reported++ >= limit) return;
    va_list args;
    va_start(args, format);
    fprintf(stderr, "FAIL %s: ", case_name);
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
}

/// A value outside its tolerance (tol 0: a value that must be exact), one of the first 20.
static inline void test_fail_value(const char *case_name, const char *what, double got, double want, double tol) {
    test_failf(20, case_name, "%s got %.9g want %.9g (tol %.3g)", what, got, want, tol);
}

/// Prints "PASS <name> (<cases> cases)" or "FAIL ..." and counts it in *passed or *failed.
static inline void test_report(int ok, const char *name, size_t cases, int *passed, int *failed) {
    printf("%s %s (%zu cases)\n", ok ? "PASS" : "FAIL", name, cases);
    fflush(stdout);
    ok ? ++*passed : ++*failed;
}

/// 1 when the kernel `name` is to run here; otherwise prints its SKIP line and returns 0.
/// emulated: built over a scalar emulation (skipped with --native-only); supported: the CPU has
/// the ISA, named isa_name in the SKIP line.
/// --only SUBSTRING: kernel tests whose name lacks it are skipped (NULL: run every one).
extern const char *test_only;

static inline int test_should_run(const char *name, int emulated, int native_only, int supported,
                                  const char *isa_name) {
    if (test_only && !strstr(name, test_only)) {
        printf("SKIP %s: not selected by --only %s\n", name, test_only);
        return 0;
    }
    if (native_only && emulated) {
        printf("SKIP %s: emulated kernels run in the native test only (--native-only)\n", name);
        return 0;
    }
    if (!supported) {
        printf("SKIP %s: CPU lacks %s\n", name, isa_name);
        fflush(stdout);
        return 0;
    }
    return 1;
}
