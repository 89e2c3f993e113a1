// unary, binary (broadcast by stride 0) and where, over any dtypes and strides. Rows of the
// coalesced iteration are converted to f32 (no copy when already contiguous f32), run through the
// SIMD row kernel, and converted back.
// Deliberately does not: compute integer ops in integer arithmetic (all math is f32, per the seam).
#include "common.h"

using namespace moss;

extern "C" void moss_unary(int op, const moss_view* out, const moss_view* a) {
  const View* vs[2] = {out, a};
  Iter it;
  make_iter(it, out->shape, out->ndim, vs, 2);
  const int od = out->dtype, ad = a->dtype;
  run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
    const float* x = load_row(scratch(1, n), ad, p[1], s[1], n);
    const bool direct = od == MOSS_F32 && s[0] == 1;
    float* y = direct ? reinterpret_cast<float*>(p[0]) : scratch(0, n);
    K().unary(op, y, x, n);
    if (!direct) store_row(od, p[0], s[0], y, n);
  });
}

extern "C" void moss_binary(int op, const moss_view* out, const moss_view* a, const moss_view* b) {
  const View* vs[3] = {out, a, b};
  Iter it;
  make_iter(it, out->shape, out->ndim, vs, 3);
  const int od = out->dtype, ad = a->dtype, bd = b->dtype;
  run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
    float av, bv;
    const float* x;
    const float* y;
    int64_t sa = 1, sb = 1;
    if (s[1] == 0) { av = (float)read_d(ad, p[1]); x = &av; sa = 0; }
    else x = load_row(scratch(1, n), ad, p[1], s[1], n);
    if (s[2] == 0) { bv = (float)read_d(bd, p[2]); y = &bv; sb = 0; }
    else y = load_row(scratch(2, n), bd, p[2], s[2], n);
    const bool direct = od == MOSS_F32 && s[0] == 1;
    float* o = direct ? reinterpret_cast<float*>(p[0]) : scratch(0, n);
    K().binary(op, o, x, sa, y, sb, n);
    if (!direct) store_row(od, p[0], s[0], o, n);
  });
}

extern "C" void moss_where(const moss_view* out, const moss_view* cond, const moss_view* a, const moss_view* b) {
  const View* vs[4] = {out, cond, a, b};
  Iter it;
  make_iter(it, out->shape, out->ndim, vs, 4);
  const int od = out->dtype, cd = cond->dtype;
  const int64_t csz = dsize(cd);
  const bool exact = od == a->dtype && od == b->dtype;  // pick bytes, no conversion
  const int64_t osz = dsize(od), asz = dsize(a->dtype), bsz = dsize(b->dtype);
  run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
      const char* c = p[1] + i * s[1] * csz;
      const bool t = cd == MOSS_BOOL ? *c != 0 : read_d(cd, c) != 0.0;
      char* o = p[0] + i * s[0] * osz;
      if (exact) std::memcpy(o, t ? p[2] + i * s[2] * asz : p[3] + i * s[3] * bsz, osz);
      else write_d(od, o, t ? read_d(a->dtype, p[2] + i * s[2] * asz) : read_d(b->dtype, p[3] + i * s[3] * bsz));
    }
  });
}
