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
#include <map>
#include <memory>
#include <mutex>
#include <sys/mman.h>

#include "../../include/moss_kernels.h"
#include "../scratch.h"
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

thread_local moss::Scratch g_scratch;

// Prepares M activation rows of K floats into the scratch buffer (row stride `rb` bytes) with
// `row(x, nb, out)`, in parallel over rows when there are many. Aborts when out of memory (a few
// KB..MB of scratch: nothing sensible to return).
template <class RowFn>
uint8_t* prepare_rows(int64_t M, int64_t K, const float* A, int64_t lda, int64_t rb, const RowFn& row) {
  const int64_t nb = K / 32;
  uint8_t* q = static_cast<uint8_t*>(g_scratch.get((size_t)(M * rb)));
  if (!q) std::abort();
  if (M * K >= (1 << 16)) {
    moss::parallel_for(M, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) row(A + m * lda, nb, q + m * rb);
    });
  } else {
    for (int64_t m = 0; m < M; m++) row(A + m * lda, nb, q + m * rb);
  }
  return q;
}

// Runs fn(i0, i1) over [0, items) in grains claimed from a shared counter by every pool thread
// (~8 grains per thread, at least `min_grain` items each), so a thread that is descheduled on a
// shared machine simply does fewer grains instead of making the others wait for its fixed share.
template <class Fn>
void claim_grains(int64_t items, int64_t min_grain, const Fn& fn) {
  const int64_t nt = moss::num_threads();
  const int64_t grain = std::max<int64_t>(min_grain, items / (nt * 8));
  std::atomic<int64_t> next{0};
  moss::parallel_for(nt, [&](int64_t, int64_t) {
    for (;;) {
      const int64_t i0 = next.fetch_add(grain, std::memory_order_relaxed);
      if (i0 >= items) break;
      fn(i0, std::min(items, i0 + grain));
    }
  });
}
// Prepared (repacked, or for f16/bf16 copied) weights, keyed by the original data pointer. Lookups happen once per
// moss_qmatmul call (and f16/bf16 moss_matmul call); entries go when moss_qforget is told their memory is freed.
struct Prepared {
  int qtype;
  int64_t N, K, wr;
  void* copy;  // repacked (x16 layout) or, for f16/bf16, same-layout copy
  int64_t bytes;
  size_t mapped;  // length of copy's mapping (huge_alloc)
};

// Repacked copies live in 2 MiB-aligned anonymous mappings marked MADV_HUGEPAGE: a 16B model's
// ~9 GB of weights in 4 KiB pages needs ~18 MB of page-table entries, which do not stay cached
// while the weights stream past, and the hardware prefetchers stop at every 4 KiB page; measured
// on the 34-layer 16B shape, decode went from ~74% to ~95% of the read bandwidth with huge pages.
constexpr size_t kHuge = 2u << 20;
void* huge_alloc(size_t bytes, size_t* mapped) {
  const size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(p), aligned = (base + kHuge - 1) & ~(uintptr_t)(kHuge - 1);
  if (aligned > base) ::munmap(p, aligned - base);
  const uintptr_t end = aligned + len, mend = base + len + kHuge;
  if (mend > end) ::munmap(reinterpret_cast<void*>(end), mend - end);
  ::madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
  *mapped = len;
  return reinterpret_cast<void*>(aligned);
}
std::mutex g_prep_mu;
std::map<const void*, Prepared> g_prep;

// The repacked copy of (W, N, K, wr), or null. The copy lives until moss_qforget is told that W's
// memory is freed, which its owner does only when no call can still be reading W.
const uint8_t* find_prepared(int qtype, const void* W, int64_t N, int64_t K, int64_t wr) {
  std::lock_guard<std::mutex> g(g_prep_mu);
  auto it = g_prep.find(W);
  if (it == g_prep.end() || it->second.qtype != qtype || it->second.N != N || it->second.K != K || it->second.wr != wr) return nullptr;
  return static_cast<const uint8_t*>(it->second.copy);
}

// ggml rows -> groups of 16 rows (x16_avx512.inc), per block: 16 f16 scales, then chunk vectors j
// of 64 bytes whose 4-byte lane r is quant bytes 4j .. 4j + 3 of row r (q4_0: 4 vectors of nibble
// bytes; q8_0: 8 vectors, each byte + 128).
void repack_x16(int qtype, const uint8_t* W, int64_t N, int64_t nb, int64_t wr, uint8_t* out) {
  const bool q4 = qtype == MOSS_QTYPE_Q4_0;
  const int64_t qb = q4 ? 16 : 32, bb = qb + 2, xb = 32 + 16 * qb;
  const uint8_t flip = q4 ? 0 : 0x80;
  moss::parallel_for(N / 16, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++) {
      uint8_t* dst = out + g * nb * xb;
      for (int64_t b = 0; b < nb; b++, dst += xb) {
        for (int r = 0; r < 16; r++) {
          const uint8_t* src = W + (16 * g + r) * wr + b * bb;
          std::memcpy(dst + 2 * r, src, 2);
          for (int64_t j = 0; j < qb / 4; j++)
            for (int e = 0; e < 4; e++) dst[32 + 64 * j + 4 * r + e] = src[2 + 4 * j + e] ^ flip;
        }
      }
    }
  });
}

// C = A @ W^T from the repacked copy: activation rows prepared once, 16-row groups over threads.
void qmatmul_x16(const Kernels* k, int qtype, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 const uint8_t* X, float* C, int64_t ldc) {
  const bool q4 = qtype == MOSS_QTYPE_Q4_0;
  const auto prep = q4 ? k->prep_x16 : k->prep_x16_q8;
  const auto tile = q4 ? k->x16_tile : k->x16q8_tile;
  const int64_t nb = K / 32, rb = x16_row_bytes(nb), groups = N / 16;
  const uint8_t* q = prepare_rows(M, K, A, lda, rb, prep);
  if (groups < 4 || moss::num_threads() == 1) {
    tile(M, 0, groups, nb, q, X, C, ldc);
    return;
  }
  claim_grains(groups, 1, [&](int64_t g0, int64_t g1) { tile(M, g0, g1, nb, q, X, C, ldc); });
}
}  // namespace
}  // namespace moss::quant

using namespace moss::quant;

extern "C" int64_t moss_qprepare(int qtype, const void* W, int64_t N, int64_t K, int64_t wr) {
  const Kernels* k = active();
  const int64_t bb = moss_qblock_bytes(qtype);
  if ((qtype != MOSS_QTYPE_Q4_0 && qtype != MOSS_QTYPE_Q8_0) || !k->x16_tile || N <= 0 || N % 16 != 0 || K <= 0 ||
      K % 32 != 0 || wr < K / 32 * bb)
    return 0;
  if (find_prepared(qtype, W, N, K, wr)) return 0;
  const int64_t nb = K / 32, bytes = N * nb * bb;
  size_t mapped = 0;
  void* x16 = huge_alloc((size_t)bytes, &mapped);
  if (!x16) return 0;
  repack_x16(qtype, static_cast<const uint8_t*>(W), N, nb, wr, static_cast<uint8_t*>(x16));
  std::lock_guard<std::mutex> g(g_prep_mu);
  auto it = g_prep.find(W);
  if (it != g_prep.end()) ::munmap(it->second.copy, it->second.mapped);
  g_prep[W] = Prepared{qtype, N, K, wr, x16, bytes, mapped};
  return bytes;
}

namespace {
constexpr int kHalf = -1;  // Prepared::qtype of a plain (same layout) copy of an f16/bf16 weight
}

extern "C" int64_t moss_hprepare(const void* W, int64_t bytes) {
  if (!W || bytes < (1 << 20)) return 0;
  {
    std::lock_guard<std::mutex> g(g_prep_mu);
    if (g_prep.count(W)) return 0;
  }
  size_t mapped = 0;
  void* copy = huge_alloc((size_t)bytes, &mapped);
  if (!copy) return 0;
  const int64_t chunk = 1 << 20, chunks = (bytes + chunk - 1) / chunk;
  moss::parallel_for(chunks, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++)
      std::memcpy(static_cast<char*>(copy) + c * chunk, static_cast<const char*>(W) + c * chunk, (size_t)std::min(chunk, bytes - c * chunk));
  });
  std::lock_guard<std::mutex> g(g_prep_mu);
  g_prep[W] = Prepared{kHalf, bytes, 0, 0, copy, bytes, mapped};
  return bytes;
}

extern "C" const void* moss_hfind(const void* W, int64_t span) {
  std::lock_guard<std::mutex> g(g_prep_mu);
  auto it = g_prep.find(W);
  if (it == g_prep.end() || it->second.qtype != kHalf || it->second.bytes < span) return nullptr;
  return it->second.copy;
}

extern "C" void moss_qforget(const void* p, int64_t len) {
  std::lock_guard<std::mutex> g(g_prep_mu);
  const char* lo = static_cast<const char*>(p);
  for (auto it = g_prep.lower_bound(p); it != g_prep.end() && static_cast<const char*>(it->first) < lo + len;) {
    ::munmap(it->second.copy, it->second.mapped);
    it = g_prep.erase(it);
  }
}

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
  if (k->x16_tile) {
    if (const uint8_t* x16 = find_prepared(qtype, W, N, K, w_row_bytes)) {
      qmatmul_x16(k, qtype, M, N, K, A, lda, x16, C, ldc);
      return;
    }
  }
  const int64_t nb = K / 32, rb = k->row_bytes(nb);
  const uint8_t* q = prepare_rows(M, K, A, lda, rb, [&](const float* x, int64_t n, void* out) { k->quantize_row(qtype, x, out, n); });
  const uint8_t* w = static_cast<const uint8_t*>(W);
  // Chunks are multiples of 4 weight rows (the kernel's strip), at least 16 rows each.
  const int64_t strips = (N + 3) / 4;
  if (strips < 8) {
    k->tile(qtype, M, 0, N, nb, q, rb, w, w_row_bytes, C, ldc);
    return;
  }
  claim_grains(strips, 2, [&](int64_t s0, int64_t s1) {
    k->tile(qtype, M, s0 * 4, std::min(N, s1 * 4), nb, q, rb, w, w_row_bytes, C, ldc);
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
