// Implementation of common.h: row load/store, per-thread scratch, the coalescing row iterator.
#include "common.h"

#include <memory>
#include <vector>

namespace moss {

float h2f_scalar(uint16_t h) {
  float f;
  kern_scalar()->f16_to_f32(&f, &h, 1);
  return f;
}
uint16_t f2h_scalar(float f) {
  uint16_t h;
  kern_scalar()->f32_to_f16(&h, &f, 1);
  return h;
}

const float* load_row(float* buf, int dt, const char* p, int64_t s, int64_t n) {
  if (s == 1) {
    switch (dt) {
      case MOSS_F32: return reinterpret_cast<const float*>(p);
      case MOSS_F16: K().f16_to_f32(buf, reinterpret_cast<const uint16_t*>(p), n); return buf;
      case MOSS_BF16: K().bf16_to_f32(buf, reinterpret_cast<const uint16_t*>(p), n); return buf;
      default: break;
    }
  }
  const int64_t step = s * dsize(dt);
  switch (dt) {
    case MOSS_F32:
      for (int64_t i = 0; i < n; i++) std::memcpy(buf + i, p + i * step, 4);
      break;
    case MOSS_BF16:
      for (int64_t i = 0; i < n; i++) { uint16_t h; std::memcpy(&h, p + i * step, 2); buf[i] = bf2f(h); }
      break;
    default:
      for (int64_t i = 0; i < n; i++) buf[i] = (float)read_d(dt, p + i * step);
  }
  return buf;
}

void store_row(int dt, char* p, int64_t s, const float* src, int64_t n) {
  if (s == 1) {
    switch (dt) {
      case MOSS_F32: if ((const void*)p != (const void*)src) std::memcpy(p, src, n * 4); return;
      case MOSS_F16: K().f32_to_f16(reinterpret_cast<uint16_t*>(p), src, n); return;
      case MOSS_BF16: K().f32_to_bf16(reinterpret_cast<uint16_t*>(p), src, n); return;
      default: break;
    }
  }
  const int64_t step = s * dsize(dt);
  if (dt == MOSS_F32) {
    for (int64_t i = 0; i < n; i++) std::memcpy(p + i * step, src + i, 4);
  } else {
    for (int64_t i = 0; i < n; i++) write_d(dt, p + i * step, src[i]);
  }
}

float* scratch(int k, int64_t n) {
  struct Slots {
    std::unique_ptr<float[]> p[8];
    int64_t cap[8] = {0};
  };
  thread_local Slots slots;
  if (slots.cap[k] < n) {
    int64_t c = n < 4096 ? 4096 : n;
    slots.p[k].reset(new float[c + 16]);
    slots.cap[k] = c;
  }
  return slots.p[k].get();
}

void make_iter(Iter& it, const int64_t* shape, int ndim, const View* const* vs, int nv) {
  it.nv = nv;
  for (int v = 0; v < nv; v++) {
    it.base[v] = ptr(*vs[v]);
    it.esz[v] = dsize(vs[v]->dtype);
  }
  // drop size-1 dims, then merge dims that are contiguous in every view
  int d = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == 1) continue;
    if (d > 0) {
      bool merge = true;
      for (int v = 0; v < nv; v++)
        if (it.st[v][d - 1] != vs[v]->strides[i] * shape[i]) { merge = false; break; }
      if (merge) {
        it.shape[d - 1] *= shape[i];
        for (int v = 0; v < nv; v++) it.st[v][d - 1] = vs[v]->strides[i];
        continue;
      }
    }
    it.shape[d] = shape[i];
    for (int v = 0; v < nv; v++) it.st[v][d] = vs[v]->strides[i];
    d++;
  }
  for (int i = 0; i < ndim; i++)
    if (shape[i] == 0) d = -1;
  if (d < 0) {  // empty
    it.ndim = 0;
    it.rows = 0;
    it.n = 0;
    return;
  }
  if (d == 0) {  // scalar
    it.shape[0] = 1;
    for (int v = 0; v < nv; v++) it.st[v][0] = 1;
    d = 1;
  }
  it.ndim = d;
  it.n = it.shape[d - 1];
  it.rows = 1;
  for (int i = 0; i < d - 1; i++) it.rows *= it.shape[i];
}

void run_rows(const Iter& it, const RowFn& fn, bool parallel) {
  if (it.rows == 0 || it.n == 0) return;
  const int64_t nblk = (it.n + kBlk - 1) / kBlk;
  const int64_t units = it.rows * nblk;
  const int outer = it.ndim - 1;
  auto body = [&](int64_t ub, int64_t ue) {
    int64_t idx[MOSS_MAX_DIMS] = {0};
    char* p[4];
    char* q[4];
    int64_t s[4];
    for (int v = 0; v < it.nv; v++) s[v] = it.st[v][outer];
    int64_t row = ub / nblk;
    {  // unravel the first row
      int64_t r = row;
      for (int i = outer - 1; i >= 0; i--) { idx[i] = r % it.shape[i]; r /= it.shape[i]; }
      for (int v = 0; v < it.nv; v++) {
        int64_t off = 0;
        for (int i = 0; i < outer; i++) off += idx[i] * it.st[v][i];
        p[v] = it.base[v] + off * it.esz[v];
      }
    }
    for (int64_t u = ub; u < ue; u++) {
      const int64_t r = u / nblk, blk = u % nblk;
      while (row < r) {  // odometer step to the next row
        row++;
        for (int i = outer - 1; i >= 0; i--) {
          idx[i]++;
          for (int v = 0; v < it.nv; v++) p[v] += it.st[v][i] * it.esz[v];
          if (idx[i] < it.shape[i]) break;
          for (int v = 0; v < it.nv; v++) p[v] -= it.shape[i] * it.st[v][i] * it.esz[v];
          idx[i] = 0;
        }
      }
      const int64_t b0 = blk * kBlk;
      const int64_t len = it.n - b0 < kBlk ? it.n - b0 : kBlk;
      for (int v = 0; v < it.nv; v++) q[v] = p[v] + b0 * s[v] * it.esz[v];
      fn(q, s, len);
    }
  };
  if (parallel && it.rows * it.n >= kParMin && units > 1 && num_threads() > 1) {
    parallel_for(units, body);
  } else {
    body(0, units);
  }
}

void par(int64_t n, int64_t cost_per_item, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (n > 1 && n * cost_per_item >= kParMin && num_threads() > 1) parallel_for(n, fn);
  else fn(0, n);
}

}  // namespace moss
