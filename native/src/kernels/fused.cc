// Fused row kernels: softmax, logSoftmax, layerNorm (+backward), rmsNorm (+backward),
// crossEntropy (+dlogits) and the AdamW step, with the semantics of src/backends/backend.ts.
// Rows run in parallel on the pool; the per-row math is the SIMD code of isa_impl.inc.
// Deliberately does not: fuse further (e.g. residual adds) — the tensor layer composes those.
#include <memory>
#include <mutex>
#include <vector>

#include "rows.h"

using namespace moss;

namespace {
template <typename RowOp>
void rowwise(const View* out, const View* a, RowOp op) {
  Rows o(*out), x(*a);
  par(x.N, x.C, [&](int64_t r0, int64_t r1) {
    float* bx = scratch(0, x.C);
    float* bo = scratch(1, x.C);
    for (int64_t r = r0; r < r1; r++) {
      float* d = o.dst(bo, r);
      op(d, x.load(bx, r), x.C);
      o.finish(r, d);
    }
  });
}
}  // namespace

extern "C" void moss_softmax(const moss_view* out, const moss_view* a) {
  rowwise(out, a, [](float* d, const float* s, int64_t n) { K().softmax(d, s, n); });
}
extern "C" void moss_log_softmax(const moss_view* out, const moss_view* a) {
  rowwise(out, a, [](float* d, const float* s, int64_t n) { K().log_softmax(d, s, n); });
}

extern "C" void moss_layer_norm(const moss_view* y, const moss_view* mean, const moss_view* rstd,
                                const moss_view* x, const moss_view* w, const moss_view* b, float eps) {
  Rows ry(*y), rx(*x);
  const int64_t C = rx.C;
  std::unique_ptr<float[]> wb(new float[2 * C + 2]);
  const float* wf = vec(w, wb.get());
  const float* bf = vec(b, wb.get() + C);
  par(rx.N, C, [&](int64_t r0, int64_t r1) {
    float* bx = scratch(0, C);
    float* bo = scratch(1, C);
    for (int64_t r = r0; r < r1; r++) {
      float m, s;
      float* d = ry.dst(bo, r);
      K().layer_norm(d, rx.load(bx, r), wf, bf, C, eps, &m, &s);
      ry.finish(r, d);
      write_d(mean->dtype, elem_ptr(*mean, r), m);
      write_d(rstd->dtype, elem_ptr(*rstd, r), s);
    }
  });
}

namespace {
// Runs rows [0, N) in up to num_threads() chunks; each chunk gets its own zeroed partial sums of
// `width` floats (for dw / db), which are then added together in chunk order.
template <typename Body>
std::vector<float> rows_with_partials(int64_t N, int64_t C, int64_t width, Body body) {
  const int64_t nch = (N * C >= kParMin && num_threads() > 1) ? (N < num_threads() ? N : num_threads()) : 1;
  std::vector<float> part((size_t)(nch * width), 0.0f);
  auto run = [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) body(N * c / nch, N * (c + 1) / nch, part.data() + c * width);
  };
  if (nch > 1) parallel_for(nch, run);
  else run(0, 1);
  for (int64_t c = 1; c < nch; c++)
    for (int64_t j = 0; j < width; j++) part[j] += part[c * width + j];
  part.resize((size_t)width);
  return part;
}
void accumulate(const View* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    char* p = elem_ptr(*dst, i);
    write_d(dst->dtype, p, read_d(dst->dtype, p) + src[i]);
  }
}
}  // namespace

extern "C" void moss_layer_norm_backward(const moss_view* dx, const moss_view* dw, const moss_view* db,
                                         const moss_view* dy, const moss_view* x, const moss_view* mean,
                                         const moss_view* rstd, const moss_view* w) {
  Rows rdx(*dx), rdy(*dy), rx(*x);
  const int64_t C = rx.C, N = rx.N;
  std::unique_ptr<float[]> wb(new float[C + 1]);
  const float* wf = vec(w, wb.get());
  std::vector<float> sums = rows_with_partials(N, C, 2 * C, [&](int64_t r0, int64_t r1, float* acc) {
    float* bx = scratch(0, C);
    float* bdy = scratch(1, C);
    float* bo = scratch(2, C);
    float* xh = scratch(3, C);
    float* g = scratch(4, C);
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = rx.load(bx, r);
      const float* dyr = rdy.load(bdy, r);
      const float m = elem(*mean, r), s = elem(*rstd, r);
      float sg = 0, sgx = 0;
      for (int64_t j = 0; j < C; j++) {
        xh[j] = (xr[j] - m) * s;
        g[j] = wf ? dyr[j] * wf[j] : dyr[j];
        sg += g[j];
        sgx += g[j] * xh[j];
        acc[j] += dyr[j] * xh[j];
        acc[C + j] += dyr[j];
      }
      sg /= (float)C;
      sgx /= (float)C;
      float* d = rdx.dst(bo, r);
      for (int64_t j = 0; j < C; j++) d[j] = s * (g[j] - sg - xh[j] * sgx);
      rdx.finish(r, d);
    }
  });
  if (dw) accumulate(dw, sums.data(), C);
  if (db) accumulate(db, sums.data() + C, C);
}

extern "C" void moss_rms_norm(const moss_view* y, const moss_view* rstd, const moss_view* x, const moss_view* w,
                              float eps) {
  Rows ry(*y), rx(*x);
  const int64_t C = rx.C;
  std::unique_ptr<float[]> wb(new float[C + 1]);
  const float* wf = vec(w, wb.get());
  par(rx.N, C, [&](int64_t r0, int64_t r1) {
    float* bx = scratch(0, C);
    float* bo = scratch(1, C);
    for (int64_t r = r0; r < r1; r++) {
      float s;
      float* d = ry.dst(bo, r);
      K().rms_norm(d, rx.load(bx, r), wf, C, eps, &s);
      ry.finish(r, d);
      write_d(rstd->dtype, elem_ptr(*rstd, r), s);
    }
  });
}

extern "C" void moss_rms_norm_backward(const moss_view* dx, const moss_view* dw, const moss_view* dy,
                                       const moss_view* x, const moss_view* rstd, const moss_view* w) {
  Rows rdx(*dx), rdy(*dy), rx(*x);
  const int64_t C = rx.C, N = rx.N;
  std::unique_ptr<float[]> wb(new float[C + 1]);
  const float* wf = vec(w, wb.get());
  std::vector<float> sums = rows_with_partials(N, C, C, [&](int64_t r0, int64_t r1, float* acc) {
    float* bx = scratch(0, C);
    float* bdy = scratch(1, C);
    float* bo = scratch(2, C);
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = rx.load(bx, r);
      const float* dyr = rdy.load(bdy, r);
      const float s = elem(*rstd, r);
      float sgx = 0;
      for (int64_t j = 0; j < C; j++) {
        const float xh = xr[j] * s;
        const float g = wf ? dyr[j] * wf[j] : dyr[j];
        sgx += g * xh;
        acc[j] += dyr[j] * xh;
      }
      sgx /= (float)C;
      float* d = rdx.dst(bo, r);
      for (int64_t j = 0; j < C; j++) {
        const float g = wf ? dyr[j] * wf[j] : dyr[j];
        d[j] = s * (g - xr[j] * s * sgx);
      }
      rdx.finish(r, d);
    }
  });
  if (dw) accumulate(dw, sums.data(), C);
}

extern "C" void moss_cross_entropy(const moss_view* loss, const moss_view* dlogits, const moss_view* logits,
                                   const moss_view* targets, int64_t ignore_index, float gscale) {
  Rows rl(*logits);
  const int64_t V = rl.C;
  Rows* rd = nullptr;
  Rows rdv = dlogits ? Rows(*dlogits) : rl;
  if (dlogits) rd = &rdv;
  par(rl.N, V, [&](int64_t r0, int64_t r1) {
    float* bx = scratch(0, V);
    float* bo = scratch(1, V);
    for (int64_t r = r0; r < r1; r++) {
      const int64_t t = read_index(targets->dtype, elem_ptr(*targets, r));
      const bool keep = t != ignore_index;
      const float* x = rl.load(bx, r);
      float* d = rd ? rd->dst(bo, r) : bo;
      float l = 0;
      if (keep) {
        K().log_softmax(d, x, V);
        l = -d[t];
      }
      write_d(loss->dtype, elem_ptr(*loss, r), l);
      if (!rd) continue;
      if (keep) {
        K().unary(MOSS_EXP, d, d, V);  // SIMD exp (std::exp here was ~half of a (2048, 8192) call)
        K().scale(d, gscale, V);
        d[t] -= gscale;
      } else {
        for (int64_t j = 0; j < V; j++) d[j] = 0.0f;
      }
      rd->finish(r, d);
    }
  });
}

extern "C" void moss_adamw(const moss_view* param, const moss_view* grad, const moss_view* m, const moss_view* v,
                           double lr, double b1, double b2, double eps, double wd, double step) {
  const int64_t n = numel(*param);
  const float bc1 = (float)(1.0 - std::pow(b1, step)), bc2 = (float)(1.0 - std::pow(b2, step));
  float* p = reinterpret_cast<float*>(param->data);
  const float* g = reinterpret_cast<const float*>(grad->data);
  float* mm = reinterpret_cast<float*>(m->data);
  float* vv = reinterpret_cast<float*>(v->data);
  const int64_t blk = 1 << 14;
  par((n + blk - 1) / blk, blk, [&](int64_t b0, int64_t b1_) {
    const int64_t i0 = b0 * blk, i1 = b1_ * blk < n ? b1_ * blk : n;
    K().adamw(p + i0, g + i0, mm + i0, vv + i0, i1 - i0, (float)lr, (float)b1, (float)(1.0 - b1), (float)b2,
              (float)(1.0 - b2), (float)eps, (float)wd, bc1, bc2);
  });
}
