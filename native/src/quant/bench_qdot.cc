// Developer micro-benchmark of moss_qmatmul (not part of the addon; build and run with
// native/src/quant/bench_qdot.sh). Times decode-shaped mat-vecs (M = 1) and a small prefill over
// weights far larger than the caches, and reports GB/s of weight bytes, ns and cycles per 32-value
// block per thread (cycles from the TSC-free estimate `--ghz`), next to a plain read-bandwidth probe
// over the same bytes (sum of 64-bit words), so "compute bound or memory bound" is visible.
// QPREP=1 times the repacked (moss_qprepare) copy instead of the ggml rows.
// Deliberately does not: check results (test/quant/qmatmul.test.ts does).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../threadpool.h"
#include "quant.h"

static int g_level = 2;
extern "C" int moss_isa_get(void) { return g_level; }

#include <ctime>
// With one thread, CPU time of this thread (other processes on a shared machine do not count).
static bool g_cpu = false;
static double now() {
  if (g_cpu) {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  const char* isa = std::getenv("MOSS_NATIVE_ISA");
  if (isa) g_level = !std::strcmp(isa, "scalar") ? 0 : !std::strcmp(isa, "avx2") ? 1 : 2;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const double ghz = argc > 2 ? std::atof(argv[2]) : 3.0;
  const int64_t M = argc > 3 ? std::atoll(argv[3]) : 1;
  const bool hot = argc > 4 && !std::strcmp(argv[4], "hot");
  moss::set_num_threads(threads);
  g_cpu = threads == 1;
  // cold: ~200-400 MB of weights (out of cache, memory bound or not); hot: ~0.3-0.6 MB (in L2: compute)
  const int64_t K = std::getenv("QK") ? std::atoll(std::getenv("QK")) : 2048, N = (hot ? 512 : 5632 * 8) * 2048 / K;
  for (int qt = 0; qt < 2; qt++) {
    const int64_t bb = moss_qblock_bytes(qt), rowb = K / 32 * bb, bytes = N * rowb;
    std::vector<uint8_t> w((size_t)bytes);
    uint32_t x = 12345;
    for (auto& b : w) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; b = (uint8_t)x; }
    for (int64_t i = 0; i < bytes; i += bb) { w[i] = 0x1f; w[i + 1] = 0x1d; }
    // QPREP=1: time the repacked copy (moss_qprepare), as models loaded by the addon use it
    if (std::getenv("QPREP") && std::atoi(std::getenv("QPREP"))) moss_qprepare(qt, w.data(), N, K, rowb);
    std::vector<float> a((size_t)(M * K)), c((size_t)(M * N));
    for (auto& v : a) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; v = (float)(x % 2001) / 1000.0f - 1.0f; }
    double best = 1e9;
    for (int r = 0; r < (hot ? 20 : 7); r++) {
      const int reps = hot ? 50 : 1;
      const double t0 = now();
      for (int k = 0; k < reps; k++) moss_qmatmul(qt, M, N, K, a.data(), K, w.data(), rowb, c.data(), N);
      const double t = (now() - t0) / reps;
      if (t < best) best = t;
    }
    double rbest = 1e9;
    volatile uint64_t sink = 0;
    for (int r = 0; r < 5; r++) {
      const double t0 = now();
      moss::parallel_for(64, [&](int64_t s0, int64_t s1) {
        uint64_t s = 0;
        const uint64_t* p = reinterpret_cast<const uint64_t*>(w.data());
        const int64_t n = bytes / 8, per = n / 64;
        for (int64_t i = s0 * per; i < s1 * per; i++) s += p[i];
        sink = sink + s;
      });
      const double t = now() - t0;
      if (t < rbest) rbest = t;
    }
    const double blocks = (double)N * (K / 32) * M;
    std::printf("%s M=%lld threads=%d: %.2f ms  %.1f GB/s weights (read probe %.1f GB/s)  %.2f ns/block-dot/thread  ~%.2f cycles @%.1fGHz\n",
                qt == 0 ? "q8_0" : "q4_0", (long long)M, threads, best * 1e3, bytes / best / 1e9, bytes / rbest / 1e9,
                best * 1e9 * threads / blocks, best * 1e9 * threads / blocks * ghz, ghz);
  }
  return 0;
}
