// Small-M (mat-vec, decode) path: memory-bound, so B is streamed exactly once with wide loads on
// all threads and never packed. Two layouts of B are handled:
//   rows  (csb == 1): B[k, n] = B[k*rsb + n]  — threads split K (contiguous row streams) into
//                     private partial C's (register tiles of 4 rows x 4 vectors), then sum them.
//   dots  (rsb == 1): B[k, n] = B[n*csb + k]  — a row-major weight W[N,K] used as W^T (the
//                     PyTorch Linear layout); threads split N, 4 weight rows are dotted at once
//                     against up to 4 rows of A (one row of A: one weight row after another, a
//                     single sequential stream).
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
template <class V>
inline typename V::reg ldv(const f16* p) { return V::loadw(p); }

// MG (1..4) rows of A x 4 vectors of columns of B over rows [k0, k1) of B, in registers; the
// result is added to the partial sums P (row stride N).
template <class V, int MG, class TB>
inline void rows_tile(int64_t k0, int64_t k1, const float* A, int64_t K, const TB* B, int64_t rsb,
                      int64_t j, float* P, int64_t N) {
  constexpr int W = V::W;
  typename V::reg r[MG][4];
  for (int m = 0; m < MG; ++m)
    for (int v = 0; v < 4; ++v) r[m][v] = V::zero();
  for (int64_t k = k0; k < k1; ++k) {
    const TB* b = B + k * rsb + j;
    const typename V::reg b0 = ldv<V>(b), b1 = ldv<V>(b + W), b2 = ldv<V>(b + 2 * W),
                          b3 = ldv<V>(b + 3 * W);
    for (int m = 0; m < MG; ++m) {
      const typename V::reg a = V::set1(A[m * K + k]);
      r[m][0] = V::fma(a, b0, r[m][0]);
      r[m][1] = V::fma(a, b1, r[m][1]);
      r[m][2] = V::fma(a, b2, r[m][2]);
      r[m][3] = V::fma(a, b3, r[m][3]);
    }
  }
  for (int m = 0; m < MG; ++m)
    for (int v = 0; v < 4; ++v) {
      float* p = P + m * N + j + v * W;
      V::store(p, V::add(V::load(p), r[m][v]));
    }
}

template <class V, class TB>
void small_rows(int64_t M, int64_t N, int64_t K, const float* A, const TB* B, int64_t rsb,
                float* C, int64_t rsc, int64_t csc, int acc) {
  constexpr int W = V::W;
  // Slots take pieces of 8 (M <= 4) or 16 rows of B (few concurrent streams for the
  // prefetchers: 64 measured 2x slower at M = 1) and accumulate into their own
  // partial C, which are summed at the end. Within a piece: register tiles of up to 4 rows of A
  // x 4 vectors of columns (B read directly, never packed: each element is used once per row).
  const int64_t kGrain = M <= 4 ? 8 : 16;
  const int64_t pieces = (K + kGrain - 1) / kGrain;
  const int64_t slots = std::min<int64_t>(num_threads(), pieces);
  float* part = static_cast<float*>(scratch(3, sizeof(float) * slots * M * N));
  const int64_t nv = N / (4 * W) * (4 * W);
  // Pieces are dealt to slots statically (t, t + slots, ...), not claimed: which partial sum a piece
  // lands in must not depend on timing, or results (and training runs) would not be reproducible.
  parallel_for(slots, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* pc = part + t * M * N;
      std::fill(pc, pc + M * N, 0.f);
      for (int64_t piece = t; piece < pieces; piece += slots) {
        const int64_t k0 = piece * kGrain, k1 = std::min(K, k0 + kGrain);
        for (int64_t j = 0; j < nv; j += 4 * W) {
          for (int64_t m = 0; m < M; m += 4) {
            const float* a = A + m * K;
            float* p = pc + m * N;
            switch (std::min<int64_t>(4, M - m)) {
              case 1: rows_tile<V, 1>(k0, k1, a, K, B, rsb, j, p, N); break;
              case 2: rows_tile<V, 2>(k0, k1, a, K, B, rsb, j, p, N); break;
              case 3: rows_tile<V, 3>(k0, k1, a, K, B, rsb, j, p, N); break;
              default: rows_tile<V, 4>(k0, k1, a, K, B, rsb, j, p, N); break;
            }
          }
        }
        for (int64_t m = 0; m < M; ++m)
          for (int64_t k = k0; k < k1; ++k) {
            const float a = A[m * K + k];
            const TB* b = B + k * rsb;
            float* p = pc + m * N;
            for (int64_t j = nv; j < N; ++j) p[j] += a * widen(b[j]);
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

// One row of A (decode) against weight rows [n0, n1) one after another: with csb == K the rows are
// ONE sequential stream, prefetched 512 bytes ahead (the 4-rows-at-once walk below reads 4 streams a
// row apart, and a row of K = 2048 halves is one 4 KiB page, where the hardware prefetchers stop).
// Measured on f16 / bf16 weights (M = 1, N = 90112, K = 2048, 2 threads): ~28 GB/s against ~25 for
// the 4-row walk, read probe ~31. 4 accumulators cover the FMA latency.
template <class V, class TB>
inline void dots_row1(int64_t K, const float* A, const TB* Wt, int64_t csb, int64_t n0, int64_t n1,
                      float* C, int64_t csc, int acc) {
  constexpr int W = V::W;
  const int64_t k4 = K / (4 * W) * (4 * W), kv = K / W * W;
  for (int64_t n = n0; n < n1; ++n) {
    const TB* w = Wt + n * csb;
    typename V::reg r0 = V::zero(), r1 = V::zero(), r2 = V::zero(), r3 = V::zero();
    int64_t k = 0;
    for (; k < k4; k += 4 * W) {
      for (int64_t o = 0; o < 4 * W * static_cast<int64_t>(sizeof(TB)); o += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(w + k) + 512 + o, 0, 3);
      r0 = V::fma(V::load(A + k), ldv<V>(w + k), r0);
      r1 = V::fma(V::load(A + k + W), ldv<V>(w + k + W), r1);
      r2 = V::fma(V::load(A + k + 2 * W), ldv<V>(w + k + 2 * W), r2);
      r3 = V::fma(V::load(A + k + 3 * W), ldv<V>(w + k + 3 * W), r3);
    }
    for (; k < kv; k += W) r0 = V::fma(V::load(A + k), ldv<V>(w + k), r0);
    float s = V::hsum(V::add(V::add(r0, r1), V::add(r2, r3)));
    for (; k < K; ++k) s += A[k] * widen(w[k]);
    float* c = C + n * csc;
    *c = acc ? *c + s : s;
  }
}

template <class V, class TB>
void small_dots(int64_t M, int64_t N, int64_t K, const float* A, const TB* B, int64_t csb,
                float* C, int64_t rsc, int64_t csc, int acc) {
  // Pieces of 64 weight rows (>= 64 x K contiguous elements), claimed dynamically.
  // For each 4 weight rows, all row groups of A run back to back, so those weight rows come from
  // memory once and from L1/L2 for the other groups: W is streamed once whatever M is.
  if (M == 1) {
    dynamic_for(N, 64, [&](int64_t n0, int64_t n1) { dots_row1<V>(K, A, B, csb, n0, n1, C, csc, acc); });
    return;
  }
  dynamic_for(N, 64, [&](int64_t n0, int64_t n1) {
    for (int64_t nb = n0; nb < n1; nb += 4) {
      const int64_t ne = std::min(n1, nb + 4);
      for (int64_t m = 0; m < M; m += 4) {
        const float* a = A + m * K;
        float* c = C + m * rsc;
        switch (std::min<int64_t>(4, M - m)) {
          case 1: dots_group<V, 1>(K, a, B, csb, nb, ne, c, rsc, csc, acc); break;
          case 2: dots_group<V, 2>(K, a, B, csb, nb, ne, c, rsc, csc, acc); break;
          case 3: dots_group<V, 3>(K, a, B, csb, nb, ne, c, rsc, csc, acc); break;
          default: dots_group<V, 4>(K, a, B, csb, nb, ne, c, rsc, csc, acc); break;
        }
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
