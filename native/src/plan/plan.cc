// Decode plan executor (see plan.h): a vector of recorded steps, each replayed as one call of the
// ordinary kernel C ABI. Deliberately does not: touch N-API, or fuse steps (the kernels stay the
// single implementation of each op, so a plan is exactly the sum of its calls).
#include "plan.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "../quant/view.h"

struct moss_plan {
  struct Step {
    int op, code;
    moss_view v[6];
    bool has[6];
    double s[3];
    std::vector<float> factors;
  };
  std::vector<Step> steps;
  int64_t capacity = INT64_MAX;  // rows every cache of the plan holds
  int64_t batch = 0;             // B, from the ROPE / ATTENTION views (0: none recorded yet)
  int64_t max_write = -1;        // the largest sequence index a CACHE_WRITE follows
  std::vector<int32_t> pos32;    // the positions view of ROPE steps (B, 1)
  std::vector<int64_t> past, kvlen;
  moss_view positions{};
};

namespace {
int views_needed(int op) {
  switch (op) {
    case MOSS_PLAN_RMS_NORM: return 3;
    case MOSS_PLAN_LAYER_NORM: return 4;
    case MOSS_PLAN_MATMUL: case MOSS_PLAN_BINARY: case MOSS_PLAN_INDEX_SELECT: return 3;
    case MOSS_PLAN_UNARY: case MOSS_PLAN_COPY: case MOSS_PLAN_ROPE: case MOSS_PLAN_CACHE_WRITE: return 2;
    case MOSS_PLAN_ATTENTION: return 4;
    default: return -1;
  }
}
int64_t elt_bytes(int dtype) {
  return dtype == MOSS_F32 || dtype == MOSS_I32 ? 4 : dtype == MOSS_I64 ? 8 : dtype == MOSS_F16 || dtype == MOSS_BF16 ? 2 : 1;
}
bool is_cache(const moss_view& c) { return c.ndim == 4 && c.dtype < MOSS_Q8_0; }
// every ROPE / ATTENTION step of a plan decodes the same B sequences
bool same_batch(moss_plan* p, int64_t b) {
  if (p->batch == 0) p->batch = b;
  return b == p->batch && b >= 1;
}
}  // namespace

extern "C" moss_plan* moss_plan_new(void) {
  moss_plan* p = new moss_plan();
  p->positions.dtype = MOSS_I32;
  p->positions.ndim = 2;
  p->positions.shape[0] = p->positions.shape[1] = 1;
  p->positions.strides[0] = p->positions.strides[1] = 1;
  return p;
}

extern "C" void moss_plan_free(moss_plan* p) { delete p; }

extern "C" int64_t moss_plan_size(const moss_plan* p) { return (int64_t)p->steps.size(); }

extern "C" int moss_plan_add(moss_plan* p, int op, int code, const moss_view* const* views, int nviews,
                             const double* scalars, const float* factors, int n_factors) {
  const int need = views_needed(op);
  if (need < 0 || nviews < need || nviews > 6) return -1;
  moss_plan::Step st{};
  st.op = op;
  st.code = code;
  for (int i = 0; i < nviews; i++) {
    st.has[i] = views[i] != nullptr;
    if (st.has[i]) st.v[i] = *views[i];
    else if (i < need) return -1;
  }
  for (int i = 0; i < 3; i++) st.s[i] = scalars ? scalars[i] : 0.0;
  if (op == MOSS_PLAN_MATMUL && st.v[2].dtype >= MOSS_Q8_0) {  // q8_0/q4_0 and the k-quants (quant/view.cc)
    int64_t end;
    if (!moss_qmatmul_view_check(&st.v[0], &st.v[1], &st.v[2], &end)) return -1;
  }
  if (op == MOSS_PLAN_INDEX_SELECT && (code < 0 || code >= st.v[1].ndim || st.v[2].ndim != 1)) return -1;
  if (op == MOSS_PLAN_ROPE && (st.v[1].ndim != 4 || st.v[1].shape[1] != 1 || !same_batch(p, st.v[1].shape[0]))) return -1;
  if (n_factors > 0) {
    if (op != MOSS_PLAN_ROPE || n_factors != (int)st.s[0] / 2 || !factors) return -1;
    st.factors.assign(factors, factors + n_factors);
  }
  if (op == MOSS_PLAN_CACHE_WRITE) {
    const moss_view &c = st.v[0], &a = st.v[1];
    if (!is_cache(c) || c.shape[0] != 1 || a.ndim != 4 || a.shape[0] != 1 || a.shape[1] != c.shape[1] || a.shape[2] != 1 ||
        a.shape[3] != c.shape[3] || code < 0)
      return -1;
    if (c.shape[2] < p->capacity) p->capacity = c.shape[2];
    if (code > p->max_write) p->max_write = code;
  }
  if (op == MOSS_PLAN_ATTENTION) {
    const moss_view &q = st.v[1], &k = st.v[2], &v = st.v[3];
    if (q.ndim != 4 || q.shape[2] != 1 || !is_cache(k) || !is_cache(v) || k.shape[2] != v.shape[2] ||
        k.shape[0] != q.shape[0] || v.shape[0] != q.shape[0] || !same_batch(p, q.shape[0]))
      return -1;
    if (k.shape[2] < p->capacity) p->capacity = k.shape[2];
  }
  p->steps.push_back(st);
  return 0;
}

extern "C" int moss_plan_run(moss_plan* p, int64_t pos) { return moss_plan_run_batch(p, &pos, 1); }

extern "C" int moss_plan_run_batch(moss_plan* p, const int64_t* posv, int64_t n) {
  if (n < 1 || (p->batch != 0 && n != p->batch) || p->max_write >= n) return -1;
  for (int64_t b = 0; b < n; b++)
    if (posv[b] < 0 || posv[b] >= p->capacity || posv[b] > INT32_MAX) return -1;
  if ((int64_t)p->pos32.size() != n) {
    p->pos32.resize(n);
    p->past.resize(n);
    p->kvlen.resize(n);
  }
  for (int64_t b = 0; b < n; b++) {
    p->pos32[b] = (int32_t)posv[b];
    p->past[b] = posv[b];
    p->kvlen[b] = posv[b] + 1;
  }
  p->positions.data = p->pos32.data();
  p->positions.shape[0] = n;
  const int64_t* past = p->past.data();
  const int64_t* kvlen = p->kvlen.data();
  for (const moss_plan::Step& st : p->steps) {
    const moss_view* v[6];
    for (int i = 0; i < 6; i++) v[i] = st.has[i] ? &st.v[i] : nullptr;
    switch (st.op) {
      case MOSS_PLAN_RMS_NORM: moss_rms_norm(v[0], v[1], v[2], v[3], (float)st.s[0]); break;
      case MOSS_PLAN_LAYER_NORM: moss_layer_norm(v[0], v[1], v[2], v[3], v[4], v[5], (float)st.s[0]); break;
      case MOSS_PLAN_MATMUL:
        if (st.v[2].dtype >= MOSS_Q8_0) moss_qmatmul_view(v[0], v[1], v[2]);
        else moss_matmul(v[0], v[1], v[2]);
        break;
      case MOSS_PLAN_UNARY: moss_unary(st.code, v[0], v[1]); break;
      case MOSS_PLAN_BINARY: moss_binary(st.code, v[0], v[1], v[2]); break;
      case MOSS_PLAN_COPY: moss_copy(v[0], v[1]); break;
      case MOSS_PLAN_INDEX_SELECT: moss_index_select(v[0], v[1], st.code, v[2]); break;
      case MOSS_PLAN_ROPE:
        moss_rope(v[0], v[1], &p->positions, (int)st.s[0], st.s[1] != 0, st.s[2], 0,
                  st.factors.empty() ? nullptr : st.factors.data());
        break;
      case MOSS_PLAN_CACHE_WRITE: {
        moss_view row = st.v[0];
        row.shape[2] = 1;
        row.data = static_cast<char*>(row.data) + posv[st.code] * row.strides[2] * elt_bytes(row.dtype);
        moss_copy(&row, v[1]);
        break;
      }
      case MOSS_PLAN_ATTENTION:
        moss_attention(v[0], nullptr, v[1], v[2], v[3], (float)st.s[0], 1, past, kvlen, (int64_t)st.s[1]);
        break;
    }
  }
  return 0;
}
