// AVX-512 instantiation of the GEMM / mat-vec kernels (compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512bf16 -mfma; only called when the CPU supports AVX-512F/BW/VL).
// f32: 12 x 32 micro-kernel (24 zmm accumulators, broadcast A, 2 B vectors per k).
// bf16: the same tile with vdpbf16ps on k-pairs (A pair broadcast as one 32-bit lane), so each
// instruction does two k steps. The bf16 kernel is only used when the CPU also reports
// AVX512_BF16 (dispatch.cc checks); otherwise bf16 is widened to f32 while packing.
//
// Deliberately does not: use AMX or VNNI int8 (no quantized blocks here).
#include "isa_common.h"

namespace moss {
namespace gemm {
namespace {

using F32T = F32Traits<V512, 12, 2, 384, 256, 3072>;

#if defined(__AVX512BF16__)
struct BF16T {
  static constexpr int MR = 12, NR = 32, KU = 2;
  static constexpr int64_t KC = 768, NB = 256, MB = 3072;
  using PA = uint32_t;
  using PB = uint32_t;
  static void pack_a(const uint16_t* A, int64_t rs, int64_t cs, int rows, int64_t kc, uint32_t* d) {
    pack_a_pairs<MR>(A, rs, cs, rows, kc, d);
  }
  static void pack_b(const uint16_t* B, int64_t rs, int64_t cs, int cols, int64_t kc, uint32_t* d) {
    pack_b_pairs<NR>(B, rs, cs, cols, kc, d);
  }
  static void kernel(int64_t ks, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc,
                     bool acc) {
    __m512 r[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < ks; ++k) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
      const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[i]));
        r[i][0] = _mm512_dpbf16_ps(r[i][0], av, b0);
        r[i][1] = _mm512_dpbf16_ps(r[i][1], av, b1);
      }
      a += MR;
      b += NR;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* p = c + i * ldc;
      if (acc) {
        r[i][0] = _mm512_add_ps(r[i][0], _mm512_loadu_ps(p));
        r[i][1] = _mm512_add_ps(r[i][1], _mm512_loadu_ps(p + 16));
      }
      _mm512_storeu_ps(p, r[i][0]);
      _mm512_storeu_ps(p + 16, r[i][1]);
    }
  }
};
#endif

}  // namespace

const Impl* impl_avx512() {
  static const Impl impl = {
#if defined(__AVX512BF16__)
      "avx512bf16",
      gemm_entry<F32T, float, float>,
      gemm_entry<BF16T, uint16_t, uint16_t>,
#else
      "avx512",
      gemm_entry<F32T, float, float>,
      gemm_entry<F32T, uint16_t, uint16_t>,
#endif
      gemm_entry<F32T, float, uint16_t>,
      small_any<V512, float>,
      small_any<V512, uint16_t>,
      fma_loop<V512>,
      sum_f32<V512>,
      gemm_entry<F32T, float, f16>,
      small_any<V512, f16>,
  };
  return &impl;
}

/** The same AVX-512 kernels but bf16 GEMM via widening (for CPUs without AVX512_BF16). */
const Impl* impl_avx512_nobf16() {
  static const Impl impl = {
      "avx512",
      gemm_entry<F32T, float, float>,
      gemm_entry<F32T, uint16_t, uint16_t>,
      gemm_entry<F32T, float, uint16_t>,
      small_any<V512, float>,
      small_any<V512, uint16_t>,
      fma_loop<V512>,
      sum_f32<V512>,
      gemm_entry<F32T, float, f16>,
      small_any<V512, f16>,
  };
  return &impl;
}

}  // namespace gemm
}  // namespace moss
