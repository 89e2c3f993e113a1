// Shared helpers for the kernel drivers: dtype sizes, scalar element conversions, row loading /
// storing between any dtype + stride and flat f32, and a coalescing N-d row iterator that runs on
// the thread pool. Follows the TensorIterator idea (PyTorch) in a few dozen lines.
// Deliberately does not: vectorise anything itself (row kernels live in isa_impl.inc).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>

#include "../../include/moss_kernels.h"
#include "../threadpool.h"
#include "isa.h"

namespace moss {

using View = moss_view;
constexpr int64_t kBlk = 2048;          // elements per row piece (fits the per-thread buffers)
constexpr int64_t kParMin = 1 << 15;    // below this many elements, stay on the calling thread

inline int64_t dsize(int dt) {
  switch (dt) {
    case MOSS_F32: case MOSS_I32: return 4;
    case MOSS_F16: case MOSS_BF16: return 2;
    case MOSS_I64: return 8;
    default: return 1;
  }
}
inline int64_t numel(const View& v) {
  int64_t n = 1;
  for (int i = 0; i < v.ndim; i++) n *= v.shape[i];
  return n;
}
inline bool is_contig(const View& v) {
  int64_t acc = 1;
  for (int i = v.ndim - 1; i >= 0; i--) {
    if (v.shape[i] != 1 && v.strides[i] != acc) return false;
    acc *= v.shape[i];
  }
  return true;
}
inline char* ptr(const View& v) { return static_cast<char*>(v.data); }

float h2f_scalar(uint16_t h);
uint16_t f2h_scalar(float f);
inline float bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; std::memcpy(&f, &u, 4); return f; }
inline uint16_t f2bf(float f) {
  uint32_t u; std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline double read_d(int dt, const char* p) {
  switch (dt) {
    case MOSS_F32: { float f; std::memcpy(&f, p, 4); return f; }
    case MOSS_F16: { uint16_t h; std::memcpy(&h, p, 2); return h2f_scalar(h); }
    case MOSS_BF16: { uint16_t h; std::memcpy(&h, p, 2); return bf2f(h); }
    case MOSS_I32: { int32_t i; std::memcpy(&i, p, 4); return i; }
    case MOSS_I64: { int64_t i; std::memcpy(&i, p, 8); return (double)i; }
    default: return *p ? 1.0 : 0.0;
  }
}
inline int64_t sat_i64(double v, double lo, double hi) {
  if (v != v) return 0;
  v = std::trunc(v);
  if (v <= lo) return (int64_t)lo;
  if (v >= hi) return (int64_t)hi;
  return (int64_t)v;
}
inline void write_d(int dt, char* p, double v) {
  switch (dt) {
    case MOSS_F32: { float f = (float)v; std::memcpy(p, &f, 4); break; }
    case MOSS_F16: { uint16_t h = f2h_scalar((float)v); std::memcpy(p, &h, 2); break; }
    case MOSS_BF16: { uint16_t h = f2bf((float)v); std::memcpy(p, &h, 2); break; }
    case MOSS_I32: { int32_t i = (int32_t)sat_i64(v, -2147483648.0, 2147483647.0); std::memcpy(p, &i, 4); break; }
    case MOSS_I64: {
      int64_t i = sat_i64(v, -9223372036854775808.0, 9223372036854774784.0);
      std::memcpy(p, &i, 8);
      break;
    }
    default: *p = (v != 0.0) ? 1 : 0;
  }
}
inline int64_t read_index(int dt, const char* p) {
  if (dt == MOSS_I64) { int64_t i; std::memcpy(&i, p, 8); return i; }
  if (dt == MOSS_I32) { int32_t i; std::memcpy(&i, p, 4); return i; }
  return (int64_t)read_d(dt, p);
}

// Row of n elements at p (stride s elements, dtype dt) -> f32. Returns buf, or p itself when the
// row already is contiguous f32 (no copy).
const float* load_row(float* buf, int dt, const char* p, int64_t s, int64_t n);
// f32 row -> dtype dt at p with stride s.
void store_row(int dt, char* p, int64_t s, const float* src, int64_t n);

// Per-thread scratch: slot k holds at least n floats (grows, never shrinks).
float* scratch(int k, int64_t n);

// --- row iterator over views sharing one shape ---
struct Iter {
  int nv = 0, ndim = 0;
  int64_t shape[MOSS_MAX_DIMS];
  int64_t st[4][MOSS_MAX_DIMS];  // element strides per view
  char* base[4];
  int64_t esz[4];
  int64_t rows = 1, n = 1;       // rows of the coalesced outer dims, inner length
};
// vs[0..nv) must have shape == shape/ndim (strides may be 0).
void make_iter(Iter& it, const int64_t* shape, int ndim, const View* const* vs, int nv);
using RowFn = std::function<void(char* const* p, const int64_t* s, int64_t n)>;
// Calls fn on every inner row, split in pieces of <= kBlk elements, on the pool when big.
void run_rows(const Iter& it, const RowFn& fn, bool parallel = true);

// Parallel over [0, n) when n * cost_per_item is big enough, else inline.
void par(int64_t n, int64_t cost_per_item, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace moss
