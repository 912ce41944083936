// The bf16 part of the standalone C kernel test (bf16_test.c), called from kernel_test.c's main.
#pragma once
#include <stddef.h>

/// Runs the bf16 rounding, packing and GEMM tile tests, printing one PASS / SKIP / FAIL line per
/// kernel (failure details on stderr), and adds the PASS and FAIL lines to *passed and *failed.
/// case_buf (case_len bytes) always describes the running case, for the SIGSEGV handler.
void bf16_tests(int *passed, int *failed, char *case_buf, size_t case_len);
