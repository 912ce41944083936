// Portable u8 x s8 GEMM kernels for any CPU (see int8_gemm_portable_impl.h).
#include <string.h>
#include "int8_kernels_internal.h"
#include "int8_scalar_math.h"

#define CNXQ_PORTABLE_TARGET
#define CNXQ_PORTABLE_SUFFIX portable
#include "int8_gemm_portable_impl.h"
