// What the AMX kernels (qu8-gemm/int8_gemm_amx.c, bf16-gemm/bf16-gemm-amx.c) share: the
// LDTILECFG operand and the compiler barrier between plain stores and the tile instructions.
#pragma once
#include <stdint.h>

/// The 64-byte LDTILECFG operand (palette 1).
typedef struct {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tile_config;

/// Orders plain stores before the tile instructions that read their memory (and tile stores
/// before the plain loads after them): gcc's tile intrinsics are asm statements that do not tell
/// the compiler which memory they touch.
#define AMX_MEMORY_BARRIER() __asm__ __volatile__("" ::: "memory")
