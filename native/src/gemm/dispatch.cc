// Public C ABI of gemm.h: picks the ISA implementation once (CPU detection + MOSS_NATIVE_ISA),
// routes small-M / small-N problems to the mat-vec path and everything else to the packed GEMM,
// and implements the machine-limit probes on plain std::threads.
//
// Deliberately does not: contain kernels (see isa_*.cc) or touch N-API (see ../addon.cc).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <type_traits>
#include <vector>

#include "../threadpool.h"
#include "gemm.h"
#include "internal.h"
#include "vec.h"

namespace moss {
namespace gemm {

const Impl* impl_avx512_nobf16();

namespace {

// M (or N) up to these goes to the mat-vec path (measured on Zen 4 against the packed GEMM):
// B as a transposed row-major weight (rsb == 1) / B row-major (csb == 1).
constexpr int64_t kSmallDots = 32, kSmallRows = 16;
inline int64_t small_limit(int64_t rsb, int64_t csb) {
  return rsb == 1 ? kSmallDots : csb == 1 ? kSmallRows : 0;
}

struct Selected {
  const Impl* impl;
  int level;
};

Selected select_impl() {
  int want = MOSS_ISA_AVX512;
  if (const char* e = std::getenv("MOSS_NATIVE_ISA")) {
    if (!std::strcmp(e, "scalar")) want = MOSS_ISA_SCALAR;
    else if (!std::strcmp(e, "avx2")) want = MOSS_ISA_AVX2;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool has512 = has2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const bool hasbf16 = has512 && __builtin_cpu_supports("avx512bf16");
  if (want >= MOSS_ISA_AVX512 && has512 && impl_avx512())
    return {hasbf16 ? impl_avx512() : impl_avx512_nobf16(), MOSS_ISA_AVX512};
  if (want >= MOSS_ISA_AVX2 && has2 && impl_avx2()) return {impl_avx2(), MOSS_ISA_AVX2};
#endif
  (void)want;
  return {impl_scalar(), MOSS_ISA_SCALAR};
}

const Selected& sel() {
  static const Selected s = select_impl();
  return s;
}

void zero_or_keep(int64_t M, int64_t N, float* C, int64_t rsc, int64_t csc, int acc) {
  if (acc) return;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * rsc + j * csc] = 0.f;
}

// Mat-vec path when B's layout allows it; A is widened into a contiguous buffer 32 rows at a time.
template <class TA, class TB>
bool try_small(int64_t M, int64_t N, int64_t K, const TA* A, int64_t rsa, int64_t csa,
               const TB* B, int64_t rsb, int64_t csb, float* C, int64_t rsc, int64_t csc,
               int acc) {
  if (csb != 1 && rsb != 1) return false;
  const Impl* im = sel().impl;
  const SmallFn f = std::is_same<TB, float>::value ? im->small_f32 : std::is_same<TB, f16>::value ? im->small_f16 : im->small_bf16;
  for (int64_t m0 = 0; m0 < M; m0 += 32) {
    const int64_t mc = M - m0 < 32 ? M - m0 : 32;
    float* buf = static_cast<float*>(scratch(2, sizeof(float) * mc * K));
    for (int64_t i = 0; i < mc; ++i)
      for (int64_t k = 0; k < K; ++k) buf[i * K + k] = widen(A[(m0 + i) * rsa + k * csa]);
    f(mc, N, K, buf, B, rsb, csb, C + m0 * rsc, rsc, csc, acc);
  }
  return true;
}

template <class TA, class TB>
void route(GemmFn packed, bool force_small, int64_t M, int64_t N, int64_t K, const TA* A,
           int64_t rsa, int64_t csa, const TB* B, int64_t rsb, int64_t csb, float* C,
           int64_t ldc, int acc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return zero_or_keep(M, N, C, ldc, 1, acc);
  if ((force_small || M <= small_limit(rsb, csb)) &&
      try_small(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, 1, acc))
    return;
  // Small N: C^T[N,M] = B^T[N,K] @ A^T[K,M] on the mat-vec path.
  if (!force_small && N <= small_limit(csa, rsa) && M > N &&
      try_small(N, M, K, B, csb, rsb, A, csa, rsa, C, 1, ldc, acc))
    return;
  packed(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
}

struct ScratchSlots {
  void* p[4] = {nullptr, nullptr, nullptr, nullptr};
  std::size_t cap[4] = {0, 0, 0, 0};
  ~ScratchSlots() {
    for (void* q : p) std::free(q);
  }
};

volatile float g_read_sink = 0;  // keeps the read probe's sums observable

void* aligned_bytes(std::size_t bytes) {
  return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
}

}  // namespace

void* scratch(int slot, std::size_t bytes) {
  thread_local ScratchSlots s;
  if (bytes > s.cap[slot]) {
    std::free(s.p[slot]);
    s.cap[slot] = bytes + bytes / 4;
    s.p[slot] = aligned_bytes(s.cap[slot]);
    if (!s.p[slot]) std::abort();
  }
  return s.p[slot];
}

}  // namespace gemm
}  // namespace moss

using namespace moss::gemm;

extern "C" {

int moss_gemm_isa(void) { return sel().level; }
const char* moss_gemm_isa_name(void) { return sel().impl->name; }

void moss_gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa,
                   const float* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc) {
  route(sel().impl->gemm_f32, false, M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
}

void moss_gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t rsa, int64_t csa,
                    const uint16_t* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc) {
  route(sel().impl->gemm_bf16, false, M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
}

void moss_gemm_f32_bf16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa,
                        const uint16_t* B, int64_t rsb, int64_t csb, float* C, int64_t ldc,
                        int acc) {
  route(sel().impl->gemm_f32_bf16, false, M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
}

void moss_gemm_f32_f16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa,
                       const uint16_t* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc) {
  route(sel().impl->gemm_f32_f16, false, M, N, K, A, rsa, csa, reinterpret_cast<const f16*>(B), rsb, csb, C, ldc, acc);
}

void moss_matvec_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa,
                     const float* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc) {
  route(sel().impl->gemm_f32, true, M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
}

void moss_matvec_f32_bf16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa,
                          int64_t csa, const uint16_t* B, int64_t rsb, int64_t csb, float* C,
                          int64_t ldc, int acc) {
  route(sel().impl->gemm_f32_bf16, true, M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, acc);
}

void moss_matvec_f32_f16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa,
                         int64_t csa, const uint16_t* B, int64_t rsb, int64_t csb, float* C,
                         int64_t ldc, int acc) {
  route(sel().impl->gemm_f32_f16, true, M, N, K, A, rsa, csa, reinterpret_cast<const f16*>(B), rsb, csb, C, ldc, acc);
}

double moss_probe_fma_gflops(int threads, double seconds) {
  if (threads <= 0) threads = moss::num_threads();
  std::vector<double> r(threads, 0.0);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] { r[t] = sel().impl->fma_loop(seconds); });
  double s = 0;
  for (int t = 0; t < threads; ++t) {
    ts[t].join();
    s += r[t];
  }
  return s / 1e9;
}

double moss_probe_read_gbps(int threads, int64_t bytes) {
  // The buffer (>> L3) is read in windows of ~64 MiB, each split over the threads of the pool and
  // timed on its own; the windows walk through the buffer so every read is cold. The best window
  // wins: on a shared machine that is the closest to what the memory system can deliver.
  if (threads <= 0) threads = moss::num_threads();
  constexpr int64_t kWin = 16 << 20;  // floats per window (64 MiB)
  const int64_t nwin = bytes / 4 / kWin < 2 ? 2 : bytes / 4 / kWin;
  const int64_t n = nwin * kWin;
  float* buf = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * n));
  if (!buf) return 0.0;
  moss::parallel_for(nwin, [&](int64_t w0, int64_t w1) {
    for (int64_t i = w0 * kWin; i < w1 * kWin; ++i) buf[i] = 1.0f;
  });
  double best = 0;
  for (int64_t pass = 0; pass < 2 * nwin; ++pass) {
    const float* win = buf + (pass % nwin) * kWin;
    const auto t0 = std::chrono::steady_clock::now();
    // 1 MiB pieces claimed dynamically, like the mat-vec path (a descheduled thread is covered).
    std::atomic<int64_t> next{0};
    constexpr int64_t kPiece = 1 << 18;  // floats
    moss::parallel_for(threads, [&](int64_t, int64_t) {
      for (;;) {
        const int64_t p = next.fetch_add(1, std::memory_order_relaxed);
        if (p >= kWin / kPiece) break;
        g_read_sink = sel().impl->sum_f32(win + p * kPiece, kPiece);
      }
    });
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gbps = static_cast<double>(kWin) * 4 / el / 1e9;
    if (gbps > best) best = gbps;
  }
  std::free(buf);
  return best;
}

}  // extern "C"
