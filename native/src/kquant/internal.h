// Internal interface between the k-quant driver (kquant.cc) and its per-ISA dot kernels (dot_*.cc,
// each compiled with its own SIMD flags from dot.inc). Not part of the C ABI.
#pragma once
#include <cstdint>

namespace moss::kq {

/** One activation super-block, as ggml's block_q8_K: x ~= d * qs, bsums[g] = sum of qs[16g..16g+15]. */
struct BlockQ8K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};

struct Kernels {
  const char* name;
  /** C[m, n] for m < M, n in [n0, n1): Q holds M quantized activation rows of nb blocks each (k-quants);
   *  A the f32 rows (iq4_nl reads those). */
  void (*tile)(int dtype, int64_t M, int64_t n0, int64_t n1, int64_t K, const BlockQ8K* Q, const float* A,
               int64_t lda, const uint8_t* W, int64_t w_row_bytes, float* C, int64_t ldc);
  /** Mat-mat tiles (tile.inc; nullptr at the scalar level): weight rows in tiles of `mm_rows`; 1 when
   *  `dtype` has them. */
  int mm_rows;
  bool (*mm_supports)(int dtype);
  /** C[m, n] for m < M and n in [t0 * mm_rows, min(N, t1 * mm_rows)): Q holds M q8_K rows of K / 256
   *  blocks; scratch holds mm_scratch_bytes(K) bytes (64-byte aligned) of this thread. */
  void (*mm)(int dtype, int64_t M, int64_t N, int64_t t0, int64_t t1, int64_t K, const BlockQ8K* Q, const uint8_t* W,
             int64_t w_row_bytes, float* C, int64_t ldc, void* scratch);
  size_t (*mm_scratch_bytes)(int64_t K);
  /** ggml's quantize_row_q8_K for nb blocks of 256 values, bit-equal to the scalar one in kquant.cc
   *  (nullptr: use that one). */
  void (*quantize_q8k)(const float* x, BlockQ8K* y, int64_t nb);
};

const Kernels* kernels_scalar();
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();

}  // namespace moss::kq
