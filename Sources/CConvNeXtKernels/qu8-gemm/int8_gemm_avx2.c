// The portable int8 kernels and LayerNorm built for AVX2 (Haswell, Zen): the same code and the
// same integer arithmetic with 256-bit vectors, so results are bit-identical to the portable build.
#if defined(__x86_64__)
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"

#define CNXQ_PORTABLE_TARGET __attribute__((target("avx2,fma")))
#define CNXQ_PORTABLE_SUFFIX avx2
#include "int8_gemm_portable_impl.h"

#define CNXQ_LN_TARGET __attribute__((target("avx2,fma")))
#define CNXQ_LN_NAME cnxq_layernorm_avx2
#include "int8_layernorm_impl.h"
#endif
