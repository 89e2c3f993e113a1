/*
 * moss_kernels.h — the C ABI of the MOSS native kernels (everything except GEMM / mat-vec, which
 * live in native/src/gemm/gemm.h). No N-API in here: native/src/addon.cc is the only file that
 * talks to JavaScript; it fills `moss_view`s from (ArrayBuffer, meta) and calls these functions.
 *
 * Follows the Backend seam of src/backends/backend.ts (llm.c style, outputs first):
 *   - A view is data pointer + dtype + shape + strides (in ELEMENTS, >= 0, 0 = broadcast).
 *     `data` already points at element 0 of the view (storage.byteOffset + offset applied).
 *   - Float math in f32; f16/bf16 widened on read and rounded to nearest even on write.
 *   - Inputs are already validated by the tensor layer; kernels check nothing user-facing.
 *   - Big kernels run on the moss thread pool (threadpool.h) and use the SIMD level chosen at load
 *     (moss_isa_set / MOSS_NATIVE_ISA = scalar | avx2 | avx512).
 *
 * Worked example (y = gelu(x) for x of shape (2, 3) f32 contiguous):
 *   moss_view x = { xptr, MOSS_F32, 2, {2, 3}, {3, 1} }, y = { yptr, MOSS_F32, 2, {2, 3}, {3, 1} };
 *   moss_unary(MOSS_GELU, &y, &x);
 *
 * Shape legend: B batch, T/Tq/Tk time, H heads, Hkv key/value heads, D head dim, N rows, C/V cols.
 * Deliberately does not: allocate outputs, broadcast shapes, or report errors (no return codes).
 */
#ifndef MOSS_KERNELS_H
#define MOSS_KERNELS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOSS_MAX_DIMS 8

/* dtype codes (also used by src/backends/native/codes.ts) */
enum moss_dtype { MOSS_F32 = 0, MOSS_F16 = 1, MOSS_BF16 = 2, MOSS_I32 = 3, MOSS_I64 = 4, MOSS_BOOL = 5,
                  MOSS_Q8_0 = 6, MOSS_Q4_0 = 7,
                  /* GGML k-quants and iq4_nl (native/src/kquant/kquant.h) */
                  MOSS_Q2_K = 8, MOSS_Q3_K = 9, MOSS_Q4_K = 10, MOSS_Q5_K = 11, MOSS_Q6_K = 12, MOSS_IQ4_NL = 13,
                  MOSS_GQ4 = 32, MOSS_GQ8 = 33, MOSS_GQ4S = 34, MOSS_GQ8S = 35 /* GPTQ repacked at load (native/src/gptq/gptq.h) */ };

typedef struct moss_view {
  void* data;                       /* element 0 of the view */
  int32_t dtype;                    /* enum moss_dtype */
  int32_t ndim;                     /* 0..MOSS_MAX_DIMS */
  int64_t shape[MOSS_MAX_DIMS];
  int64_t strides[MOSS_MAX_DIMS];   /* elements */
} moss_view;

/* UnaryOp codes, in the order of backend.ts */
enum moss_unary { MOSS_NEG, MOSS_EXP, MOSS_LOG, MOSS_SQRT, MOSS_RSQRT, MOSS_TANH, MOSS_SIGMOID, MOSS_RELU,
                  MOSS_GELU, MOSS_GELU_NEW, MOSS_SILU, MOSS_ABS, MOSS_SIN, MOSS_COS, MOSS_SQUARE,
                  MOSS_RECIP, MOSS_GELU_GRAD, MOSS_GELU_NEW_GRAD, MOSS_SILU_GRAD, MOSS_UNARY_COUNT };
/* BinaryOp codes; comparisons write 1/0 */
enum moss_binary { MOSS_ADD, MOSS_SUB, MOSS_MUL, MOSS_DIV, MOSS_POW, MOSS_MAXIMUM, MOSS_MINIMUM,
                   MOSS_EQ, MOSS_NE, MOSS_LT, MOSS_LE, MOSS_GT, MOSS_GE, MOSS_BINARY_COUNT };
enum moss_reduce { MOSS_SUM, MOSS_MAX, MOSS_MIN };

/* --- SIMD level: 0 scalar, 1 avx2, 2 avx512. set clamps to what the CPU supports; returns it. --- */
int moss_isa_best(void);
int moss_isa_set(int level);
int moss_isa_get(void);

/* --- data movement --- */
/* out[i] = cast(a[i]); same shape; any strides; any pair of non-quant dtypes (bool: != 0,
 * float -> int truncates toward zero, NaN -> 0, saturating). */
void moss_copy(const moss_view* out, const moss_view* a);
/* out[i] = cast(value), any strides. */
void moss_fill(const moss_view* out, double value);
/* a: contiguous q8_0 / q4_0 (GGML blocks of 32), out: contiguous float, same numel. */
void moss_dequantize(const moss_view* out, const moss_view* a);

/* --- elementwise (same shape; broadcasting by stride 0) --- */
void moss_unary(int op, const moss_view* out, const moss_view* a);
void moss_binary(int op, const moss_view* out, const moss_view* a, const moss_view* b);
/* out = cond != 0 ? a : b */
void moss_where(const moss_view* out, const moss_view* cond, const moss_view* a, const moss_view* b);

/* --- reductions: out has a's ndim with reduced axes of size 1 (keepdim) --- */
/* axes_mask bit i set = reduce axis i. sum accumulates in f64; max/min propagate NaN. */
void moss_reduce(int op, const moss_view* out, const moss_view* a, uint32_t axes_mask);
/* out (i32, keepdim) = index of the first max (is_min=0) / min (is_min=1) along axis; NaN wins. */
void moss_argreduce(int is_min, const moss_view* out, const moss_view* a, int axis);

/* --- indexing (index i32/i64, values in range) --- */
/* out = a.index_select(axis, index); index 1-D of length out.shape[axis]. */
void moss_index_select(const moss_view* out, const moss_view* a, int axis, const moss_view* index);
/* out[..i..] = a[..index[..i..]..] (torch.gather); index has out's shape. */
void moss_gather(const moss_view* out, const moss_view* a, int axis, const moss_view* index);
/* in place out[..index[..i..]..] += src[..i..] (torch.scatter_add_); index has src's shape. */
void moss_scatter_add(const moss_view* out, int axis, const moss_view* index, const moss_view* src);

/* --- fused kernels over rows of the last axis (N rows of C) --- */
void moss_softmax(const moss_view* out, const moss_view* a);
void moss_log_softmax(const moss_view* out, const moss_view* a);
/* y (N, C); mean, rstd (N) f32; w, b (C) or NULL. */
void moss_layer_norm(const moss_view* y, const moss_view* mean, const moss_view* rstd, const moss_view* x,
                     const moss_view* w, const moss_view* b, float eps);
/* dx (N, C); dw, db (C) accumulate (+=) when non-NULL. */
void moss_layer_norm_backward(const moss_view* dx, const moss_view* dw, const moss_view* db, const moss_view* dy,
                              const moss_view* x, const moss_view* mean, const moss_view* rstd, const moss_view* w);
void moss_rms_norm(const moss_view* y, const moss_view* rstd, const moss_view* x, const moss_view* w, float eps);
void moss_rms_norm_backward(const moss_view* dx, const moss_view* dw, const moss_view* dy, const moss_view* x,
                            const moss_view* rstd, const moss_view* w);
/* out, x (B, T, H, D); positions i32/i64 (B, T). Pairs (2i, 2i+1) when interleaved, else
 * (i, i + rotary_dim/2); angle = pos * base^(-2i/rotary_dim) (computed in f64), negated if inverse. */
/* freq_factors: NULL, or rotary_dim / 2 values dividing each pair's frequency (rope scaling). */
void moss_rope(const moss_view* out, const moss_view* x, const moss_view* positions, int rotary_dim,
               int interleaved, double base, int inverse, const float* freq_factors);
/* q (B, H, Tq, D), k (B, Hkv, Tk, D), v (B, Hkv, Tk, Dv), out (B, H, Tq, Dv), H % Hkv == 0.
 * Query i of batch row b sees keys j < kv_len[b] and (causal) j <= past_len[b] + i, and with a causal
 * sliding window > 0 only j > past_len[b] + i - window (HF Mistral, llama.cpp SWA). Rows that see
 * no key are 0. lse (B, H, Tq) f32 or NULL: log sum_j exp(scale q.k_j) over visible keys (-inf
 * where none), what moss_attention_backward needs. Any strides with unit last stride or not. */
void moss_attention(const moss_view* out, const moss_view* lse, const moss_view* q, const moss_view* k,
                    const moss_view* v, float scale, int causal, const int64_t* past_len, const int64_t* kv_len,
                    int64_t window);
/* Grads of moss_attention given dout (B, H, Tq, Dv), its out and lse: writes dq (B, H, Tq, D),
 * dk (B, Hkv, Tk, D), dv (B, Hkv, Tk, Dv) (keys nobody sees get 0; GQA sums over shared heads). */
void moss_attention_backward(const moss_view* dq, const moss_view* dk, const moss_view* dv, const moss_view* dout,
                             const moss_view* q, const moss_view* k, const moss_view* v, const moss_view* out,
                             const moss_view* lse, float scale, int causal, const int64_t* past_len,
                             const int64_t* kv_len);
/* logits (N, V), targets (N) i32/i64, loss (N) f32; dlogits (N, V) or NULL. */
void moss_cross_entropy(const moss_view* loss, const moss_view* dlogits, const moss_view* logits,
                        const moss_view* targets, int64_t ignore_index, float gscale);
/* In place AdamW (torch semantics: decoupled decay, bias correction with 1-based step). */
void moss_adamw(const moss_view* param, const moss_view* grad, const moss_view* m, const moss_view* v, double lr,
                double beta1, double beta2, double eps, double weight_decay, double step);

/* Batched matmul a (..., M, K) @ b (..., K, N) -> out (..., M, N); any strides (stride-0 batch).
 * Uses the gemm engine when it is built in, else a blocked fallback. */
void moss_matmul(const moss_view* out, const moss_view* a, const moss_view* b);

#ifdef __cplusplus
}
#endif
#endif /* MOSS_KERNELS_H */
