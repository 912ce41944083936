/// Every hot loop of ConvNeXtKit: float and int8 micro-kernels with one variant per ISA behind a
/// portable one, the kernel table that chooses among them at run time, and CPU detection.
#pragma once
#include "cnxk_f32.h"
#include "cnxq_int8.h"
#include "cnxk_table.h"
