// Batched matmul fallback: a (..., M, K) @ b (..., K, N) -> out (..., M, N), any strides and float
// dtypes. Each batch converts b into a contiguous f32 (K, N) panel once, then rows of a are
// accumulated with axpy (SIMD) in parallel over M.
// Deliberately does not: block for cache or pack like a real GEMM — native/src/gemm/ owns speed;
// this stays as the always-correct path for odd dtypes/strides.
#include <memory>
#include <vector>

#include "common.h"

// Weak: the addon links and runs whether or not the gemm sources are in the build.
extern "C" {
void moss_gemm_f32(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                   float*, int64_t, int) __attribute__((weak));
void moss_gemm_bf16(int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t,
                    int64_t, float*, int64_t, int) __attribute__((weak));
void moss_gemm_f32_bf16(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const uint16_t*, int64_t,
                        int64_t, float*, int64_t, int) __attribute__((weak));
void moss_gemm_f32_f16(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const uint16_t*, int64_t,
                       int64_t, float*, int64_t, int) __attribute__((weak));
const void* moss_hfind(const void*, int64_t) __attribute__((weak));  // quant/quant.h: prepared half weights
}

using namespace moss;

namespace {
// Dequantizes the (K, N) view of a q8_0/q4_0 storage into pb: element (k, n) is storage element
// off + k*sk + n*sn, i.e. block (e / 32), lane e % 32 (a ggml (N, K) weight seen as (K, N)).
void quant_panel(float* pb, const View& b, int64_t off, int64_t K, int64_t N, int64_t sk, int64_t sn) {
  const bool q8 = b.dtype == MOSS_Q8_0;
  const int64_t bb = q8 ? 34 : 18;
  const unsigned char* base = static_cast<const unsigned char*>(b.data);
  par(N, K, [&](int64_t n0, int64_t n1) {
    float tmp[32];
    int64_t cur = -1;
    for (int64_t n = n0; n < n1; n++) {
      for (int64_t k = 0; k < K; k++) {
        const int64_t e = off + k * sk + n * sn, blk = e / 32;
        if (blk != cur) {
          const unsigned char* p = base + blk * bb;
          uint16_t dh;
          std::memcpy(&dh, p, 2);
          const float d = h2f_scalar(dh);
          if (q8) {
            for (int j = 0; j < 32; j++) tmp[j] = (float)(int8_t)p[2 + j] * d;
          } else {
            for (int j = 0; j < 16; j++) {
              tmp[j] = (float)((int)(p[2 + j] & 0x0f) - 8) * d;
              tmp[j + 16] = (float)((int)(p[2 + j] >> 4) - 8) * d;
            }
          }
          cur = blk;
        }
        pb[k * N + n] = tmp[e % 32];
      }
    }
  });
}
}  // namespace

extern "C" void moss_matmul(const moss_view* out, const moss_view* a, const moss_view* b) {
  const int nd = out->ndim;
  // An f16/bf16 weight with a huge-page copy (moss_hprepare): read the copy, same layout.
  moss_view bc;
  if ((b->dtype == MOSS_F16 || b->dtype == MOSS_BF16) && moss_hfind) {
    int64_t last = 0;
    bool ok = true;
    for (int i = 0; i < b->ndim; i++) {
      if (b->shape[i] <= 0 || b->strides[i] < 0) ok = false;
      else last += (b->shape[i] - 1) * b->strides[i];
    }
    if (ok) {
      if (const void* copy = moss_hfind(b->data, (last + 1) * 2)) {
        bc = *b;
        bc.data = const_cast<void*>(copy);
        b = &bc;
      }
    }
  }
  // Fast path: the gemm engine, when built in, for f32 output with unit column stride.
  const bool gemm_ok = out->dtype == MOSS_F32 && (out->strides[nd - 1] == 1 || out->shape[nd - 1] == 1) &&
                       ((a->dtype == MOSS_F32 && b->dtype == MOSS_F32 && moss_gemm_f32) ||
                        (a->dtype == MOSS_BF16 && b->dtype == MOSS_BF16 && moss_gemm_bf16) ||
                        (a->dtype == MOSS_F32 && b->dtype == MOSS_BF16 && moss_gemm_f32_bf16) ||
                        (a->dtype == MOSS_F32 && b->dtype == MOSS_F16 && moss_gemm_f32_f16));
  if (gemm_ok) {
    const int64_t M = out->shape[nd - 2], N = out->shape[nd - 1], K = a->shape[nd - 1];
    int64_t batch = 1;
    for (int i = 0; i < nd - 2; i++) batch *= out->shape[i];
    for (int64_t bi = 0; bi < batch; bi++) {
      int64_t r = bi, ao = 0, bo = 0, oo = 0;
      for (int i = nd - 3; i >= 0; i--) {
        const int64_t k = r % out->shape[i];
        r /= out->shape[i];
        ao += k * a->strides[i];
        bo += k * b->strides[i];
        oo += k * out->strides[i];
      }
      const int64_t rsa = a->strides[nd - 2], csa = a->strides[nd - 1], rsb = b->strides[nd - 2],
                    csb = b->strides[nd - 1], ldc = M > 1 ? out->strides[nd - 2] : N;
      float* C = reinterpret_cast<float*>(out->data) + oo;
      if (a->dtype == MOSS_F32 && b->dtype == MOSS_F32)
        moss_gemm_f32(M, N, K, reinterpret_cast<const float*>(a->data) + ao, rsa, csa,
                      reinterpret_cast<const float*>(b->data) + bo, rsb, csb, C, ldc, 0);
      else if (a->dtype == MOSS_BF16)
        moss_gemm_bf16(M, N, K, reinterpret_cast<const uint16_t*>(a->data) + ao, rsa, csa,
                       reinterpret_cast<const uint16_t*>(b->data) + bo, rsb, csb, C, ldc, 0);
      else if (b->dtype == MOSS_BF16)
        moss_gemm_f32_bf16(M, N, K, reinterpret_cast<const float*>(a->data) + ao, rsa, csa,
                           reinterpret_cast<const uint16_t*>(b->data) + bo, rsb, csb, C, ldc, 0);
      else
        moss_gemm_f32_f16(M, N, K, reinterpret_cast<const float*>(a->data) + ao, rsa, csa,
                          reinterpret_cast<const uint16_t*>(b->data) + bo, rsb, csb, C, ldc, 0);
    }
    return;
  }
  const int64_t M = out->shape[nd - 2], N = out->shape[nd - 1], Kd = a->shape[nd - 1];
  int64_t batch = 1;
  for (int i = 0; i < nd - 2; i++) batch *= out->shape[i];
  const int64_t asz = dsize(a->dtype), bsz = dsize(b->dtype), osz = dsize(out->dtype);
  std::unique_ptr<float[]> panel(new float[(size_t)(Kd * N + 1)]);
  for (int64_t bi = 0; bi < batch; bi++) {
    int64_t r = bi, ao = 0, bo = 0, oo = 0;
    for (int i = nd - 3; i >= 0; i--) {
      const int64_t k = r % out->shape[i];
      r /= out->shape[i];
      ao += k * a->strides[i];
      bo += k * b->strides[i];
      oo += k * out->strides[i];
    }
    float* pb = panel.get();
    if (b->dtype == MOSS_Q8_0 || b->dtype == MOSS_Q4_0) {
      quant_panel(pb, *b, bo, Kd, N, b->strides[nd - 2], b->strides[nd - 1]);
    } else {
      for (int64_t kk = 0; kk < Kd; kk++) {
        const float* src =
            load_row(pb + kk * N, b->dtype, ptr(*b) + (bo + kk * b->strides[nd - 2]) * bsz, b->strides[nd - 1], N);
        if (src != pb + kk * N) std::memcpy(pb + kk * N, src, N * 4);
      }
    }
    par(M, Kd * N, [&](int64_t m0, int64_t m1) {
      float* arow = scratch(0, Kd);
      float* acc = scratch(1, N);
      for (int64_t m = m0; m < m1; m++) {
        const float* ar = load_row(arow, a->dtype, ptr(*a) + (ao + m * a->strides[nd - 2]) * asz,
                                   a->strides[nd - 1], Kd);
        for (int64_t j = 0; j < N; j++) acc[j] = 0.0f;
        for (int64_t kk = 0; kk < Kd; kk++) K().axpy(acc, ar[kk], pb + kk * N, N);
        store_row(out->dtype, ptr(*out) + (oo + m * out->strides[nd - 2]) * osz, out->strides[nd - 1], acc, N);
      }
    });
  }
}
