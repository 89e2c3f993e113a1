// reduce (sum/max/min over any set of axes, keepdim output) and argreduce (first arg-max/min along
// one axis). Each output element walks its reduced sub-space; when the innermost reduced axis is
// contiguous f32 the walk uses the SIMD row kernels. Sums accumulate in f64.
// f32 sums over leading axes (bias grads) add whole rows into f64 column accumulators instead.
// Deliberately does not: special-case other reductions over outer axes (correct, less fast).
#include "common.h"

using namespace moss;

namespace {
struct Split {
  int nk = 0, nr = 0;
  int64_t kshape[MOSS_MAX_DIMS], kst_a[MOSS_MAX_DIMS], kst_o[MOSS_MAX_DIMS];
  int64_t rshape[MOSS_MAX_DIMS], rst[MOSS_MAX_DIMS];
};
}  // namespace

namespace {
// Sum of f32 over leading axes whose kept trailing axes are one contiguous block in a and out
// (bias grads: (B, T, C) -> (C)): rows are added into f64 column accumulators, reading a
// sequentially, instead of walking each column with a large stride. Returns false when not that case.
bool sum_leading(const moss_view* out, const moss_view* a, uint32_t mask) {
  if (a->dtype != MOSS_F32 || out->dtype != MOSS_F32) return false;
  int64_t rshape[MOSS_MAX_DIMS], rst[MOSS_MAX_DIMS];
  int nr = 0;
  int64_t ncol = 1, ast = 1, ost = 1;
  bool kept = false;
  for (int i = a->ndim - 1; i >= 0; i--) {
    if (a->shape[i] == 1) continue;
    if (mask & (1u << i)) {
      rshape[nr] = a->shape[i];
      rst[nr++] = a->strides[i];
    } else {
      if (nr > 0 || a->strides[i] != ast || out->strides[i] != ost) return false;  // kept axes: a trailing block
      ast *= a->shape[i];
      ost *= a->shape[i];
      ncol *= a->shape[i];
      kept = true;
    }
  }
  if (!kept || nr == 0) return false;
  int64_t nrow = 1;
  for (int i = 0; i < nr; i++) nrow *= rshape[i];
  const float* base = reinterpret_cast<const float*>(ptr(*a));
  float* o = reinterpret_cast<float*>(ptr(*out));
  constexpr int64_t kCols = 512;
  par((ncol + kCols - 1) / kCols, nrow * kCols, [&](int64_t c0, int64_t c1) {
    double acc[kCols];
    for (int64_t cb = c0; cb < c1; cb++) {
      const int64_t j0 = cb * kCols, n = ncol - j0 < kCols ? ncol - j0 : kCols;
      for (int64_t j = 0; j < n; j++) acc[j] = 0.0;
      for (int64_t r = 0; r < nrow; r++) {
        int64_t rr = r, off = 0;
        for (int i = 0; i < nr; i++) { off += (rr % rshape[i]) * rst[i]; rr /= rshape[i]; }
        const float* x = base + off + j0;
        for (int64_t j = 0; j < n; j++) acc[j] += (double)x[j];
      }
      for (int64_t j = 0; j < n; j++) o[j0 + j] = (float)acc[j];
    }
  });
  return true;
}
}  // namespace

extern "C" void moss_reduce(int op, const moss_view* out, const moss_view* a, uint32_t mask) {
  if (op == MOSS_SUM && sum_leading(out, a, mask)) return;
  Split sp;
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] == 1) continue;
    if (mask & (1u << i)) { sp.rshape[sp.nr] = a->shape[i]; sp.rst[sp.nr++] = a->strides[i]; }
    else { sp.kshape[sp.nk] = a->shape[i]; sp.kst_a[sp.nk] = a->strides[i]; sp.kst_o[sp.nk++] = out->strides[i]; }
  }
  int64_t nout = 1, nred = 1;
  for (int i = 0; i < sp.nk; i++) nout *= sp.kshape[i];
  for (int i = 0; i < sp.nr; i++) nred *= sp.rshape[i];
  const int ad = a->dtype, od = out->dtype;
  const int64_t asz = dsize(ad), osz = dsize(od);
  const int64_t inner = sp.nr ? sp.rshape[sp.nr - 1] : 1, ist = sp.nr ? sp.rst[sp.nr - 1] : 1;
  const int64_t outer = nred / (inner ? inner : 1);
  par(nout, nred + 1, [&](int64_t o0, int64_t o1) {
    float* buf = scratch(0, inner);
    for (int64_t o = o0; o < o1; o++) {
      int64_t r = o, aoff = 0, ooff = 0;
      for (int i = sp.nk - 1; i >= 0; i--) {
        int64_t k = r % sp.kshape[i];
        r /= sp.kshape[i];
        aoff += k * sp.kst_a[i];
        ooff += k * sp.kst_o[i];
      }
      double acc = op == MOSS_SUM ? 0.0 : op == MOSS_MAX ? -INFINITY : INFINITY;
      bool nan = false;
      for (int64_t q = 0; q < (nred ? outer : 0); q++) {
        int64_t rr = q, roff = 0;
        for (int i = sp.nr - 2; i >= 0; i--) { roff += (rr % sp.rshape[i]) * sp.rst[i]; rr /= sp.rshape[i]; }
        const float* x = load_row(buf, ad, ptr(*a) + (aoff + roff) * asz, ist, inner);
        if (op == MOSS_SUM) acc += K().sum(x, inner);
        else {
          float m = op == MOSS_MAX ? K().max(x, inner) : K().min(x, inner);
          if (m != m) nan = true;
          else acc = op == MOSS_MAX ? (m > acc ? m : acc) : (m < acc ? m : acc);
        }
      }
      if (nan) acc = NAN;
      write_d(od, ptr(*out) + ooff * osz, acc);
    }
  });
}

extern "C" void moss_argreduce(int is_min, const moss_view* out, const moss_view* a, int axis) {
  const int64_t len = a->shape[axis], st = a->strides[axis];
  int64_t kshape[MOSS_MAX_DIMS], ka[MOSS_MAX_DIMS], ko[MOSS_MAX_DIMS];
  int nk = 0;
  for (int i = 0; i < a->ndim; i++) {
    if (i == axis || a->shape[i] == 1) continue;
    kshape[nk] = a->shape[i]; ka[nk] = a->strides[i]; ko[nk++] = out->strides[i];
  }
  int64_t nout = 1;
  for (int i = 0; i < nk; i++) nout *= kshape[i];
  const int ad = a->dtype;
  const int64_t asz = dsize(ad);
  par(nout, len + 1, [&](int64_t o0, int64_t o1) {
    float* buf = scratch(0, len);
    for (int64_t o = o0; o < o1; o++) {
      int64_t r = o, aoff = 0, ooff = 0;
      for (int i = nk - 1; i >= 0; i--) {
        int64_t k = r % kshape[i];
        r /= kshape[i];
        aoff += k * ka[i];
        ooff += k * ko[i];
      }
      const float* x = load_row(buf, ad, ptr(*a) + aoff * asz, st, len);
      int32_t best = 0;
      float bv = len ? x[0] : 0.0f;
      for (int64_t j = 1; j < len && bv == bv; j++) {
        const float v = x[j];
        if (v != v || (is_min ? v < bv : v > bv)) { bv = v; best = (int32_t)j; }
      }
      write_d(out->dtype, ptr(*out) + ooff * dsize(out->dtype), best);
    }
  });
}
