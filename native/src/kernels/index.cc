// indexSelect (torch.index_select), gather (torch.gather) and scatterAdd (torch.scatter_add_).
// indexSelect copies whole slices with moss_copy; gather and scatterAdd walk the index view
// element by element. Indices are trusted (range-checked by the tensor layer).
// Deliberately does not: parallelise scatterAdd (duplicate indices would race).
#include "common.h"

using namespace moss;

extern "C" void moss_index_select(const moss_view* out, const moss_view* a, int axis, const moss_view* index) {
  const int64_t n = index->ndim ? index->shape[0] : 1, ist = index->ndim ? index->strides[0] : 0;
  const int64_t isz = dsize(index->dtype);
  View o = *out, s = *a;
  o.shape[axis] = 1;
  s.shape[axis] = 1;
  const int64_t slice = numel(o);
  auto body = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const int64_t k = read_index(index->dtype, ptr(*index) + i * ist * isz);
      View oi = o, si = s;
      oi.data = ptr(*out) + i * out->strides[axis] * dsize(out->dtype);
      si.data = ptr(*a) + k * a->strides[axis] * dsize(a->dtype);
      moss_copy(&oi, &si);  // small slices stay on this thread (run_rows checks the size)
    }
  };
  if (slice < kParMin && n * slice >= kParMin && num_threads() > 1) parallel_for(n, body);
  else body(0, n);
}

namespace {
// Walks every element of `shape` calling fn(offsets...) with element offsets for up to 3 views.
template <typename F>
void walk(const int64_t* shape, int ndim, const int64_t* const* st, int nv, F fn) {
  int64_t total = 1;
  for (int i = 0; i < ndim; i++) total *= shape[i];
  int64_t idx[MOSS_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
  for (int64_t e = 0; e < total; e++) {
    fn(off);
    for (int i = ndim - 1; i >= 0; i--) {
      idx[i]++;
      for (int v = 0; v < nv; v++) off[v] += st[v][i];
      if (idx[i] < shape[i]) break;
      for (int v = 0; v < nv; v++) off[v] -= shape[i] * st[v][i];
      idx[i] = 0;
    }
  }
}
}  // namespace

extern "C" void moss_gather(const moss_view* out, const moss_view* a, int axis, const moss_view* index) {
  int64_t ast[MOSS_MAX_DIMS];
  for (int i = 0; i < out->ndim; i++) ast[i] = i == axis ? 0 : a->strides[i];
  const int64_t* st[3] = {out->strides, index->strides, ast};
  const int od = out->dtype, ad = a->dtype, xd = index->dtype;
  const int64_t osz = dsize(od), asz = dsize(ad), xsz = dsize(xd), axst = a->strides[axis];
  walk(out->shape, out->ndim, st, 3, [&](const int64_t* off) {
    const int64_t k = read_index(xd, ptr(*index) + off[1] * xsz);
    const char* src = ptr(*a) + (off[2] + k * axst) * asz;
    char* dst = ptr(*out) + off[0] * osz;
    if (od == ad) std::memcpy(dst, src, osz);
    else write_d(od, dst, read_d(ad, src));
  });
}

extern "C" void moss_scatter_add(const moss_view* out, int axis, const moss_view* index, const moss_view* src) {
  int64_t ost[MOSS_MAX_DIMS];
  for (int i = 0; i < src->ndim; i++) ost[i] = i == axis ? 0 : out->strides[i];
  const int64_t* st[3] = {src->strides, index->strides, ost};
  const int od = out->dtype, sd = src->dtype, xd = index->dtype;
  const int64_t osz = dsize(od), ssz = dsize(sd), xsz = dsize(xd), oxst = out->strides[axis];
  walk(index->shape, index->ndim, st, 3, [&](const int64_t* off) {
    const int64_t k = read_index(xd, ptr(*index) + off[1] * xsz);
    char* dst = ptr(*out) + (off[2] + k * oxst) * osz;
    const double v = read_d(sd, ptr(*src) + off[0] * ssz);
    if (od == MOSS_F32) {
      float f; std::memcpy(&f, dst, 4); f += (float)v; std::memcpy(dst, &f, 4);
    } else if (od == MOSS_I64) {
      int64_t x; std::memcpy(&x, dst, 8); x += (int64_t)v; std::memcpy(dst, &x, 8);
    } else {
      write_d(od, dst, read_d(od, dst) + v);
    }
  });
}
