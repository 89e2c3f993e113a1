// Portable scalar instantiation of the GEMM / mat-vec kernels (no SIMD flags; the compiler may
// still auto-vectorise with the baseline ISA). 4 x 8 register tile.
//
// Deliberately does not: try to be fast; it is the fallback and the MOSS_NATIVE_ISA=scalar oracle.
#include "isa_common.h"

namespace moss {
namespace gemm {
namespace {
using F32T = F32Traits<V1, 4, 8, 256, 256, 1024>;
}  // namespace

const Impl* impl_scalar() {
  static const Impl impl = {
      "scalar",
      gemm_entry<F32T, float, float>,
      gemm_entry<F32T, uint16_t, uint16_t>,
      gemm_entry<F32T, float, uint16_t>,
      small_any<V1, float>,
      small_any<V1, uint16_t>,
      fma_loop<V1>,
      sum_f32<V1>,
      gemm_entry<F32T, float, f16>,
      small_any<V1, f16>,
  };
  return &impl;
}

}  // namespace gemm
}  // namespace moss
