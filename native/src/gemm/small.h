// Small-M (mat-vec, decode) path: memory-bound, so B is streamed exactly once with wide loads on
// all threads and never packed. Two layouts of B are handled:
//   rows  (csb == 1): B[k, n] = B[k*rsb + n]  — threads split N; each keeps an L1-resident f32
//                     accumulator strip per row of A and adds 4 rows of B at a time.
//   dots  (rsb == 1): B[k, n] = B[n*csb + k]  — a row-major weight W[N,K] used as W^T (the
//                     PyTorch Linear layout); threads split N, 4 weight rows are dotted at once
//                     against up to 4 rows of A.
// A is contiguous f32 [M,K] (the dispatcher copies/widens it). C has strides (rsc, csc).
//
// Deliberately does not: block for large M (that is the packed GEMM's job).
#pragma once
#include <algorithm>
#include <cstdint>

#include "../threadpool.h"
#include "vec.h"

namespace moss {
namespace gemm {

template <class V>
inline typename V::reg ldv(const float* p) { return V::load(p); }
template <class V>
inline typename V::reg ldv(const uint16_t* p) { return V::loadw(p); }

template <class V, class TB>
void small_rows(int64_t M, int64_t N, int64_t K, const float* A, const TB* B, int64_t rsb,
                float* C, int64_t rsc, int64_t csc, int acc) {
  constexpr int W = V::W;
  const int64_t nblk = (N + 63) / 64;  // 64-column blocks (one cache line of f32)
  parallel_for(nblk, [&](int64_t b0, int64_t b1) {
    const int64_t n0 = b0 * 64, n1 = std::min(N, b1 * 64);
    const int64_t strip = std::max<int64_t>(64, (2048 / std::max<int64_t>(M, 1)) & ~63);
    alignas(64) float accbuf[2048 + 64];
    for (int64_t s0 = n0; s0 < n1; s0 += strip) {
      const int64_t s1 = std::min(n1, s0 + strip);
      const int64_t w = s1 - s0, wv = w / W * W;
      std::fill(accbuf, accbuf + M * w, 0.f);
      int64_t k = 0;
      for (; k + 4 <= K; k += 4) {
        const TB* r0 = B + k * rsb + s0;
        const TB* r1 = r0 + rsb;
        const TB* r2 = r1 + rsb;
        const TB* r3 = r2 + rsb;
        for (int64_t m = 0; m < M; ++m) {
          const float* a = A + m * K + k;
          float* acc_m = accbuf + m * w;
          const typename V::reg a0 = V::set1(a[0]), a1 = V::set1(a[1]), a2 = V::set1(a[2]),
                                a3 = V::set1(a[3]);
          for (int64_t j = 0; j < wv; j += W) {
            typename V::reg x = V::load(acc_m + j);
            x = V::fma(a0, ldv<V>(r0 + j), x);
            x = V::fma(a1, ldv<V>(r1 + j), x);
            x = V::fma(a2, ldv<V>(r2 + j), x);
            x = V::fma(a3, ldv<V>(r3 + j), x);
            V::store(acc_m + j, x);
          }
          for (int64_t j = wv; j < w; ++j)
            acc_m[j] += a[0] * widen(r0[j]) + a[1] * widen(r1[j]) + a[2] * widen(r2[j]) +
                        a[3] * widen(r3[j]);
        }
      }
      for (; k < K; ++k) {
        const TB* r0 = B + k * rsb + s0;
        for (int64_t m = 0; m < M; ++m) {
          const float a0 = A[m * K + k];
          float* acc_m = accbuf + m * w;
          for (int64_t j = 0; j < w; ++j) acc_m[j] += a0 * widen(r0[j]);
        }
      }
      for (int64_t m = 0; m < M; ++m)
        for (int64_t j = 0; j < w; ++j) {
          float* c = C + m * rsc + (s0 + j) * csc;
          *c = acc ? *c + accbuf[m * w + j] : accbuf[m * w + j];
        }
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
  const int64_t ngrp = (N + 15) / 16;  // 16 weight rows per grain
  parallel_for(ngrp, [&](int64_t g0, int64_t g1) {
    const int64_t n0 = g0 * 16, n1 = std::min(N, g1 * 16);
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
