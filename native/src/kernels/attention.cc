// rope (interleaved GPT-J/MOSS pairs or half-split LLaMA pairs, partial rotary dim, inverse) and
// attention (causal with per-row pastLen / kvLen, GQA, f32 scores, stable softmax).
// Attention parallelises over (batch, head, query) rows; each row computes its scores against the
// visible keys (strided k/v views allowed, e.g. a KV cache with spare capacity), softmaxes them and
// accumulates the values. Angles are computed in f64 like the TypeScript reference.
// Deliberately does not: tile over keys (flash-style) or compute gradients.
#include <vector>

#include "rows.h"

using namespace moss;

extern "C" void moss_rope(const moss_view* out, const moss_view* x, const moss_view* positions, int rotary_dim,
                          int interleaved, double base, int inverse) {
  const int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2], D = x->shape[3];
  const int64_t half = rotary_dim / 2;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; i++) inv[i] = std::pow(base, -2.0 * (double)i / (double)rotary_dim);
  Rows ro(*out), rx(*x);  // rows of D: (b, t, h) -> row (b*T + t)*H + h
  par(B * T, H * D, [&](int64_t p0, int64_t p1) {
    float* cs = scratch(0, 2 * half + 2);
    float* bx = scratch(1, D);
    float* bo = scratch(2, D);
    for (int64_t bt = p0; bt < p1; bt++) {
      const double pos = (double)read_index(positions->dtype, elem_ptr(*positions, bt));
      for (int64_t i = 0; i < half; i++) {
        const double ang = inverse ? -pos * inv[i] : pos * inv[i];
        cs[2 * i] = (float)std::cos(ang);
        cs[2 * i + 1] = (float)std::sin(ang);
      }
      for (int64_t h = 0; h < H; h++) {
        const int64_t r = bt * H + h;
        const float* xi = rx.load(bx, r);
        float* o = ro.dst(bo, r);
        for (int64_t i = 0; i < half; i++) {
          const int64_t i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + half;
          const float c = cs[2 * i], s = cs[2 * i + 1], a = xi[i0], b = xi[i1];
          o[i0] = a * c - b * s;
          o[i1] = a * s + b * c;
        }
        for (int64_t j = 2 * half; j < D; j++) o[j] = xi[j];
        ro.finish(r, o);
      }
    }
  });
}

namespace {
// Pointer to row (b, h, t) of a (B, H, T, D) view.
inline char* at4(const View& v, int64_t b, int64_t h, int64_t t) {
  return ptr(v) + (b * v.strides[0] + h * v.strides[1] + t * v.strides[2]) * dsize(v.dtype);
}
}  // namespace

extern "C" void moss_attention(const moss_view* out, const moss_view* q, const moss_view* k, const moss_view* v,
                               float scale, int causal, const int64_t* past_len, const int64_t* kv_len) {
  const int64_t B = q->shape[0], H = q->shape[1], Tq = q->shape[2], D = q->shape[3];
  const int64_t Hkv = k->shape[1], Tk = k->shape[2], group = H / Hkv;
  const int64_t kst = k->strides[3], vst = v->strides[3], qst = q->strides[3], ost = out->strides[3];
  const bool kf32 = k->dtype == MOSS_F32 && kst == 1, vf32 = v->dtype == MOSS_F32 && vst == 1;
  par(B * H * Tq, Tk * D + 1, [&](int64_t r0, int64_t r1) {
    float* sc = scratch(0, Tk + 1);
    float* bq = scratch(1, D);
    float* acc = scratch(2, D);
    float* bk = scratch(3, D);
    for (int64_t r = r0; r < r1; r++) {
      const int64_t i = r % Tq, h = (r / Tq) % H, b = r / (Tq * H), hk = h / group;
      int64_t lim = kv_len[b] < Tk ? kv_len[b] : Tk;
      if (causal && past_len[b] + i + 1 < lim) lim = past_len[b] + i + 1;
      if (lim < 0) lim = 0;
      const float* qr = load_row(bq, q->dtype, at4(*q, b, h, i), qst, D);
      float m = -INFINITY;
      for (int64_t j = 0; j < lim; j++) {
        const char* kp = at4(*k, b, hk, j);
        const float* kr = kf32 ? reinterpret_cast<const float*>(kp) : load_row(bk, k->dtype, kp, kst, D);
        const float s = K().dot(qr, kr, D) * scale;
        sc[j] = s;
        m = s > m ? s : m;
      }
      for (int64_t d = 0; d < D; d++) acc[d] = 0.0f;
      if (lim > 0) {
        for (int64_t j = 0; j < lim; j++) sc[j] -= m;
        K().unary(MOSS_EXP, sc, sc, lim);
        const float inv = (float)(1.0 / K().sum(sc, lim));
        for (int64_t j = 0; j < lim; j++) {
          const char* vp = at4(*v, b, hk, j);
          const float* vr = vf32 ? reinterpret_cast<const float*>(vp) : load_row(bk, v->dtype, vp, vst, D);
          K().axpy(acc, sc[j] * inv, vr, D);
        }
      }
      store_row(out->dtype, at4(*out, b, h, i), ost, acc, D);
    }
  });
}
