// GPTQ weights repacked at load (C ABI and block layouts in gptq.h): the exact repack, exact
// dequantization, the q8 activation quantizer and the threaded matmul with one micro-kernel per SIMD
// level. The AVX2 and AVX-512 kernels are compiled in this one file with GCC/Clang function target
// attributes (so binding.gyp lists one source), and picked at run time with moss_isa_get() like the
// other quantized kernels (MOSS_NATIVE_ISA=scalar|avx2|avx512 forces a level).
// Deliberately does not: touch N-API (addon.cc binds it), permute activations, prepare copies.
#include "gptq.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "../../include/moss_kernels.h"
#include "../half.h"
#include "../scratch.h"
#include "../threadpool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MOSS_GQ_X86 1
#define GQ_AVX2 __attribute__((target("avx2,fma,f16c")))
#define GQ_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#else
#define MOSS_GQ_X86 0
#endif

namespace {

using moss::half_to_float;

inline uint16_t u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Block geometry: bytes per 128-value block and the offset of its q bytes (gq4/gq8: one f16 d and u16 z;
// gq4s/gq8s: four f16 d and four u8 stored zeros, one per 32 values).
constexpr int64_t gq_bytes(bool q8, bool sub) { return q8 ? (sub ? 140 : 132) : (sub ? 76 : 68); }
constexpr int gq_qoff(bool sub) { return sub ? 12 : 4; }

// --- quantized activation rows: qs int8[K] | dxe f32[K/4] (the q8 scale of each 32-block, amax/127 as
// ggml's quantize_row_q8_0, repeated for the 8 int32 lanes its dot lands in) | S f32[K/128] (the sum over
// the 128-block's four 32-blocks of scale * sum of int8 values, for the zero term) | S32 f32[K/32] (that
// sum per 32-block, for the zero terms of the s blocks) ---
inline int64_t act_row_bytes(int64_t K) { return (2 * K + K / 32 + K / 8 + 63) / 64 * 64; }

void quantize_act(const float* x, int64_t K, uint8_t* row) {
  int8_t* qs = reinterpret_cast<int8_t*>(row);
  float* dxe = reinterpret_cast<float*>(row + K);
  float* S = reinterpret_cast<float*>(row + 2 * K);
  float* S32 = reinterpret_cast<float*>(row + 2 * K + K / 32);
  for (int64_t b = 0; b < K / 128; b++) {
    float s = 0;
    for (int j = 0; j < 4; j++) {
      const float* v = x + b * 128 + j * 32;
      int8_t* q = qs + b * 128 + j * 32;
      float amax = 0.0f;
      for (int t = 0; t < 32; t++) amax = std::fmax(amax, std::fabs(v[t]));
      const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
      int sum = 0;
      for (int t = 0; t < 32; t++) {
        q[t] = (int8_t)std::round(v[t] * id);
        sum += q[t];
      }
      for (int t = 0; t < 8; t++) dxe[b * 32 + j * 8 + t] = d;
      S32[b * 4 + j] = d * (float)sum;
      s += d * (float)sum;
    }
    S[b] = s;
  }
}

struct Act {
  const uint8_t* base;
  int64_t stride, K;
  const int8_t* qs(int64_t i) const { return reinterpret_cast<const int8_t*>(base + i * stride); }
  const float* dxe(int64_t i) const { return reinterpret_cast<const float*>(base + i * stride + K); }
  const float* S(int64_t i) const { return reinterpret_cast<const float*>(base + i * stride + 2 * K); }
  const float* S32(int64_t i) const { return reinterpret_cast<const float*>(base + i * stride + 2 * K + K / 32); }
};

// --- portable kernel ---
template <bool Q8, bool SUB>
void tile_scalar(int64_t M, int64_t n0, int64_t n1, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
  const int64_t nb = a.K / 128, bb = gq_bytes(Q8, SUB);
  int32_t q[128];
  for (int64_t n = n0; n < n1; n++) {
    for (int64_t m = 0; m < M; m++) {
      const int8_t* x = a.qs(m);
      const float *dxe = a.dxe(m), *S = a.S(m), *S32 = a.S32(m);
      float acc = 0;
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* p = W + n * wr + b * bb;
        const uint8_t* qp = p + gq_qoff(SUB);
        if (Q8) {
          for (int t = 0; t < 128; t++) q[t] = qp[t];
        } else {
          for (int t = 0; t < 64; t++) {
            q[t] = qp[t] & 0xF;
            q[t + 64] = qp[t] >> 4;
          }
        }
        float f = 0;
        for (int j = 0; j < 4; j++) {
          int32_t dot = 0;
          for (int t = 0; t < 32; t++) dot += q[j * 32 + t] * (int32_t)x[b * 128 + j * 32 + t];
          if (SUB)  // d_w[j] * (d_a[j] * dot - z_j * d_a[j] * sum(a_j))
            acc += half_to_float(u16(p + 2 * j)) * (dxe[b * 32 + j * 8] * (float)dot - (float)(p[8 + j] + 1) * S32[b * 4 + j]);
          else
            f += dxe[b * 32 + j * 8] * (float)dot;
        }
        if (!SUB) acc += half_to_float(u16(p)) * (f - (float)u16(p + 2) * S[b]);
      }
      C[m * ldc + n] = acc;
    }
  }
}

#if MOSS_GQ_X86
// --- AVX2: one 32-value sub-block per 256-bit vector ---
GQ_AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Software prefetch, 8 blocks ahead in each of the NR weight rows, for rows of more than 64 blocks
// (K > 8192: MOSS's fc_out). Decode reads NR rows side by side; short rows lie back to back, so the
// hardware prefetcher sees one stream, but long rows are NR streams that each cross a 4 KiB page every
// ~60 blocks, where it stops. Mat-vec 6144 x 24576 at 2 threads, best of 30 interleaved (load avg
// 17-20): gq4 9.05 -> 3.93 ms, gq8 15.1 -> 7.9 ms; K = 6144 shapes unchanged within noise.
inline int64_t gq_pf(int64_t nb) { return nb > 64 ? 8 : 0; }
#define GQ_PREFETCH(NR_, BB_)                                                                       \
  if (pf)                                                                                           \
    for (int j = 0; j < NR_; j++) {                                                                 \
      const char* q_ = reinterpret_cast<const char*>(W + (n + j) * wr + (b + pf) * (BB_));          \
      for (int64_t o_ = 0; o_ < (BB_); o_ += 64) _mm_prefetch(q_ + o_, _MM_HINT_T0);                \
    }

template <int MR, int NR, bool Q8, bool SUB>
GQ_AVX2 void micro_avx2(int64_t m0, int64_t n, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
  const int64_t nb = a.K / 128, bb = gq_bytes(Q8, SUB);
  const __m256i ones = _mm256_set1_epi16(1), lo4 = _mm256_set1_epi8(0x0f), flip = _mm256_set1_epi8((char)0x80);
  __m256 acc[MR][NR];
  float corr[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) { acc[i][j] = _mm256_setzero_ps(); corr[i][j] = 0; }
  const int64_t pf = gq_pf(nb);
  for (int64_t b = 0; b < nb; b++) {
    GQ_PREFETCH(NR, bb)
    __m256i w[NR][4];
    float dw[NR], zd[NR], dws[NR][SUB ? 4 : 1], zds[NR][SUB ? 4 : 1];
    for (int j = 0; j < NR; j++) {
      const uint8_t* p = W + (n + j) * wr + b * bb;
      const uint8_t* qp = p + gq_qoff(SUB);
      // gq8 on AVX2: weights as s8 (q - 128), so the zero term uses z - 128
      if (SUB) {
        for (int s = 0; s < 4; s++) {
          dws[j][s] = _cvtsh_ss(u16(p + 2 * s));
          zds[j][s] = dws[j][s] * (float)((int32_t)p[8 + s] + 1 - (Q8 ? 128 : 0));
        }
      } else {
        dw[j] = _cvtsh_ss(u16(p));
        zd[j] = dw[j] * (float)((int32_t)u16(p + 2) - (Q8 ? 128 : 0));
      }
      if (Q8) {
        for (int s = 0; s < 4; s++) w[j][s] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp + 32 * s)), flip);
      } else {
        const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp));
        const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp + 32));
        w[j][0] = _mm256_and_si256(v0, lo4);
        w[j][1] = _mm256_and_si256(v1, lo4);
        w[j][2] = _mm256_and_si256(_mm256_srli_epi16(v0, 4), lo4);
        w[j][3] = _mm256_and_si256(_mm256_srli_epi16(v1, 4), lo4);
      }
    }
    for (int i = 0; i < MR; i++) {
      const int8_t* x = a.qs(m0 + i) + b * 128;
      const float* dx = a.dxe(m0 + i) + b * 32;
      const float S = a.S(m0 + i)[b];
      const float* S32 = a.S32(m0 + i) + b * 4;
      __m256i xv[4];
      __m256 dv[4];
      for (int s = 0; s < 4; s++) {
        xv[s] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * s));
        dv[s] = _mm256_loadu_ps(dx + 8 * s);
      }
      for (int j = 0; j < NR; j++) {
        __m256 f = _mm256_setzero_ps();
        for (int s = 0; s < 4; s++) {
          __m256i d16;  // i16 pair sums, |.| <= 2 * 128 * 127: no saturation
          if (Q8) {  // ggml's sign trick: |w| (u8) x sign(a, w) (s8)
            d16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w[j][s], w[j][s]), _mm256_sign_epi8(xv[s], w[j][s]));
          } else {
            d16 = _mm256_maddubs_epi16(w[j][s], xv[s]);
          }
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(d16, ones));
          if (SUB) acc[i][j] = _mm256_fmadd_ps(_mm256_mul_ps(dot, dv[s]), _mm256_set1_ps(dws[j][s]), acc[i][j]);
          else f = _mm256_fmadd_ps(dot, dv[s], f);
        }
        if (SUB) {
          corr[i][j] += zds[j][0] * S32[0] + zds[j][1] * S32[1] + zds[j][2] * S32[2] + zds[j][3] * S32[3];
        } else {
          acc[i][j] = _mm256_fmadd_ps(f, _mm256_set1_ps(dw[j]), acc[i][j]);
          corr[i][j] += zd[j] * S;
        }
      }
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) C[(m0 + i) * ldc + n + j] = hsum256(acc[i][j]) - corr[i][j];
}

// --- AVX-512 VNNI: 64 values per 512-bit vector, u8 x s8 dots with vpdpbusd ---
template <int MR, int NR, bool Q8, bool SUB>
GQ_AVX512 void micro_avx512(int64_t m0, int64_t n, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
  const int64_t nb = a.K / 128, bb = gq_bytes(Q8, SUB);
  const __m512i lo4 = _mm512_set1_epi8(0x0f);
  // s blocks: lanes 0..7 / 8..15 of a dot are 32-blocks 0 / 1 (w0) and 2 / 3 (w1): spread d[4] to them
  const __m512i lanes01 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i lanes23 = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
  __m512 acc[MR][NR];
  float corr[MR][NR];
  __m128 corr4[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) { acc[i][j] = _mm512_setzero_ps(); corr[i][j] = 0; corr4[i][j] = _mm_setzero_ps(); }
  const int64_t pf = gq_pf(nb);
  for (int64_t b = 0; b < nb; b++) {
    GQ_PREFETCH(NR, bb)
    __m512i w0[NR], w1[NR];
    float dw[NR], zd[NR];
    __m128 d4[NR], zd4[NR];
    for (int j = 0; j < NR; j++) {
      const uint8_t* p = W + (n + j) * wr + b * bb;
      const uint8_t* qp = p + gq_qoff(SUB);
      if (SUB) {
        int32_t zs;
        std::memcpy(&zs, p + 8, 4);
        d4[j] = _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
        zd4[j] = _mm_mul_ps(d4[j], _mm_cvtepi32_ps(_mm_add_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(zs)), _mm_set1_epi32(1))));
      } else {
        dw[j] = _cvtsh_ss(u16(p));
        zd[j] = dw[j] * (float)u16(p + 2);
      }
      if (Q8) {
        w0[j] = _mm512_loadu_si512(qp);
        w1[j] = _mm512_loadu_si512(qp + 64);
      } else {
        const __m512i v = _mm512_loadu_si512(qp);
        w0[j] = _mm512_and_si512(v, lo4);
        w1[j] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
      }
    }
    for (int i = 0; i < MR; i++) {
      const int8_t* x = a.qs(m0 + i) + b * 128;
      const float* dx = a.dxe(m0 + i) + b * 32;
      const float S = a.S(m0 + i)[b];
      const __m128 S4 = SUB ? _mm_loadu_ps(a.S32(m0 + i) + b * 4) : _mm_setzero_ps();
      const __m512i x0 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 64);
      const __m512 d0 = _mm512_loadu_ps(dx), d1 = _mm512_loadu_ps(dx + 16);
      for (int j = 0; j < NR; j++) {
        // lanes 0..7 / 8..15 of each dot hold the 32-blocks 0, 1 (x0) and 2, 3 (x1)
        const __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w0[j], x0);
        const __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w1[j], x1);
        if (SUB) {
          const __m512 dd = _mm512_castps128_ps512(d4[j]);
          acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p0), d0), _mm512_permutexvar_ps(lanes01, dd), acc[i][j]);
          acc[i][j] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p1), d1), _mm512_permutexvar_ps(lanes23, dd), acc[i][j]);
          corr4[i][j] = _mm_fmadd_ps(zd4[j], S4, corr4[i][j]);
        } else {
          const __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1), d1, _mm512_mul_ps(_mm512_cvtepi32_ps(p0), d0));
          acc[i][j] = _mm512_fmadd_ps(f, _mm512_set1_ps(dw[j]), acc[i][j]);
          corr[i][j] += zd[j] * S;
        }
      }
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      if (SUB) {
        __m128 c = corr4[i][j];
        c = _mm_add_ps(c, _mm_movehl_ps(c, c));
        c = _mm_add_ss(c, _mm_movehdup_ps(c));
        corr[i][j] = _mm_cvtss_f32(c);
      }
      C[(m0 + i) * ldc + n + j] = _mm512_reduce_add_ps(acc[i][j]) - corr[i][j];
    }
}

// Tiles of up to 4 activation rows x up to 4 weight rows.
template <int L, int MR, bool Q8, bool SUB>
void micro_n(int nr, int64_t m0, int64_t n, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
  switch (nr) {
#define GQ_CASE(NR)                                                          \
  case NR:                                                                   \
    if (L == 2) micro_avx512<MR, NR, Q8, SUB>(m0, n, a, W, wr, C, ldc);      \
    else micro_avx2<MR, NR, Q8, SUB>(m0, n, a, W, wr, C, ldc);               \
    return;
    GQ_CASE(8) GQ_CASE(4) GQ_CASE(3) GQ_CASE(2)
    case 5: case 6: case 7: micro_n<L, MR, Q8, SUB>(4, m0, n, a, W, wr, C, ldc); return micro_n<L, MR, Q8, SUB>(nr - 4, m0, n + 4, a, W, wr, C, ldc);
    default: GQ_CASE(1)
#undef GQ_CASE
  }
}

template <int L, bool Q8, bool SUB>
void tile_simd(int64_t M, int64_t n0, int64_t n1, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
  // 64 activation rows at a time (they stay in L2); a 4-row weight strip meets each 4-row tile of them.
  for (int64_t mc = 0; mc < M; mc += 64) {
    const int64_t mend = std::min(M, mc + 64);
    // decode (one activation row) streams 8 weight rows at once; prefill tiles are 4 x 4
    const int64_t step = M == 1 && L == 2 ? 8 : 4;
    for (int64_t n = n0; n < n1; n += step) {
      const int nr = (int)std::min<int64_t>(step, n1 - n);
      for (int64_t m = mc; m < mend; m += 4) {
        switch (std::min<int64_t>(4, mend - m)) {
          case 4: micro_n<L, 4, Q8, SUB>(nr, m, n, a, W, wr, C, ldc); break;
          case 3: micro_n<L, 3, Q8, SUB>(nr, m, n, a, W, wr, C, ldc); break;
          case 2: micro_n<L, 2, Q8, SUB>(nr, m, n, a, W, wr, C, ldc); break;
          default: micro_n<L, 1, Q8, SUB>(nr, m, n, a, W, wr, C, ldc); break;
        }
      }
    }
  }
}
#endif

template <bool Q8, bool SUB>
void tile_t(int64_t M, int64_t n0, int64_t n1, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
#if MOSS_GQ_X86
  const int level = moss_isa_get();
  if (level >= 2) return tile_simd<2, Q8, SUB>(M, n0, n1, a, W, wr, C, ldc);
  if (level == 1) return tile_simd<1, Q8, SUB>(M, n0, n1, a, W, wr, C, ldc);
#endif
  tile_scalar<Q8, SUB>(M, n0, n1, a, W, wr, C, ldc);
}

void tile(int dt, int64_t M, int64_t n0, int64_t n1, const Act& a, const uint8_t* W, int64_t wr, float* C, int64_t ldc) {
  switch (dt) {
    case MOSS_GQ8: return tile_t<true, false>(M, n0, n1, a, W, wr, C, ldc);
    case MOSS_GQ4S: return tile_t<false, true>(M, n0, n1, a, W, wr, C, ldc);
    case MOSS_GQ8S: return tile_t<true, true>(M, n0, n1, a, W, wr, C, ldc);
    default: return tile_t<false, false>(M, n0, n1, a, W, wr, C, ldc);
  }
}

thread_local moss::Scratch g_scratch;
}  // namespace

extern "C" int moss_gq_is(int dt) { return dt == MOSS_GQ4 || dt == MOSS_GQ8 || dt == MOSS_GQ4S || dt == MOSS_GQ8S; }
extern "C" int moss_gq_block_bytes(int dt) {
  return dt == MOSS_GQ4 ? 68 : dt == MOSS_GQ8 ? 132 : dt == MOSS_GQ4S ? 76 : dt == MOSS_GQ8S ? 140 : 0;
}

extern "C" void moss_gq_dequantize(int dt, const void* src, int64_t nblocks, float* dst) {
  const uint8_t* p = static_cast<const uint8_t*>(src);
  const int64_t bb = moss_gq_block_bytes(dt);
  const bool sub = dt == MOSS_GQ4S || dt == MOSS_GQ8S, q8 = dt == MOSS_GQ8 || dt == MOSS_GQ8S;
  const uint8_t* qp = p + gq_qoff(sub);
  for (int64_t i = 0; i < nblocks; i++, p += bb, qp += bb, dst += 128) {
    for (int t = 0; t < 128; t++) {
      const float d = half_to_float(u16(sub ? p + 2 * (t / 32) : p));
      const int32_t z = sub ? p[8 + t / 32] + 1 : u16(p + 2);
      const int32_t q = q8 ? qp[t] : t < 64 ? qp[t] & 0xF : qp[t - 64] >> 4;
      dst[t] = d * (float)(q - z);
    }
  }
}

extern "C" void moss_gq_matmul(int dt, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const void* W,
                               int64_t wr, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t m = 0; m < M; m++) std::memset(C + m * ldc, 0, (size_t)N * 4);
    return;
  }
  const int64_t rb = act_row_bytes(K);
  uint8_t* q = static_cast<uint8_t*>(g_scratch.get((size_t)(M * rb)));
  if (!q) std::abort();
  if (M >= 8) {
    moss::parallel_for(M, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) quantize_act(A + m * lda, K, q + m * rb);
    });
  } else {
    for (int64_t m = 0; m < M; m++) quantize_act(A + m * lda, K, q + m * rb);
  }
  const Act a{q, rb, K};
  const uint8_t* w = static_cast<const uint8_t*>(W);
  const int64_t nt = moss::num_threads();
  if (N < 16 || nt == 1) {
    tile(dt, M, 0, N, a, w, wr, C, ldc);
    return;
  }
  // columns in grains of 8 rows claimed from a shared counter (a descheduled thread just takes fewer)
  const int64_t grain = std::max<int64_t>(8, N / (nt * 8) / 8 * 8);
  std::atomic<int64_t> next{0};
  moss::parallel_for(nt, [&](int64_t, int64_t) {
    for (;;) {
      const int64_t n0 = next.fetch_add(grain, std::memory_order_relaxed);
      if (n0 >= N) break;
      tile(dt, M, n0, std::min(N, n0 + grain), a, w, wr, C, ldc);
    }
  });
}

extern "C" int moss_gq_repack(int dtype, int64_t K, int64_t N, int64_t G, const int32_t* qweight, const int32_t* qzeros,
                              const uint16_t* scales, const int32_t* block_group, const int32_t* order, void* dst) {
  if (!moss_gq_is(dtype)) return -1;
  const int bits = dtype == MOSS_GQ4 || dtype == MOSS_GQ4S ? 4 : 8;
  const bool sub = dtype == MOSS_GQ4S || dtype == MOSS_GQ8S;
  if (K <= 0 || N <= 0 || G <= 0 || K % 128 != 0 || N % (32 / bits) != 0) return -1;
  const int64_t nb = K / 128, per = 32 / bits, bb = moss_gq_block_bytes(dtype), wr = nb * bb, qo = gq_qoff(sub);
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t b = 0; b < (sub ? K / 32 : nb); b++)
    if (block_group[b] < 0 || block_group[b] >= G) return -1;
  if (order)
    for (int64_t k = 0; k < K; k++)
      if (order[k] < 0 || order[k] >= K) return -1;
  uint8_t* out = static_cast<uint8_t*>(dst);
  // tasks = (128-block b, tile of 16 output rows): the tile's qweight words are 64-byte runs of
  // 128 / per rows, and each of its 16 output blocks is built in L1 and written once
  const int64_t tiles = (N + 15) / 16;
  moss::parallel_for(nb * tiles, [&](int64_t t0, int64_t t1) {
    alignas(64) uint8_t blk[16][140];
    for (int64_t t = t0; t < t1; t++) {
      const int64_t b = t / tiles, n0 = (t % tiles) * 16, nn = std::min<int64_t>(16, N - n0);
      std::memset(blk, 0, sizeof blk);
      if (order) {  // act-order: value t of the block is in-feature order[128 b + t], read one by one
        for (int t = 0; t < 128; t++) {
          const int64_t k = order[b * 128 + t];
          const int32_t* row = qweight + (k / per) * N + n0;
          const int shift = (int)(bits * (k % per));
          const int at = (int)qo + (bits == 8 ? t : t & 63), up = bits == 4 && t >= 64 ? 4 : 0;
          for (int64_t i = 0; i < nn; i++) blk[i][at] |= (uint8_t)((((uint32_t)row[i] >> shift) & mask) << up);
        }
      }
      for (int64_t r = 0; r < (order ? 0 : 128 / per); r++) {
        const int32_t* row = qweight + (b * 128 / per + r) * N + n0;
        if (bits == 8) {  // little-endian: byte j of the word is q of k = 4r + j
          for (int64_t i = 0; i < nn; i++) std::memcpy(blk[i] + qo + 4 * r, &row[i], 4);
          continue;
        }
        // int4: the word's 8 nibbles are k = 8r .. 8r + 7, all in the low (k < 64) or high half
        const bool high = r >= 8;
        const int64_t at = qo + (high ? 8 * r - 64 : 8 * r);
        for (int64_t i = 0; i < nn; i++) {
          const uint32_t word = (uint32_t)row[i];
          uint64_t spread = 0;
          for (int j = 0; j < 8; j++) spread |= (uint64_t)((word >> (4 * j)) & 0xF) << (8 * j);
          uint64_t cur;
          std::memcpy(&cur, blk[i] + at, 8);
          cur |= high ? spread << 4 : spread;
          std::memcpy(blk[i] + at, &cur, 8);
        }
      }
      const auto stored_zero = [&](int64_t g, int64_t n) { return ((uint32_t)qzeros[g * (N / per) + n / per] >> (bits * (n % per))) & mask; };
      for (int64_t i = 0; i < nn; i++) {
        const int64_t n = n0 + i;
        if (sub) {  // per 32-block s: f16 d[s] @2s, u8 stored zero @8+s
          for (int s = 0; s < 4; s++) {
            const int64_t g = block_group[b * 4 + s];
            std::memcpy(blk[i] + 2 * s, &scales[g * N + n], 2);
            blk[i][8 + s] = (uint8_t)stored_zero(g, n);
          }
        } else {
          const int64_t g = block_group[b];
          const uint16_t z = (uint16_t)(stored_zero(g, n) + 1);
          std::memcpy(blk[i], &scales[g * N + n], 2);
          std::memcpy(blk[i] + 2, &z, 2);
        }
        std::memcpy(out + n * wr + b * bb, blk[i], (size_t)bb);
      }
    }
  });
  return 0;
}
