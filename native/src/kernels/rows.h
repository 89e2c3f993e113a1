// Row addressing for the fused kernels: a view seen as N rows of C (its last axis), any strides.
// Deliberately does not: convert dtypes (load_row/store_row in common.h do).
#pragma once
#include "common.h"

namespace moss {

struct Rows {
  char* base;
  int dt;
  int64_t esz, C, cst, N;
  bool contig;
  int nd;
  const int64_t* shape;
  const int64_t* st;
  explicit Rows(const View& v)
      : base(ptr(v)), dt(v.dtype), esz(dsize(v.dtype)), C(v.ndim ? v.shape[v.ndim - 1] : 1),
        cst(v.ndim ? v.strides[v.ndim - 1] : 1), N(1), contig(is_contig(v)), nd(v.ndim), shape(v.shape),
        st(v.strides) {
    for (int i = 0; i + 1 < v.ndim; i++) N *= v.shape[i];
  }
  char* row(int64_t r) const {
    if (contig) return base + r * C * esz;
    int64_t off = 0;
    for (int i = nd - 2; i >= 0; i--) { off += (r % shape[i]) * st[i]; r /= shape[i]; }
    return base + off * esz;
  }
  const float* load(float* buf, int64_t r) const { return load_row(buf, dt, row(r), cst, C); }
  void store(int64_t r, const float* src) const { store_row(dt, row(r), cst, src, C); }
  // f32 destination for row r: the row itself when contiguous f32, else buf (then call store).
  float* dst(float* buf, int64_t r) const {
    return dt == MOSS_F32 && cst == 1 ? reinterpret_cast<float*>(row(r)) : buf;
  }
  void finish(int64_t r, float* p) const {
    if (!(dt == MOSS_F32 && cst == 1)) store(r, p);
  }
};

// Element i of a 1-D-ish view (its elements in row-major order), as f32.
inline float elem(const View& v, int64_t i) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; d--) { off += (i % v.shape[d]) * v.strides[d]; i /= v.shape[d]; }
  return (float)read_d(v.dtype, ptr(v) + off * dsize(v.dtype));
}
inline char* elem_ptr(const View& v, int64_t i) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; d--) { off += (i % v.shape[d]) * v.strides[d]; i /= v.shape[d]; }
  return ptr(v) + off * dsize(v.dtype);
}
// A whole small view (weights, bias) as a contiguous f32 vector in `buf` (or itself).
inline const float* vec(const View* v, float* buf) {
  if (!v) return nullptr;
  Rows r(*v);
  if (r.N == 1) return r.load(buf, 0);
  const int64_t n = numel(*v);
  for (int64_t i = 0; i < n; i++) buf[i] = elem(*v, i);
  return buf;
}

}  // namespace moss
