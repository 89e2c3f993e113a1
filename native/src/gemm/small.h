// Small-M (mat-vec, decode) path: memory-bound, so B is streamed exactly once with wide loads on
// all threads and never packed. Two layouts of B are handled:
//   rows  (csb == 1): B[k, n] = B[k*rsb + n]  — threads split K (contiguous row streams) into
//                     private partial C's, adding 4 rows of B at a time, then sum the partials.
//   dots  (rsb == 1): B[k, n] = B[n*csb + k]  — a row-major weight W[N,K] used as W^T (the
//                     PyTorch Linear layout); threads split N, 4 weight rows are dotted at once
//                     against up to 4 rows of A.
// Work is shared out in small pieces claimed dynamically (robust when a core is busy elsewhere).
// A is contiguous f32 [M,K] (the dispatcher copies/widens it). C has strides (rsc, csc).
//
// Deliberately does not: block for large M (that is the packed GEMM's job).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "../threadpool.h"
#include "internal.h"
#include "vec.h"

namespace moss {
namespace gemm {

/** parallel_for over [0, n) in `grain`-sized pieces claimed dynamically (a late thread takes fewer). */
template <class F>
void dynamic_for(int64_t n, int64_t grain, const F& fn) {
  const int64_t pieces = (n + grain - 1) / grain;
  std::atomic<int64_t> next{0};
  parallel_for(std::min<int64_t>(num_threads(), pieces), [&](int64_t, int64_t) {
    for (;;) {
      const int64_t p = next.fetch_add(1, std::memory_order_relaxed);
      if (p >= pieces) break;
      fn(p * grain, std::min(n, (p + 1) * grain));
    }
  });
}

template <class V>
inline typename V::reg ldv(const float* p) { return V::load(p); }
template <class V>
inline typename V::reg ldv(const uint16_t* p) { return V::loadw(p); }

template <class V, class TB>
void small_rows(int64_t M, int64_t N, int64_t K, const float* A, const TB* B, int64_t rsb,
                float* C, int64_t rsc, int64_t csc, int acc) {
  constexpr int W = V::W;
  // Threads take pieces of 64 rows of B (contiguous streams) and accumulate into their own
  // partial C; the partials are summed at the end. Within a piece, columns go in strips (whole
  // rows for small M: measured faster than L1-sized strips) so that the accumulator strip and 4 B
  // row segments stay within ~256 KiB (L2).
  constexpr int64_t kGrain = 64;
  const int64_t pieces = (K + kGrain - 1) / kGrain;
  const int64_t slots = std::min<int64_t>(num_threads(), pieces);
  float* part = static_cast<float*>(scratch(3, sizeof(float) * slots * M * N));
  const int64_t strip = std::max<int64_t>(64, (65536 / (M + 4)) & ~int64_t{63});
  std::atomic<int64_t> next{0};
  parallel_for(slots, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* pc = part + t * M * N;
      std::fill(pc, pc + M * N, 0.f);
      for (;;) {
        const int64_t piece = next.fetch_add(1, std::memory_order_relaxed);
        if (piece >= pieces) break;
        const int64_t k0 = piece * kGrain, k1 = std::min(K, k0 + kGrain);
        for (int64_t s0 = 0; s0 < N; s0 += strip) {
          const int64_t w = std::min(strip, N - s0), wv = w / W * W;
          int64_t k = k0;
          for (; k + 4 <= k1; k += 4) {
            const TB* r0 = B + k * rsb + s0;
            const TB* r1 = r0 + rsb;
            const TB* r2 = r1 + rsb;
            const TB* r3 = r2 + rsb;
            for (int64_t m = 0; m < M; ++m) {
              const float* a = A + m * K + k;
              float* am = pc + m * N + s0;
              const typename V::reg a0 = V::set1(a[0]), a1 = V::set1(a[1]), a2 = V::set1(a[2]),
                                    a3 = V::set1(a[3]);
              for (int64_t j = 0; j < wv; j += W) {
                typename V::reg x = V::load(am + j);
                x = V::fma(a0, ldv<V>(r0 + j), x);
                x = V::fma(a1, ldv<V>(r1 + j), x);
                x = V::fma(a2, ldv<V>(r2 + j), x);
                x = V::fma(a3, ldv<V>(r3 + j), x);
                V::store(am + j, x);
              }
              for (int64_t j = wv; j < w; ++j)
                am[j] += a[0] * widen(r0[j]) + a[1] * widen(r1[j]) + a[2] * widen(r2[j]) +
                         a[3] * widen(r3[j]);
            }
          }
          for (; k < k1; ++k) {
            const TB* r0 = B + k * rsb + s0;
            for (int64_t m = 0; m < M; ++m) {
              const float a0 = A[m * K + k];
              float* am = pc + m * N + s0;
              for (int64_t j = 0; j < w; ++j) am[j] += a0 * widen(r0[j]);
            }
          }
        }
      }
    }
  });
  parallel_for(N, [&](int64_t n0, int64_t n1) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = n0; n < n1; ++n) {
        float sum = 0.f;
        for (int64_t t = 0; t < slots; ++t) sum += part[(t * M + m) * N + n];
        float* c = C + m * rsc + n * csc;
        *c = acc ? *c + sum : sum;
      }
  });
}

// MG rows of A (1..4) against 4 weight rows at a time.
template <class V, int MG, class TB>
inline void dots_group(int64_t K, const float* A, const TB* Wt, int64_t csb, int64_t n0,
                       int64_t n1, float* C, int64_t rsc, int64_t csc, int acc) {
  constexpr int W = V::W;
  const int64_t kv = K / W * W;
  int64_t n = n0;
  for (; n < n1; n += 4) {
    const int nn = static_cast<int>(std::min<int64_t>(4, n1 - n));
    const TB* w[4];
    for (int t = 0; t < 4; ++t) w[t] = Wt + (n + std::min(t, nn - 1)) * csb;
    typename V::reg r[MG][4];
    for (int m = 0; m < MG; ++m)
      for (int t = 0; t < 4; ++t) r[m][t] = V::zero();
    for (int64_t k = 0; k < kv; k += W) {
      const typename V::reg w0 = ldv<V>(w[0] + k), w1 = ldv<V>(w[1] + k), w2 = ldv<V>(w[2] + k),
                            w3 = ldv<V>(w[3] + k);
      for (int m = 0; m < MG; ++m) {
        const typename V::reg a = V::load(A + m * K + k);
        r[m][0] = V::fma(a, w0, r[m][0]);
        r[m][1] = V::fma(a, w1, r[m][1]);
        r[m][2] = V::fma(a, w2, r[m][2]);
        r[m][3] = V::fma(a, w3, r[m][3]);
      }
    }
    for (int m = 0; m < MG; ++m)
      for (int t = 0; t < nn; ++t) {
        float s = V::hsum(r[m][t]);
        for (int64_t k = kv; k < K; ++k) s += A[m * K + k] * widen(w[t][k]);
        float* c = C + m * rsc + (n + t) * csc;
        *c = acc ? *c + s : s;
      }
  }
}

template <class V, class TB>
void small_dots(int64_t M, int64_t N, int64_t K, const float* A, const TB* B, int64_t csb,
                float* C, int64_t rsc, int64_t csc, int acc) {
  // Pieces of 64 weight rows (>= 64 x K contiguous elements), claimed dynamically.
  dynamic_for(N, 64, [&](int64_t n0, int64_t n1) {
    for (int64_t m = 0; m < M; m += 4) {
      const float* a = A + m * K;
      float* c = C + m * rsc;
      switch (std::min<int64_t>(4, M - m)) {
        case 1: dots_group<V, 1>(K, a, B, csb, n0, n1, c, rsc, csc, acc); break;
        case 2: dots_group<V, 2>(K, a, B, csb, n0, n1, c, rsc, csc, acc); break;
        case 3: dots_group<V, 3>(K, a, B, csb, n0, n1, c, rsc, csc, acc); break;
        default: dots_group<V, 4>(K, a, B, csb, n0, n1, c, rsc, csc, acc); break;
      }
    }
  });
}

/** SmallFn body: picks rows/dots by B's layout (the dispatcher guarantees one of them). */
template <class V, class TB>
void small_any(int64_t M, int64_t N, int64_t K, const float* A, const void* Bv, int64_t rsb,
               int64_t csb, float* C, int64_t rsc, int64_t csc, int acc) {
  const TB* B = static_cast<const TB*>(Bv);
  if (csb == 1)
    small_rows<V, TB>(M, N, K, A, B, rsb, C, rsc, csc, acc);
  else
    small_dots<V, TB>(M, N, K, A, B, csb, C, rsc, csc, acc);
}

}  // namespace gemm
}  // namespace moss
