// Shared pieces that every per-ISA translation unit instantiates with its own vector type: the
// type-erased GEMM entry, the FMA peak loop and the streaming-read kernel used by the probes.
//
// Deliberately does not: choose an ISA (dispatch.cc does that).
#pragma once
#include <chrono>
#include <cstdint>

#include "driver.h"
#include "internal.h"
#include "small.h"
#include "vec.h"

namespace moss {
namespace gemm {

template <class KT, class TA, class TB>
void gemm_entry(int64_t M, int64_t N, int64_t K, const void* A, int64_t rsa, int64_t csa,
                const void* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc) {
  gemm_driver<KT, TA, TB>(M, N, K, static_cast<const TA*>(A), rsa, csa, static_cast<const TB*>(B),
                          rsb, csb, C, ldc, acc);
}

/** Sink for probe results (keeps the loops observable). */
inline volatile float g_sink = 0;

/** 12 independent FMA chains (covers latency x throughput on current x86), timed in slices.
 *  x and y come from volatiles so nothing can be folded; the chains live in named registers. */
template <class V>
double fma_loop(double seconds) {
  static volatile float vx = 0.9999999f, vy = 1e-7f;
  const typename V::reg x = V::set1(vx), y = V::set1(vy);
  // Distinct, opaque starting values so the compiler cannot merge chains.
  static volatile float v0 = 1.0f;
  typename V::reg r0 = V::set1(v0), r1 = V::set1(v0 + 1), r2 = V::set1(v0 + 2),
                  r3 = V::set1(v0 + 3), r4 = V::set1(v0 + 4), r5 = V::set1(v0 + 5),
                  r6 = V::set1(v0 + 6), r7 = V::set1(v0 + 7), r8 = V::set1(v0 + 8),
                  r9 = V::set1(v0 + 9), r10 = V::set1(v0 + 10), r11 = V::set1(v0 + 11);
  // Best rate over ~1 ms slices: the machine may be shared, and we want its peak.
  const auto t0 = std::chrono::steady_clock::now();
  auto ts = t0;
  double best = 0;
  constexpr int64_t kSlice = 1 << 16;
  for (;;) {
    for (int64_t it = 0; it < kSlice; ++it) {
      r0 = V::fma(r0, x, y), r1 = V::fma(r1, x, y), r2 = V::fma(r2, x, y);
      r3 = V::fma(r3, x, y), r4 = V::fma(r4, x, y), r5 = V::fma(r5, x, y);
      r6 = V::fma(r6, x, y), r7 = V::fma(r7, x, y), r8 = V::fma(r8, x, y);
      r9 = V::fma(r9, x, y), r10 = V::fma(r10, x, y), r11 = V::fma(r11, x, y);
    }
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - ts).count();
    if (dt > 0 && kSlice * 12.0 * V::W * 2 / dt > best) best = kSlice * 12.0 * V::W * 2 / dt;
    ts = now;
    if (std::chrono::duration<double>(now - t0).count() >= seconds) break;
  }
  typename V::reg s = V::add(V::add(V::add(r0, r1), V::add(r2, r3)),
                             V::add(V::add(r4, r5), V::add(r6, r7)));
  s = V::add(s, V::add(V::add(r8, r9), V::add(r10, r11)));
  g_sink = V::hsum(s);
  return best;
}

template <class V>
float sum_f32(const float* p, int64_t n) {
  typename V::reg a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  for (int64_t i = 0; i < n; i += 4 * V::W) {
    a0 = V::add(a0, V::load(p + i));
    a1 = V::add(a1, V::load(p + i + V::W));
    a2 = V::add(a2, V::load(p + i + 2 * V::W));
    a3 = V::add(a3, V::load(p + i + 3 * V::W));
  }
  return V::hsum(V::add(V::add(a0, a1), V::add(a2, a3)));
}

}  // namespace gemm
}  // namespace moss
