// The int8 part of the standalone C kernel test (int8_test.c), called from kernel_test.c's main.
// It also declares the options kernel_test.c parses for every part.
#pragma once
#include <stddef.h>

/// Runs the int8 GEMM, LayerNorm and helper tests, printing one PASS / SKIP / FAIL line per kernel
/// (failure details on stderr), and adds the PASS and FAIL lines to *passed and *failed.
/// case_buf (case_len bytes) always describes the running case, for the SIGSEGV handler.
void int8_tests(int *passed, int *failed, char *case_buf, size_t case_len);

/// Set by `kernel_test --native-only`: skip the kernels compiled over a scalar emulation (their
/// logic does not depend on the CPU, so runs under qemu need not repeat them).
extern int test_native_only;

/// Times the int8 GEMMs runnable on this CPU on a few layer shapes (GOP/s, a multiply-add
/// counted as 2), one thread; informational (for kernel_test --bench).
void int8_bench(void);
