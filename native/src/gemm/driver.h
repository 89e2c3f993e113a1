// GotoBLAS/BLIS-style blocked GEMM driver and panel packers, templated on a kernel-traits type so
// that each per-ISA translation unit instantiates it with its own micro-kernel.
//
// Loop nest (row-major C): for ic (MB rows of A) / for pc (KC of K): pack A[ic.., pc..] into MR-row
// panels (shared, packed by all threads), then the threads share out
// the work items — (NB-column block, range of A panels), claimed dynamically — and for each packs
// its own B block (KC x NB, sized for L2) into NR-column panels and runs the micro-kernel over
// (A panel, B panel) pairs; the A micro-panel stays in L1 while the thread sweeps the B panels. Partial tiles go through a
// zero-padded scratch tile. Strided/transposed A and B are handled entirely by the packers.
//
// Kernel traits KT provide: MR, NR, KU (K elements per packed step: 1 for f32, 2 for bf16 pairs),
// KC, NB, MB, types PA/PB, pack_a / pack_b (one panel) and kernel(ksteps, a, b, c, ldc, acc).
//
// Deliberately does not: special-case small M (the dispatcher routes that to the mat-vec path).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#include "../threadpool.h"
#include "internal.h"
#include "vec.h"

namespace moss {
namespace gemm {

/** f32 panel packers (KU == 1), zero padding up to MR rows / NR columns. */
template <int MR, class TA>
inline void pack_a_f32(const TA* A, int64_t rs, int64_t cs, int rows, int64_t kc, float* dst) {
  if (rows < MR) std::memset(dst, 0, sizeof(float) * MR * kc);
  if (cs == 1) {
    for (int i = 0; i < rows; ++i) {
      const TA* a = A + i * rs;
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = widen(a[k]);
    }
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < rows; ++i) dst[k * MR + i] = widen(A[i * rs + k * cs]);
  }
}

template <int NR, class TB>
inline void pack_b_f32(const TB* B, int64_t rs, int64_t cs, int cols, int64_t kc, float* dst) {
  if (cols < NR) std::memset(dst, 0, sizeof(float) * NR * kc);
  if (cs == 1) {
    for (int64_t k = 0; k < kc; ++k) {
      const TB* b = B + k * rs;
      float* d = dst + k * NR;
      for (int j = 0; j < cols; ++j) d[j] = widen(b[j]);
    }
  } else {
    // Strided / transposed B: 16 k at a time so the 16 x NR destination tile and the NR source
    // lines being read both stay in L1 (a plain column-by-column copy thrashes it).
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int64_t k1 = std::min<int64_t>(kc, k0 + 16);
      for (int j = 0; j < cols; ++j) {
        const TB* b = B + j * cs;
        for (int64_t k = k0; k < k1; ++k) dst[k * NR + j] = widen(b[k * rs]);
      }
    }
  }
}

/** bf16 pair packers (KU == 2): element (kp, i) = x[2kp] | x[2kp+1] << 16, zero padded. */
template <int MR>
inline void pack_a_pairs(const uint16_t* A, int64_t rs, int64_t cs, int rows, int64_t kc,
                         uint32_t* dst) {
  const int64_t ks = (kc + 1) / 2;
  if (rows < MR) std::memset(dst, 0, sizeof(uint32_t) * MR * ks);
  for (int i = 0; i < rows; ++i) {
    const uint16_t* a = A + i * rs;
    for (int64_t kp = 0; kp < ks; ++kp) {
      uint32_t lo = a[2 * kp * cs];
      uint32_t hi = 2 * kp + 1 < kc ? a[(2 * kp + 1) * cs] : 0;
      dst[kp * MR + i] = lo | (hi << 16);
    }
  }
}

template <int NR>
inline void pack_b_pairs(const uint16_t* B, int64_t rs, int64_t cs, int cols, int64_t kc,
                         uint32_t* dst) {
  const int64_t ks = (kc + 1) / 2;
  if (cols < NR) std::memset(dst, 0, sizeof(uint32_t) * NR * ks);
  if (cs == 1) {
    for (int64_t kp = 0; kp < ks; ++kp) {
      const uint16_t* b0 = B + 2 * kp * rs;
      const uint16_t* b1 = b0 + rs;
      uint32_t* d = dst + kp * NR;
      if (2 * kp + 1 < kc) {
        for (int j = 0; j < cols; ++j) d[j] = b0[j] | (static_cast<uint32_t>(b1[j]) << 16);
      } else {
        for (int j = 0; j < cols; ++j) d[j] = b0[j];
      }
    }
  } else {
    for (int64_t p0 = 0; p0 < ks; p0 += 16) {  // 16 k-pairs at a time (see pack_b_f32)
      const int64_t p1 = std::min<int64_t>(ks, p0 + 16);
      for (int j = 0; j < cols; ++j) {
        const uint16_t* b = B + j * cs;
        for (int64_t kp = p0; kp < p1; ++kp) {
          uint32_t lo = b[2 * kp * rs];
          uint32_t hi = 2 * kp + 1 < kc ? b[(2 * kp + 1) * rs] : 0;
          dst[kp * NR + j] = lo | (hi << 16);
        }
      }
    }
  }
}

/** Blocked, threaded GEMM over kernel traits KT; TA/TB are the source element types. */
template <class KT, class TA, class TB>
void gemm_driver(int64_t M, int64_t N, int64_t K, const TA* A, int64_t rsa, int64_t csa,
                 const TB* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc) {
  constexpr int MR = KT::MR, NR = KT::NR, KU = KT::KU;
  using PA = typename KT::PA;
  using PB = typename KT::PB;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!acc)
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(float) * N);
    return;
  }
  const int T = num_threads();
  const int64_t np_all = (N + NR - 1) / NR;
  const int64_t kc_max = std::min<int64_t>(K, KT::KC);
  const int64_t ks_max = (kc_max + KU - 1) / KU;
  const int64_t mp_max = (std::min<int64_t>(M, KT::MB) + MR - 1) / MR;
  PA* apack = static_cast<PA*>(scratch(0, sizeof(PA) * mp_max * MR * ks_max));
  // Work items: (NB-column block) x (range of A panels), claimed dynamically so that a thread that
  // is descheduled (shared machine) or slower does not hold the others up. Enough items for
  // balance (>= 4 per thread where the shape allows), each packing its own B block.
  const int64_t bp = std::max<int64_t>(1, KT::NB / NR);  // panels per column block
  const int64_t nblk = (np_all + bp - 1) / bp;
  int64_t mblk = 1;
  while (nblk * mblk < 4 * T && (mp_max / (mblk * 2)) >= 8) mblk *= 2;

  for (int64_t ic = 0; ic < M; ic += KT::MB) {
    const int64_t mc = std::min<int64_t>(KT::MB, M - ic);
    const int64_t mp = (mc + MR - 1) / MR;
    for (int64_t pc = 0; pc < K; pc += KT::KC) {
      const int64_t kc = std::min<int64_t>(KT::KC, K - pc);
      const int64_t ks = (kc + KU - 1) / KU;
      const bool accum = acc || pc > 0;
      parallel_for(mp, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          int rows = static_cast<int>(std::min<int64_t>(MR, mc - p * MR));
          KT::pack_a(A + (ic + p * MR) * rsa + pc * csa, rsa, csa, rows, kc, apack + p * MR * ks);
        }
      });
      const int64_t items = nblk * mblk;
      std::atomic<int64_t> next{0};
      parallel_for(std::min<int64_t>(T, items), [&](int64_t, int64_t) {
        PB* bpack = static_cast<PB*>(scratch(1, sizeof(PB) * bp * NR * ks));
        for (;;) {
          const int64_t it = next.fetch_add(1, std::memory_order_relaxed);
          if (it >= items) break;
          const int64_t jb = (it / mblk) * bp, je = std::min(np_all, jb + bp);
          const int64_t mp0 = mp * (it % mblk) / mblk, mp1 = mp * (it % mblk + 1) / mblk;
          if (mp0 >= mp1) continue;
          for (int64_t q = jb; q < je; ++q) {
            int cols = static_cast<int>(std::min<int64_t>(NR, N - q * NR));
            KT::pack_b(B + pc * rsb + q * NR * csb, rsb, csb, cols, kc, bpack + (q - jb) * NR * ks);
          }
          for (int64_t p = mp0; p < mp1; ++p) {
            const int rows = static_cast<int>(std::min<int64_t>(MR, mc - p * MR));
            const PA* ap = apack + p * MR * ks;
            float* crow = C + (ic + p * MR) * ldc;
            for (int64_t q = jb; q < je; ++q) {
              const int cols = static_cast<int>(std::min<int64_t>(NR, N - q * NR));
              const PB* bq = bpack + (q - jb) * NR * ks;
              float* c = crow + q * NR;
              if (rows == MR && cols == NR) {
                KT::kernel(ks, ap, bq, c, ldc, accum);
              } else {
                alignas(64) float tile[MR * NR];
                KT::kernel(ks, ap, bq, tile, NR, false);
                for (int i = 0; i < rows; ++i)
                  for (int j = 0; j < cols; ++j)
                    c[i * ldc + j] = accum ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
              }
            }
          }
        }
      });
    }
  }
}

/** Generic f32 micro-kernel: MR rows x NV vectors, broadcast A, FMA with B. */
template <class V, int MR, int NV>
inline void ukernel_f32(int64_t ks, const float* a, const float* b, float* c, int64_t ldc,
                        bool acc) {
  typename V::reg r[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) r[i][j] = V::zero();
  for (int64_t k = 0; k < ks; ++k) {
    typename V::reg bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * V::W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      typename V::reg av = V::set1(a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) r[i][j] = V::fma(av, bv[j], r[i][j]);
    }
    a += MR;
    b += NV * V::W;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* p = c + i * ldc + j * V::W;
      V::store(p, acc ? V::add(V::load(p), r[i][j]) : r[i][j]);
    }
}

/** Traits for an f32 kernel (A and B widened to f32 while packing). */
template <class V, int MR_, int NV, int KC_, int NB_, int MB_>
struct F32Traits {
  static constexpr int MR = MR_, NR = NV * V::W, KU = 1;
  static constexpr int64_t KC = KC_, NB = NB_, MB = MB_;
  using PA = float;
  using PB = float;
  template <class T>
  static void pack_a(const T* A, int64_t rs, int64_t cs, int rows, int64_t kc, float* d) {
    pack_a_f32<MR>(A, rs, cs, rows, kc, d);
  }
  template <class T>
  static void pack_b(const T* B, int64_t rs, int64_t cs, int cols, int64_t kc, float* d) {
    pack_b_f32<NR>(B, rs, cs, cols, kc, d);
  }
  static void kernel(int64_t ks, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
    ukernel_f32<V, MR, NV>(ks, a, b, c, ldc, acc);
  }
};

}  // namespace gemm
}  // namespace moss
