// Driver of the k-quant weights (C ABI in kquant.h): block traits, exact scalar dequantization
// (ggml's dequantize_row_* formulas, every product rounded to f32 in ggml's order; no FMA, this
// file is built without -mfma and ISO C++ keeps -ffp-contract=off), the q8_K activation quantizer,
// and the threaded matmul that hands column ranges to the dot kernels of the SIMD level in use
// (batches of 4+ rows: the level's mat-mat tiles where it has them, tile.inc; otherwise prefill-sized
// batches go as dequantized panels through the f32 GEMM, see gemm_prefill).
// Deliberately does not: touch N-API (addon.cc binds it), repack weights, quantize weights.
#include "kquant.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <vector>

#include "../../include/moss_kernels.h"
#include "../gemm/gemm.h"
#include "../half.h"
#include "../quant/quant.h"
#include "../scratch.h"
#include "../threadpool.h"
#include "internal.h"

namespace moss::kq {
#if !(defined(__x86_64__) || defined(__i386__))
const Kernels* kernels_avx2() { return kernels_scalar(); }
const Kernels* kernels_avx512() { return kernels_scalar(); }
#endif

namespace {
const int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

inline float h2f(const uint8_t* p) { return moss::half_to_float(p); }

void scale_min_k4(int j, const uint8_t* q, int* d, int* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void deq_q2k(const uint8_t* b, float* y) {
  const float d = h2f(b + 80), dmin = h2f(b + 82);
  int is = 0;
  for (int n = 0; n < 2; n++) {
    const uint8_t* q = b + 16 + 32 * n;
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; half++) {
        const uint8_t sc = b[is++];
        const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
        for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * half + l] >> shift) & 3) - ml;
      }
    }
  }
}

void deq_q3k(const uint8_t* b, float* y) {
  const float d = h2f(b + 108);
  const uint8_t* s = b + 96;
  int sc[16];
  for (int i = 0; i < 16; i++) {
    const int low = i < 8 ? s[i] & 0xF : s[i - 8] >> 4;
    const int high = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    sc[i] = (low | (high << 4)) - 32;
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < 2; n++) {
    const uint8_t* q = b + 32 + 32 * n;
    for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
      for (int half = 0; half < 2; half++) {
        const float dl = d * (float)sc[is++];
        for (int l = 0; l < 16; l++) {
          const int i = 16 * half + l;
          *y++ = dl * (float)(((q[i] >> shift) & 3) - ((b[i] & m) ? 0 : 4));
        }
      }
    }
  }
}

void deq_q45k(const uint8_t* b, float* y, bool five) {
  const float d = h2f(b), dmin = h2f(b + 2);
  const uint8_t* qs = b + (five ? 48 : 16);
  for (int j = 0; j < 4; j++) {
    for (int half = 0; half < 2; half++) {
      int sc, mn;
      scale_min_k4(2 * j + half, b + 4, &sc, &mn);
      const float d1 = d * (float)sc, m1 = dmin * (float)mn;
      const uint8_t bit = (uint8_t)(1u << (2 * j + half));
      for (int l = 0; l < 32; l++) {
        int q = half ? qs[32 * j + l] >> 4 : qs[32 * j + l] & 0xF;
        if (five && (b[16 + l] & bit)) q += 16;
        y[64 * j + 32 * half + l] = d1 * (float)q - m1;
      }
    }
  }
}

void deq_q6k(const uint8_t* b, float* y) {
  const float d = h2f(b + 208);
  for (int n = 0; n < 2; n++) {
    const uint8_t *ql = b + 64 * n, *qh = b + 128 + 32 * n;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192 + 8 * n);
    for (int l = 0; l < 32; l++) {
      const int is = l >> 4;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[128 * n + l] = d * (float)sc[is + 0] * (float)q1;
      y[128 * n + l + 32] = d * (float)sc[is + 2] * (float)q2;
      y[128 * n + l + 64] = d * (float)sc[is + 4] * (float)q3;
      y[128 * n + l + 96] = d * (float)sc[is + 6] * (float)q4;
    }
  }
}

void deq_iq4nl(const uint8_t* b, float* y) {
  const float d = h2f(b);
  for (int j = 0; j < 16; j++) {
    y[j] = d * (float)kIq4nl[b[2 + j] & 0xF];
    y[j + 16] = d * (float)kIq4nl[b[2 + j] >> 4];
  }
}

const Kernels* active() {
  const int level = moss_isa_get();
  return level >= 2 ? kernels_avx512() : level == 1 ? kernels_avx2() : kernels_scalar();
}

// ggml's quantize_row_q8_K: d = max / -127 of the signed largest |x|, q = nearest int (clamped to 127).
void quantize_q8k(const float* x, BlockQ8K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += 256) {
    float amax = 0, max = 0;
    for (int j = 0; j < 256; j++) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) { amax = ax; max = x[j]; }
    }
    if (amax == 0) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, 256);
      std::memset(y[i].bsums, 0, 32);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < 256; j++) {
      const int v = (int)std::nearbyint(iscale * x[j]);
      y[i].qs[j] = (int8_t)std::min(127, v);
    }
    for (int g = 0; g < 16; g++) {
      int s = 0;
      for (int l = 0; l < 16; l++) s += y[i].qs[16 * g + l];
      y[i].bsums[g] = (int16_t)s;
    }
    y[i].d = 1 / iscale;
  }
}

thread_local moss::Scratch g_scratch;
thread_local moss::Scratch g_tile_scratch;  // the unpacked weight tile of a mat-mat (tile.inc), per thread
}  // namespace
}  // namespace moss::kq

using namespace moss::kq;

extern "C" int moss_kq_is(int dt) { return dt >= MOSS_Q2_K && dt <= MOSS_IQ4_NL; }
extern "C" int moss_kq_block_size(int dt) { return dt == MOSS_IQ4_NL ? 32 : 256; }
extern "C" int moss_kq_block_bytes(int dt) {
  switch (dt) {
    case MOSS_Q2_K: return 84;
    case MOSS_Q3_K: return 110;
    case MOSS_Q4_K: return 144;
    case MOSS_Q5_K: return 176;
    case MOSS_Q6_K: return 210;
    case MOSS_IQ4_NL: return 18;
    default: return 0;
  }
}

extern "C" void moss_kq_dequantize(int dt, const void* src, int64_t nblocks, float* dst) {
  const uint8_t* b = static_cast<const uint8_t*>(src);
  const int64_t bb = moss_kq_block_bytes(dt), bs = moss_kq_block_size(dt);
  for (int64_t i = 0; i < nblocks; i++, b += bb, dst += bs) {
    switch (dt) {
      case MOSS_Q2_K: deq_q2k(b, dst); break;
      case MOSS_Q3_K: deq_q3k(b, dst); break;
      case MOSS_Q4_K: deq_q45k(b, dst, false); break;
      case MOSS_Q5_K: deq_q45k(b, dst, true); break;
      case MOSS_Q6_K: deq_q6k(b, dst); break;
      case MOSS_IQ4_NL: deq_iq4nl(b, dst); break;
      default: std::memset(dst, 0, (size_t)bs * 4); break;
    }
  }
}

namespace {
// Prefill (M >= kGemmM activation rows) of a type / level without mat-mat tiles (q2_k, q3_k, iq4_nl,
// the scalar level): each weight row is dequantized once (exactly, as above)
// into an f32 panel of kPanel rows and multiplied by the f32 GEMM (the packed, register-blocked
// kernels of native/src/gemm), instead of M integer dots re-unpacking every block: the f32 products
// are then exact where the q8_K path rounds the activations. Decode and small batches keep q8_K.
constexpr int64_t kGemmM = 16, kPanel = 256;

void gemm_prefill(int dt, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint8_t* W, int64_t wr,
                  float* C, int64_t ldc) {
  const int64_t nb = K / moss_kq_block_size(dt);
  std::vector<float> panel((size_t)(std::min(N, kPanel) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kPanel) {
    const int64_t nc = std::min(kPanel, N - n0);
    moss::parallel_for(nc, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) moss_kq_dequantize(dt, W + (n0 + r) * wr, nb, panel.data() + r * K);
    });
    // C[:, n0:n0+nc] = A (M, K) @ panel^T: the panel is nc row-major rows of K (rsb 1, csb K)
    moss_gemm_f32(M, nc, K, A, lda, 1, panel.data(), 1, K, C + n0, ldc, 0);
  }
}
}  // namespace

namespace {
// Mat-mat tiles (tile.inc) from this many activation rows: each tile's weights are unpacked once per
// call and then dotted with every row, so below a few rows the row dots (no unpack) are faster.
int64_t tile_min_m() {
  static const int64_t m = [] {
    const char* e = std::getenv("MOSS_KQ_TILE_M");  // 0 turns the tiles off (benchmarks, A/B)
    return e ? (int64_t)std::atoll(e) : (int64_t)4;
  }();
  return m;
}

void quantize_rows(int64_t M, const float* A, int64_t lda, BlockQ8K* q, int64_t nb) {
  const auto quant = active()->quantize_q8k ? active()->quantize_q8k : quantize_q8k;
  if (M >= 8) {
    moss::parallel_for(M, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) quant(A + m * lda, q + m * nb, nb);
    });
  } else {
    for (int64_t m = 0; m < M; m++) quant(A + m * lda, q + m * nb, nb);
  }
}
}  // namespace

extern "C" void moss_kq_matmul(int dt, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const void* W,
                               int64_t wr, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t m = 0; m < M; m++) std::memset(C + m * ldc, 0, (size_t)N * 4);
    return;
  }
  // a huge-page copy made at load (moss_hprepare: same bytes; the file pages under W were dropped)
  if (const void* copy = moss_hfind(W, (N - 1) * wr + K / moss_kq_block_size(dt) * moss_kq_block_bytes(dt))) W = copy;
  const Kernels* k = active();
  const int64_t tm = tile_min_m();
  if (k->mm && k->mm_supports(dt) && tm > 0 && M >= tm) {
    // q8_K activations once, then tiles of mm_rows weight rows claimed from a shared counter
    const int64_t nb = K / 256;
    BlockQ8K* q = static_cast<BlockQ8K*>(g_scratch.get((size_t)(M * nb) * sizeof(BlockQ8K)));
    if (!q) std::abort();
    quantize_rows(M, A, lda, q, nb);
    const int64_t tiles = (N + k->mm_rows - 1) / k->mm_rows;
    const uint8_t* w = static_cast<const uint8_t*>(W);
    // runs of consecutive tiles (a tile prefetches the next one's weights while it computes)
    const int64_t nt = std::min<int64_t>(moss::num_threads(), tiles), grain = std::max<int64_t>(1, tiles / (nt * 4));
    std::atomic<int64_t> next{0};
    moss::parallel_for(nt, [&](int64_t, int64_t) {
      void* scratch = g_tile_scratch.get(k->mm_scratch_bytes(K));
      if (!scratch) std::abort();
      for (;;) {
        const int64_t t = next.fetch_add(grain, std::memory_order_relaxed);
        if (t >= tiles) break;
        k->mm(dt, M, N, t, std::min(tiles, t + grain), K, q, w, wr, C, ldc, scratch);
      }
    });
    return;
  }
  if (M >= kGemmM) return gemm_prefill(dt, M, N, K, A, lda, static_cast<const uint8_t*>(W), wr, C, ldc);
  BlockQ8K* q = nullptr;
  if (dt != MOSS_IQ4_NL) {
    const int64_t nb = K / 256;
    q = static_cast<BlockQ8K*>(g_scratch.get((size_t)(M * nb) * sizeof(BlockQ8K)));
    if (!q) std::abort();
    quantize_rows(M, A, lda, q, nb);
  }
  const uint8_t* w = static_cast<const uint8_t*>(W);
  const int64_t nt = moss::num_threads();
  if (N < 16 || nt == 1) {
    k->tile(dt, M, 0, N, K, q, A, lda, w, wr, C, ldc);
    return;
  }
  // columns in grains claimed from a shared counter (a descheduled thread just takes fewer)
  const int64_t grain = std::max<int64_t>(4, N / (nt * 8));
  std::atomic<int64_t> next{0};
  moss::parallel_for(nt, [&](int64_t, int64_t) {
    for (;;) {
      const int64_t n0 = next.fetch_add(grain, std::memory_order_relaxed);
      if (n0 >= N) break;
      k->tile(dt, M, n0, std::min(N, n0 + grain), K, q, A, lda, w, wr, C, ldc);
    }
  });
}
