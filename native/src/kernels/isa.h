// The per-ISA table of row kernels: contiguous f32 loops that the scalar, AVX2 and AVX-512
// translation units each compile from isa_impl.inc with their own flags. Drivers (copy.cc,
// elementwise.cc, ...) call through `K()`, which dispatch.cc points at the level chosen at load.
// Deliberately does not: know about views, strides or threads — only flat f32 rows.
#pragma once
#include <cstdint>

namespace moss {

struct Kern {
  const char* name;
  void (*f16_to_f32)(float* dst, const uint16_t* src, int64_t n);
  void (*f32_to_f16)(uint16_t* dst, const float* src, int64_t n);
  void (*bf16_to_f32)(float* dst, const uint16_t* src, int64_t n);
  void (*f32_to_bf16)(uint16_t* dst, const float* src, int64_t n);
  // out[i] = op(a[i])
  void (*unary)(int op, float* out, const float* a, int64_t n);
  // out[i] = op(a[i*sa], b[i*sb]) with sa, sb in {0, 1}
  void (*binary)(int op, float* out, const float* a, int64_t sa, const float* b, int64_t sb, int64_t n);
  double (*sum)(const float* a, int64_t n);  // f64 accumulation
  float (*max)(const float* a, int64_t n);   // NaN propagates
  float (*min)(const float* a, int64_t n);
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float* y, float alpha, const float* x, int64_t n);  // y += alpha * x
  void (*scale)(float* y, float alpha, int64_t n);                 // y *= alpha
  // softmax / log-softmax of one row; returns nothing, writes out (may alias x)
  void (*softmax)(float* out, const float* x, int64_t n);
  void (*log_softmax)(float* out, const float* x, int64_t n);
  // y = (x - mean) * rstd * w + b; w/b may be null
  void (*layer_norm)(float* y, const float* x, const float* w, const float* b, int64_t n, float eps, float* mean,
                     float* rstd);
  void (*rms_norm)(float* y, const float* x, const float* w, int64_t n, float eps, float* rstd);
  void (*adamw)(float* p, const float* g, float* m, float* v, int64_t n, float lr, float b1, float omb1, float b2, float omb2,
                float eps, float wd, float bc1, float bc2);
  // one attention head, forward (out + logsumexp) and backward; layouts in attention_impl.inc
  void (*attn_fwd)(float* o, float* lse, const float* q, const float* kt, int64_t ldk, const float* v, int64_t ldv,
                   const int64_t* lim, int64_t tq, int64_t d, int64_t dv, float scale, float* s);
  void (*attn_bwd)(float* dq, float* dk, float* dvv, const float* q, const float* dout, const float* o, const float* lse,
                   const float* kt, const float* vt, int64_t ldk, const float* k, int64_t ldkr, const int64_t* lim,
                   int64_t tq, int64_t d, int64_t dv, float scale, float* s, float* dp);
};

const Kern* kern_scalar();
const Kern* kern_avx2();
const Kern* kern_avx512();

extern const Kern* g_kern;
inline const Kern& K() { return *g_kern; }

}  // namespace moss
