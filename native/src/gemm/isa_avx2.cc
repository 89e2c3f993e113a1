// AVX2 + FMA instantiation of the GEMM / mat-vec kernels (compiled with -mavx2 -mfma; only called
// when the CPU supports both). f32 micro-kernel 6 x 16 (12 ymm accumulators); bf16 is widened to
// f32 while packing.
//
// Deliberately does not: use AVX-VNNI / AVX-NE-CONVERT.
#include "isa_common.h"

namespace moss {
namespace gemm {
namespace {
using F32T = F32Traits<V256, 6, 2, 256, 256, 3072>;
}  // namespace

const Impl* impl_avx2() {
  static const Impl impl = {
      "avx2",
      gemm_entry<F32T, float, float>,
      gemm_entry<F32T, uint16_t, uint16_t>,
      gemm_entry<F32T, float, uint16_t>,
      small_any<V256, float>,
      small_any<V256, uint16_t>,
      fma_loop<V256>,
      sum_f32<V256>,
      gemm_entry<F32T, float, f16>,
      small_any<V256, f16>,
  };
  return &impl;
}

}  // namespace gemm
}  // namespace moss
