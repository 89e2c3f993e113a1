// Internal interface between the quant driver (quant.cc) and its per-ISA kernels (isa_*.cc, each
// compiled with its own SIMD flags from kernels.inc). Not part of the C ABI.
#pragma once
#include <cstdint>

namespace moss::quant {

/** One quantized activation block: 32 int8 values q with x ~= q * d. */
struct BlockA {
  float d;
  int8_t qs[32];
};

struct Kernels {
  const char* name;
  /** Quantizes nb blocks of x (32 * nb floats) into y (round half away from zero, d = amax/127). */
  void (*quantize_row)(const float* x, BlockA* y, int64_t nb);
  /** C[m, n] for m < M, n in [n0, n1): dots of activation rows A (M x nb blocks, row stride
   *  a_stride blocks) with weight rows of type qtype (0 q8_0, 1 q4_0). */
  void (*tile)(int qtype, int64_t M, int64_t n0, int64_t n1, int64_t nb, const BlockA* A, int64_t a_stride,
               const uint8_t* W, int64_t w_row_bytes, float* C, int64_t ldc);
};

const Kernels* kernels_scalar();
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();

}  // namespace moss::quant
