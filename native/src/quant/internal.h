// Internal interface between the quant driver (quant.cc) and its per-ISA kernels (isa_*.cc, each
// compiled with its own SIMD flags from kernels.inc). Not part of the C ABI.
#pragma once
#include <cstdint>

namespace moss::quant {

/** One quantized activation block: 32 int8 values q with x ~= q * d (scalar and avx2 levels). */
struct BlockA {
  float d;
  int8_t qs[32];
};

/**
 * A level's kernels. Each level chooses its own layout for a quantized activation row (the driver
 * only allocates row_bytes(nb) per row from a 64-byte aligned base); the values are always ggml's q8 blocks
 * (32 int8, f32 scale d = amax/127, round half away from zero), so every level computes the same sums.
 */
struct Kernels {
  const char* name;
  /** Bytes of one quantized activation row of nb blocks (rows are packed at this stride). */
  int64_t (*row_bytes)(int64_t nb);
  /** Quantizes nb blocks of x (32 * nb floats) into the row y, for weights of type qtype. */
  void (*quantize_row)(int qtype, const float* x, void* y, int64_t nb);
  /** C[m, n] for m < M, n in [n0, n1): dots of activation rows A (M rows, a_stride bytes apart)
   *  with weight rows of type qtype (0 q8_0, 1 q4_0). */
  void (*tile)(int qtype, int64_t M, int64_t n0, int64_t n1, int64_t nb, const void* A, int64_t a_stride,
               const uint8_t* W, int64_t w_row_bytes, float* C, int64_t ldc);
  /** Kernels for q4_0 / q8_0 weights repacked 16 rows at a time (x16_avx512.inc), or null at this level:
   *  prep_x16 quantizes one activation row of nb blocks into nb * 64 bytes; x16_tile computes
   *  C[m, 16g .. 16g + 15] for m < M and groups g in [g0, g1) of the repacked matrix X (288 bytes per
   *  16-row block). */
  void (*prep_x16)(const float* x, int64_t nb, void* out);
  void (*x16_tile)(int64_t M, int64_t g0, int64_t g1, int64_t nb, const void* A, const uint8_t* X, float* C, int64_t ldc);
  /** The same for q8_0 weights (544 bytes per 16-row block). */
  void (*prep_x16_q8)(const float* x, int64_t nb, void* out);
  void (*x16q8_tile)(int64_t M, int64_t g0, int64_t g1, int64_t nb, const void* A, const uint8_t* X, float* C, int64_t ldc);
};

/** Bytes of one prepared activation row for x16_tile (64 per block). */
inline int64_t x16_row_bytes(int64_t nb) { return nb * 64; }

const Kernels* kernels_scalar();
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();

}  // namespace moss::quant
