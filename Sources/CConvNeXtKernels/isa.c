// CPU feature detection (CPUID + XGETBV on x86-64, hwcaps on aarch64), read once, and the ISA cap
// that --isa and CONVNEXT_ISA set.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cnxk_internal.h"

#if defined(CNXK_X86)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif
#if defined(CNXK_ARM64) && defined(__linux__)
#include <sys/auxv.h>
#endif

static const char *const isa_names[CNXK_ISA_COUNT] = {
    "portable", "avx2", "avx512", "avx512vnni", "avx512bf16", "amx", "neon", "neondot",
};

static int32_t cpu_flags[CNXK_ISA_COUNT];
static char cpu_brand[49];
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static int32_t isa_cap = -1;  // -1: not set (no cap); read and written atomically

#if defined(CNXK_X86)
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/// Linux grants AMX tile data to a process only on request (ARCH_REQ_XCOMP_PERM, Linux 5.16+);
/// without it the first tile instruction faults. AMX counts as available only when the kernel
/// says yes and ARCH_GET_XCOMP_PERM then reports XTILEDATA as permitted; any refusal (older
/// kernel, seccomp, a signal stack too small for the tile state) leaves AMX off: no SIGILL.
static int request_amx_permission(void) {
#if defined(__linux__)
    const long arch_get_xcomp_perm = 0x1022, arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    if (syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) != 0) return 0;
    unsigned long permitted = 0;
    if (syscall(SYS_arch_prctl, arch_get_xcomp_perm, &permitted) != 0) return 0;
    return (permitted >> xfeature_xtiledata) & 1;
#else
    return 0;
#endif
}
#endif

static void detect(void) {
    cpu_flags[CNXK_ISA_PORTABLE] = 1;
#if defined(CNXK_X86)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const int os_avx = (xcr0 & 0x6) == 0x6;            // XMM and YMM state
    const int os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
    const int os_amx = (xcr0 & 0x60000) == 0x60000;     // XTILECFG, XTILEDATA (bits 17, 18)
    unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    if (__get_cpuid_count(7, 0, &a, &b7, &c7, &d7) && a >= 1) {
        // Sub-leaf 1 exists only when sub-leaf 0 reports it (EAX = the highest sub-leaf).
        unsigned b71, c71, d71;
        if (__get_cpuid_count(7, 1, &a71, &b71, &c71, &d71) == 0) a71 = 0;
    }
    const int avx2 = (b7 >> 5) & 1;
    const int avx512f = (b7 >> 16) & 1, avx512dq = (b7 >> 17) & 1, avx512bw = (b7 >> 30) & 1, avx512vl = (b7 >> 31) & 1;
    const int avx512vnni = (c7 >> 11) & 1, avx512bf16 = (a71 >> 5) & 1;
    // CPUID.(7,0):EDX bits 22, 24, 25.
    const int amx_bf16 = (d7 >> 22) & 1, amx_tile = (d7 >> 24) & 1, amx_int8 = (d7 >> 25) & 1;
    cpu_flags[CNXK_ISA_AVX2] = avx && fma && avx2 && os_avx;
    cpu_flags[CNXK_ISA_AVX512] = cpu_flags[CNXK_ISA_AVX2] && os_avx512 && avx512f && avx512dq && avx512bw && avx512vl;
    cpu_flags[CNXK_ISA_AVX512VNNI] = cpu_flags[CNXK_ISA_AVX512] && avx512vnni;
    cpu_flags[CNXK_ISA_AVX512BF16] = cpu_flags[CNXK_ISA_AVX512] && avx512bf16;
    // The permission is asked for last (and only on AMX hardware), once per process: it holds for
    // every thread. The AMX kernels' epilogues are AVX-512, hence the VNNI requirement.
    cpu_flags[CNXK_ISA_AMX] = cpu_flags[CNXK_ISA_AVX512VNNI] && os_amx && amx_tile && amx_int8 && amx_bf16 &&
                              request_amx_permission();
    unsigned brand[12];
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
        memcpy(cpu_brand, brand, 48);
        cpu_brand[48] = 0;
    }
#elif defined(CNXK_ARM64)
    cpu_flags[CNXK_ISA_NEON] = 1;  // Advanced SIMD is mandatory in ARMv8-A
#if defined(__linux__)
    const unsigned long hwcap = getauxval(AT_HWCAP);
    cpu_flags[CNXK_ISA_NEONDOT] = (hwcap >> 20) & 1;  // HWCAP_ASIMDDP
#endif
#endif
}

static void ensure_detected(void) { pthread_once(&detect_once, detect); }

/// ISAs of the architecture this code runs on, in cap order.
static int32_t is_native_architecture(int32_t isa) {
#if defined(CNXK_X86)
    return isa >= CNXK_ISA_PORTABLE && isa <= CNXK_ISA_AMX;
#elif defined(CNXK_ARM64)
    return isa == CNXK_ISA_PORTABLE || isa == CNXK_ISA_NEON || isa == CNXK_ISA_NEONDOT;
#else
    return isa == CNXK_ISA_PORTABLE;
#endif
}

const char *cnxk_isa_name(int32_t isa) {
    return isa >= 0 && isa < CNXK_ISA_COUNT ? isa_names[isa] : "?";
}

int32_t cnxk_isa_from_name(const char *name) {
    if (name == NULL) return -1;
    for (int32_t i = 0; i < CNXK_ISA_COUNT; i++)
        if (strcmp(name, isa_names[i]) == 0) return i;
    return -1;
}

int32_t cnxk_cpu_has(int32_t isa) {
    ensure_detected();
    return isa >= 0 && isa < CNXK_ISA_COUNT && is_native_architecture(isa) ? cpu_flags[isa] : 0;
}

int32_t cnxk_isa_enabled(int32_t isa) {
    if (!cnxk_cpu_has(isa)) return 0;
    const int32_t cap = __atomic_load_n(&isa_cap, __ATOMIC_ACQUIRE);
    return cap < 0 || isa <= cap || isa == CNXK_ISA_PORTABLE;
}

int32_t cnxk_set_isa_cap(int32_t isa) {
    if (!cnxk_cpu_has(isa)) return -1;
    __atomic_store_n(&isa_cap, isa, __ATOMIC_RELEASE);
    return 0;
}

int32_t cnxk_isa_cap_is_set(void) { return __atomic_load_n(&isa_cap, __ATOMIC_ACQUIRE) >= 0; }

int32_t cnxk_isa_cap(void) {
    const int32_t cap = __atomic_load_n(&isa_cap, __ATOMIC_ACQUIRE);
    if (cap >= 0) return cap;
    int32_t best = CNXK_ISA_PORTABLE;
    for (int32_t i = 0; i < CNXK_ISA_COUNT; i++)
        if (cnxk_cpu_has(i)) best = i;
    return best;
}

int32_t cnxk_apply_isa_environment(void) {
    const char *value = getenv("CONVNEXT_ISA");
    if (value == NULL || value[0] == 0) return 0;
    return cnxk_set_isa_cap(cnxk_isa_from_name(value));
}

const char *cnxk_cpu_brand(void) {
    ensure_detected();
    return cpu_brand;
}
