// rope (interleaved GPT-J/MOSS pairs or half-split LLaMA pairs, partial rotary dim, inverse) and
// attention (causal with per-row pastLen / kvLen, optional sliding window, GQA, f32 scores, stable softmax), forward with an
// optional row logsumexp and the fused backward (flash-attention-2 math; per-head SIMD kernels in
// attention_impl.inc through K()). Angles are computed in f64 like the TypeScript reference.
// The forward runs one job per (batch, head, block of 64 queries); the backward one job per
// (batch, kv head), which owns dK/dV of that head and loops over the query heads sharing it (GQA),
// so nothing is shared between threads. Each job gathers its head into contiguous f32 panels
// (K^T, V^T zero-padded to 16 columns), so any strides and f16/bf16 inputs work; decode (1-2
// query rows) instead reads K/V rows in place with the row kernels (dot, axpy), and so does a block
// whose sliding window (Mistral: query at p sees keys p - window + 1 .. p) starts past key 0.
// Deliberately does not: tile over keys (a head's K/V panels are assumed to fit in L2), or split
// one head's backward across threads (few-head backward runs on few threads).
#include <cstring>
#include <vector>

#include "rows.h"

using namespace moss;

extern "C" void moss_rope(const moss_view* out, const moss_view* x, const moss_view* positions, int rotary_dim,
                          int interleaved, double base, int inverse, const float* freq_factors) {
  const int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2], D = x->shape[3];
  const int64_t half = rotary_dim / 2;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; i++) {
    inv[i] = std::pow(base, -2.0 * (double)i / (double)rotary_dim);
    if (freq_factors) inv[i] /= (double)freq_factors[i];
  }
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

constexpr int64_t kQB = 64;  // query rows per forward job

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Keys query i (of this chunk) sees in batch row b.
inline int64_t visible(int64_t i, int64_t b, int64_t Tk, bool causal, const int64_t* past_len, const int64_t* kv_len) {
  int64_t lim = kv_len[b] < Tk ? kv_len[b] : Tk;
  if (causal && past_len[b] + i + 1 < lim) lim = past_len[b] + i + 1;
  return lim < 0 ? 0 : lim;
}

// First key query i of batch row b sees: past_len[b] + i + 1 - window under a causal sliding window.
inline int64_t first_key(int64_t i, int64_t b, bool causal, int64_t window, const int64_t* past_len) {
  const int64_t lo = causal && window > 0 ? past_len[b] + i + 1 - window : 0;
  return lo > 0 ? lo : 0;
}

// Rows t0 .. t0+n of head (b, h) -> dst (n rows, ld ld) as f32, then zero rows up to `pad`.
void gather_rows(float* dst, int64_t ld, const View& x, int64_t b, int64_t h, int64_t t0, int64_t n, int64_t pad) {
  const int64_t D = x.shape[3];
  for (int64_t r = 0; r < n; r++) {
    const float* row = load_row(dst + r * ld, x.dtype, at4(x, b, h, t0 + r), x.strides[3], D);
    if (row != dst + r * ld) std::memcpy(dst + r * ld, row, D * sizeof(float));
  }
  for (int64_t r = n; r < pad; r++) std::memset(dst + r * ld, 0, D * sizeof(float));
}

// Keys 0 .. n of head (b, h) -> transposed panel dst (D x ldk), zero in columns n .. ldk.
void gather_t(float* dst, int64_t ldk, float* tmp, const View& x, int64_t b, int64_t h, int64_t n) {
  const int64_t D = x.shape[3];
  for (int64_t j = 0; j < n; j++) {
    const float* row = load_row(tmp, x.dtype, at4(x, b, h, j), x.strides[3], D);
    for (int64_t e = 0; e < D; e++) dst[e * ldk + j] = row[e];
  }
  for (int64_t e = 0; e < D; e++)
    for (int64_t j = n; j < ldk; j++) dst[e * ldk + j] = 0.0f;
}

// Rows of head (b, h) usable in place: contiguous f32 rows; else gathered into buf. Returns rows + ld.
const float* rows_of(const View& x, int64_t b, int64_t h, int64_t n, float* buf, int64_t* ld) {
  if (x.dtype == MOSS_F32 && x.strides[3] == 1 && n > 0) {
    *ld = n > 1 ? x.strides[2] : x.shape[3];
    return reinterpret_cast<const float*>(at4(x, b, h, 0));
  }
  *ld = x.shape[3];
  gather_rows(buf, *ld, x, b, h, 0, n, n);
  return buf;
}

inline float* lse_at(const View& l, int64_t b, int64_t h, int64_t i) {
  return reinterpret_cast<float*>(ptr(l)) + b * l.strides[0] + h * l.strides[1] + i * l.strides[2];
}

// Carves consecutive float arrays out of one per-thread scratch block (64-byte aligned pieces).
struct Arena {
  float* p;
  float* take(int64_t n) {
    float* r = p;
    p += round_up(n, 16);
    return r;
  }
};
}  // namespace

extern "C" void moss_attention(const moss_view* out, const moss_view* lse, const moss_view* q, const moss_view* k,
                               const moss_view* v, float scale, int causal, const int64_t* past_len,
                               const int64_t* kv_len, int64_t window) {
  const int64_t B = q->shape[0], H = q->shape[1], Tq = q->shape[2], D = q->shape[3];
  const int64_t Hkv = k->shape[1], Tk = k->shape[2], Dv = v->shape[3], group = H / Hkv;
  const int64_t nqb = (Tq + kQB - 1) / kQB;
  // Jobs in (b, kv head, query block, head of the group) order: the query heads sharing a kv head
  // follow each other, so a thread's consecutive jobs gather the K^T panel once (see `have`).
  par(B * H * nqb, (Tk + 1) * (D + Dv) * (Tq < kQB ? Tq : kQB), [&](int64_t j0, int64_t j1) {
    std::vector<int64_t> lim(kQB), lo(kQB);
    const float* have = nullptr;  // the panel in this thread's scratch: K^T of (have_b, have_hk), have_n keys
    int64_t have_b = -1, have_hk = -1, have_n = -1;
    for (int64_t job = j0; job < j1; job++) {
      const int64_t g = job % group, qb = (job / group) % nqb, hk = (job / (group * nqb)) % Hkv, b = job / (group * nqb * Hkv);
      const int64_t h = hk * group + g;
      const int64_t i0 = qb * kQB, tq = Tq - i0 < kQB ? Tq - i0 : kQB;
      int64_t n = 0;
      bool windowed = false;
      for (int64_t r = 0; r < tq; r++) {
        lim[r] = visible(i0 + r, b, Tk, causal, past_len, kv_len);
        lo[r] = first_key(i0 + r, b, causal, window, past_len);
        windowed = windowed || (lo[r] > 0 && lo[r] < lim[r]);
        n = lim[r] > n ? lim[r] : n;
      }
      if (tq <= 2 || windowed) {  // decode (or a window): rows read K/V rows in place (no transposed panel)
        have = nullptr;  // this path reuses the scratch the panel was in
        Arena a{scratch(0, n + tq * Dv + n * (D + Dv) + 2 * (D + Dv) + 96)};
        float* sc = a.take(n);
        float* ob = a.take(tq * Dv);
        float* kbuf = a.take(n * D);
        float* vbuf = a.take(n * Dv);
        float* bq = a.take(D + Dv);
        int64_t ldk = D, ldv = Dv;
        const float* kr = rows_of(*k, b, hk, n, kbuf, &ldk);
        const float* vr = rows_of(*v, b, hk, n, vbuf, &ldv);
        for (int64_t r = 0; r < tq; r++) {
          const float* qr = load_row(bq, q->dtype, at4(*q, b, h, i0 + r), q->strides[3], D);
          float* acc = ob + r * Dv;
          for (int64_t e = 0; e < Dv; e++) acc[e] = 0.0f;
          float l = -INFINITY;
          const int64_t k0 = lo[r] < lim[r] ? lo[r] : lim[r], nj = lim[r] - k0;
          if (nj > 0) {
            for (int64_t j = 0; j < nj; j++) sc[j] = K().dot(qr, kr + (k0 + j) * ldk, D) * scale;
            const float m = K().max(sc, nj);
            for (int64_t j = 0; j < nj; j++) sc[j] -= m;
            K().unary(MOSS_EXP, sc, sc, nj);
            const double sum = K().sum(sc, nj);
            const float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < nj; j++) K().axpy(acc, sc[j] * inv, vr + (k0 + j) * ldv, Dv);
            l = m + (float)std::log(sum);
          }
          store_row(out->dtype, at4(*out, b, h, i0 + r), out->strides[3], acc, Dv);
          if (lse) *lse_at(*lse, b, h, i0 + r) = l;
        }
        continue;
      }
      const int64_t ldk = round_up(n > 0 ? n : 1, 16);
      const int64_t tqp = round_up(tq, 4);
      Arena a{scratch(0, round_up(tqp * D, 16) + D * ldk + n * Dv + tq * Dv + 4 * (ldk + Dv) + 2 * tq + (D + Dv) + 96)};
      float* qb_ = a.take(tqp * D);
      float* kt = a.take(D * ldk);
      float* vbuf = a.take(n * Dv);
      float* ob = a.take(tq * Dv);
      float* sb = a.take(4 * (ldk + Dv));
      float* lb = a.take(tq);
      float* tmp = a.take(D + Dv);
      gather_rows(qb_, D, *q, b, h, i0, tq, tqp);
      // the panel depends only on (b, hk, n) and sits at the same place while the arena's size is unchanged
      if (kt != have || b != have_b || hk != have_hk || n != have_n) {
        gather_t(kt, ldk, tmp, *k, b, hk, n);
        have = kt, have_b = b, have_hk = hk, have_n = n;
      }
      int64_t ldv = Dv;
      const float* vr = rows_of(*v, b, hk, n, vbuf, &ldv);
      K().attn_fwd(ob, lb, qb_, kt, ldk, vr, ldv, lim.data(), tq, D, Dv, scale, sb);
      for (int64_t r = 0; r < tq; r++) store_row(out->dtype, at4(*out, b, h, i0 + r), out->strides[3], ob + r * Dv, Dv);
      if (lse)
        for (int64_t r = 0; r < tq; r++) *lse_at(*lse, b, h, i0 + r) = lb[r];
    }
  });
}

extern "C" void moss_attention_backward(const moss_view* dq, const moss_view* dk, const moss_view* dv,
                                        const moss_view* dout, const moss_view* q, const moss_view* k,
                                        const moss_view* v, const moss_view* out, const moss_view* lse, float scale,
                                        int causal, const int64_t* past_len, const int64_t* kv_len) {
  const int64_t B = q->shape[0], H = q->shape[1], Tq = q->shape[2], D = q->shape[3];
  const int64_t Hkv = k->shape[1], Tk = k->shape[2], Dv = v->shape[3], group = H / Hkv;
  par(B * Hkv, group * (Tk + 1) * (D + Dv) * Tq, [&](int64_t j0, int64_t j1) {
    std::vector<int64_t> lim(Tq);
    for (int64_t job = j0; job < j1; job++) {
      const int64_t hk = job % Hkv, b = job / Hkv;
      int64_t n = 0;
      for (int64_t i = 0; i < Tq; i++) {
        lim[i] = visible(i, b, Tk, causal, past_len, kv_len);
        n = lim[i] > n ? lim[i] : n;
      }
      const int64_t ldk = round_up(n > 0 ? n : 1, 16);
      const int64_t tqp = round_up(Tq, 4);
      Arena a{scratch(0, (D + Dv) * ldk + n * D + n * D + n * Dv + tqp * (D + Dv) + Tq * Dv + Tq * D + Tq +
                             8 * ldk + 4 * D + (D + Dv) + 192)};
      float* kt = a.take(D * ldk);
      float* vt = a.take(Dv * ldk);
      float* kbuf = a.take(n * D);
      float* dka = a.take(n * D);
      float* dva = a.take(n * Dv);
      float* qb_ = a.take(tqp * D);
      float* gb = a.take(tqp * Dv);
      float* ob = a.take(Tq * Dv);
      float* dqb = a.take(Tq * D);
      float* lb = a.take(Tq);
      float* sb = a.take(4 * ldk);
      float* pb = a.take(4 * (ldk + D));
      float* tmp = a.take(D + Dv);
      gather_t(kt, ldk, tmp, *k, b, hk, n);
      gather_t(vt, ldk, tmp, *v, b, hk, n);
      int64_t ldkr = D;
      const float* kr = rows_of(*k, b, hk, n, kbuf, &ldkr);
      std::memset(dka, 0, n * D * sizeof(float));
      std::memset(dva, 0, n * Dv * sizeof(float));
      for (int64_t h = hk * group; h < (hk + 1) * group; h++) {
        gather_rows(qb_, D, *q, b, h, 0, Tq, tqp);
        gather_rows(gb, Dv, *dout, b, h, 0, Tq, tqp);
        gather_rows(ob, Dv, *out, b, h, 0, Tq, Tq);
        for (int64_t i = 0; i < Tq; i++) lb[i] = *lse_at(*lse, b, h, i);
        K().attn_bwd(dqb, dka, dva, qb_, gb, ob, lb, kt, vt, ldk, kr, ldkr, lim.data(), Tq, D, Dv, scale, sb, pb);
        for (int64_t i = 0; i < Tq; i++) store_row(dq->dtype, at4(*dq, b, h, i), dq->strides[3], dqb + i * D, D);
      }
      for (int64_t j = 0; j < Tk; j++) {
        if (j < n) {
          store_row(dk->dtype, at4(*dk, b, hk, j), dk->strides[3], dka + j * D, D);
          store_row(dv->dtype, at4(*dv, b, hk, j), dv->strides[3], dva + j * Dv, Dv);
        } else {
          std::memset(tmp, 0, (D + Dv) * sizeof(float));
          store_row(dk->dtype, at4(*dk, b, hk, j), dk->strides[3], tmp, D);
          store_row(dv->dtype, at4(*dv, b, hk, j), dv->strides[3], tmp, Dv);
        }
      }
    }
  });
}
