// Quantized matmul over moss_views (see view.h): the layout check and the batch walk that turn a
// Backend.matmul call into moss_qmatmul calls (q8_0/q4_0) or moss_kq_matmul calls (k-quants and
// iq4_nl, native/src/kquant). Deliberately does not: touch N-API.
#include "view.h"

#include "../gptq/gptq.h"
#include "../kquant/kquant.h"
#include "quant.h"

namespace {
// Elements and bytes per block of a quantized weight dtype (0 when not one).
void block_of(int dt, int64_t* bs, int64_t* bb) {
  if (dt == MOSS_Q8_0 || dt == MOSS_Q4_0) {
    *bs = 32;
    *bb = moss_qblock_bytes(dt == MOSS_Q8_0 ? MOSS_QTYPE_Q8_0 : MOSS_QTYPE_Q4_0);
  } else if (moss_kq_is(dt)) {
    *bs = moss_kq_block_size(dt);
    *bb = moss_kq_block_bytes(dt);
  } else if (moss_gq_is(dt)) {
    *bs = 128;
    *bb = moss_gq_block_bytes(dt);
  } else {
    *bs = *bb = 0;
  }
}
}  // namespace

extern "C" int moss_qmatmul_view_check(const moss_view* op, const moss_view* ap, const moss_view* bp, int64_t* w_end) {
  if (!op || !ap || !bp) return 0;
  const moss_view &o = *op, &a = *ap, &b = *bp;
  const int nd = o.ndim;
  int64_t bs, bb;
  block_of(b.dtype, &bs, &bb);
  if (nd < 2 || a.ndim != nd || b.ndim != nd || o.dtype != MOSS_F32 || a.dtype != MOSS_F32 || bs == 0) return 0;
  const int64_t M = o.shape[nd - 2], N = o.shape[nd - 1], K = a.shape[nd - 1];
  const int64_t S = b.strides[nd - 1];
  if (b.shape[nd - 2] != K || b.shape[nd - 1] != N || a.shape[nd - 2] != M || K % bs != 0 ||
      (K > 1 && b.strides[nd - 2] != 1) || (N > 1 && (S % bs != 0 || S < K)) ||
      (N > 1 && o.strides[nd - 1] != 1) || (K > 1 && a.strides[nd - 1] != 1))
    return 0;
  int64_t bmax = 0;
  for (int i = 0; i < nd - 2; i++) {
    if (b.strides[i] % bs != 0) return 0;
    if (b.shape[i] > 0) bmax += (b.shape[i] - 1) * b.strides[i];
  }
  const int64_t last = N > 0 && K > 0 ? bmax + (N - 1) * (N > 1 ? S : 0) + K : 0;
  *w_end = last / bs * bb;
  return 1;
}

extern "C" void moss_qmatmul_view(const moss_view* op, const moss_view* ap, const moss_view* bp) {
  const moss_view &o = *op, &a = *ap, &b = *bp;
  const int nd = o.ndim;
  const int64_t M = o.shape[nd - 2], N = o.shape[nd - 1], K = a.shape[nd - 1];
  const int64_t S = b.strides[nd - 1];
  int64_t bs, bb;
  block_of(b.dtype, &bs, &bb);
  const bool k = moss_kq_is(b.dtype);
  const int qt = b.dtype == MOSS_Q8_0 ? MOSS_QTYPE_Q8_0 : MOSS_QTYPE_Q4_0;
  int64_t batch = 1;
  for (int i = 0; i < nd - 2; i++) batch *= o.shape[i];
  for (int64_t t = 0; t < batch; t++) {
    int64_t rem = t, oo = 0, ao = 0, bo = 0;
    for (int i = nd - 3; i >= 0; i--) {
      const int64_t idx = rem % o.shape[i];
      rem /= o.shape[i];
      oo += idx * o.strides[i];
      ao += idx * a.strides[i];
      bo += idx * b.strides[i];
    }
    const int64_t lda = M > 1 ? a.strides[nd - 2] : K, ldc = M > 1 ? o.strides[nd - 2] : N;
    const float* A = static_cast<const float*>(a.data) + ao;
    const uint8_t* W = static_cast<const uint8_t*>(b.data) + bo / bs * bb;
    const int64_t wr = N > 1 ? S / bs * bb : K / bs * bb;
    float* C = static_cast<float*>(o.data) + oo;
    if (moss_gq_is(b.dtype)) moss_gq_matmul(b.dtype, M, N, K, A, lda, W, wr, C, ldc);
    else if (k) moss_kq_matmul(b.dtype, M, N, K, A, lda, W, wr, C, ldc);
    else moss_qmatmul(qt, M, N, K, A, lda, W, wr, C, ldc);
  }
}
