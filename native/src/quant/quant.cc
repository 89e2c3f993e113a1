// Driver of the quantized matmul (C ABI in quant.h): quantizes the activation rows once per call,
// then splits the output columns over the thread pool (dynamically claimed grains of 4-row strips)
// and runs the kernel table of the SIMD level in use (moss_isa_get(), shared with other kernels). Scratch for the quantized
// activations is a per-thread buffer that grows and is reused, so decode allocates nothing per token.
// Deliberately does not: touch N-API (addon.cc binds it) or decide when quantized matmul applies.
#include "quant.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "../../include/moss_kernels.h"
#include "../threadpool.h"
#include "internal.h"

namespace moss::quant {
#if !(defined(__x86_64__) || defined(__i386__))
const Kernels* kernels_avx2() { return kernels_scalar(); }
const Kernels* kernels_avx512() { return kernels_scalar(); }
#endif

namespace {
const Kernels* active() {
  const int level = moss_isa_get();
  return level >= 2 ? kernels_avx512() : level == 1 ? kernels_avx2() : kernels_scalar();
}

struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = std::aligned_alloc(64, (n + 63) / 64 * 64);
      cap = p ? n : 0;
    }
    return p;
  }
};
thread_local Scratch g_scratch;

// Quantizes M rows of K floats (row stride `rb` bytes), in parallel over rows when there are many.
void* quantize_rows(const Kernels* k, int qtype, int64_t M, int64_t K, const float* A, int64_t lda, int64_t rb) {
  const int64_t nb = K / 32;
  uint8_t* q = static_cast<uint8_t*>(g_scratch.get((size_t)(M * rb)));
  if (!q) return nullptr;
  if (M * K >= (1 << 16)) {
    moss::parallel_for(M, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) k->quantize_row(qtype, A + m * lda, q + m * rb, nb);
    });
  } else {
    for (int64_t m = 0; m < M; m++) k->quantize_row(qtype, A + m * lda, q + m * rb, nb);
  }
  return q;
}
}  // namespace
}  // namespace moss::quant

using namespace moss::quant;

extern "C" int moss_qblock_bytes(int qtype) { return qtype == MOSS_QTYPE_Q8_0 ? 34 : 18; }

extern "C" const char* moss_qmatmul_isa(void) { return active()->name; }

extern "C" void moss_qmatmul(int qtype, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                             const void* W, int64_t w_row_bytes, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t m = 0; m < M; m++) std::memset(C + m * ldc, 0, (size_t)N * 4);
    return;
  }
  const Kernels* k = active();
  const int64_t nb = K / 32, rb = k->row_bytes(nb);
  const void* q = quantize_rows(k, qtype, M, K, A, lda, rb);
  if (!q) std::abort();  // out of memory for a few KB..MB of scratch: nothing sensible to return
  const uint8_t* w = static_cast<const uint8_t*>(W);
  // Chunks are multiples of 4 weight rows (the kernel's strip), at least 16 rows each.
  const int64_t strips = (N + 3) / 4;
  if (strips < 8) {
    k->tile(qtype, M, 0, N, nb, q, rb, w, w_row_bytes, C, ldc);
    return;
  }
  // Each pool thread claims grains of ~1/8 of its share from a shared counter until none are left,
  // so a thread that is descheduled (shared, oversubscribed machines) simply does fewer grains
  // instead of making the others wait for its fixed half.
  const int64_t nt = moss::num_threads();
  const int64_t grain = std::max<int64_t>(2, strips / (nt * 8));
  std::atomic<int64_t> next{0};
  moss::parallel_for(nt, [&](int64_t, int64_t) {
    for (;;) {
      const int64_t s0 = next.fetch_add(grain, std::memory_order_relaxed);
      if (s0 >= strips) break;
      const int64_t n0 = s0 * 4, n1 = std::min(N, (s0 + grain) * 4);
      k->tile(qtype, M, n0, n1, nb, q, rb, w, w_row_bytes, C, ldc);
    }
  });
}

extern "C" void moss_qmatmul_cols(int qtype, int64_t M, int64_t n0, int64_t n1, int64_t K, const float* A,
                                  int64_t lda, const void* W, int64_t w_row_bytes, float* C, int64_t ldc) {
  if (M <= 0 || n1 <= n0) return;
  const Kernels* k = active();
  const int64_t nb = K / 32, rb = k->row_bytes(nb);
  std::unique_ptr<uint8_t, void (*)(void*)> q(static_cast<uint8_t*>(std::aligned_alloc(64, (size_t)(M * rb + 64))), std::free);
  if (!q) std::abort();
  for (int64_t m = 0; m < M; m++) k->quantize_row(qtype, A + m * lda, q.get() + m * rb, nb);
  k->tile(qtype, M, n0, n1, nb, q.get(), rb, static_cast<const uint8_t*>(W), w_row_bytes, C, ldc);
}
