/*
 * Decode plans: a recorded list of kernel calls for ONE token of a model (batch 1), replayed by
 * moss_plan_run for each new token without going back to JavaScript between the kernels. This is
 * the CPU analogue of llama.cpp's reused ggml graph or a CUDA graph: per token, JavaScript makes
 * one call instead of ~15 per layer, and no tensor is allocated.
 *
 * Every step is a call of the ordinary C ABI (moss_kernels.h, quant/view.h) on views fixed when the
 * plan was recorded, so a plan computes exactly what the same calls made one by one compute. A plan
 * decodes B sequences at once (B = 1 for moss generate; the server's batched step records one per
 * batch size), each at its own position pos[b], given to moss_plan_run_batch. Three steps follow them:
 *   ROPE         rotates x (B, 1, H, D) at pos[b] (the plan owns the (B, 1) i32 positions view);
 *   CACHE_WRITE  copies a (1, Hkv, 1, D) into row pos[code] of one sequence's cache (1, Hkv, S, D);
 *   ATTENTION    causal attention of q (B, H, 1, D) over rows 0..pos[b] of caches (B, Hkv, S, D)
 *                (rows pos[b] - window + 1 .. pos[b] under a sliding window).
 * Worked example (one RMSNorm + mat-vec):
 *   moss_plan* p = moss_plan_new();
 *   const moss_view* n[4] = {&y, &rstd, &x, &w};  double s[1] = {1e-5};
 *   moss_plan_add(p, MOSS_PLAN_RMS_NORM, 0, n, 4, s);
 *   const moss_view* m[3] = {&out, &y, &wt};   moss_plan_add(p, MOSS_PLAN_MATMUL, 0, m, 3, s);
 *   moss_plan_run(p, 0);  moss_plan_free(p);
 * Deliberately does not: own or bounds-check memory (the caller keeps every buffer alive and
 * checked; addon.cc does), or choose what to record (src/models/decode-plan.ts captures it from a model's forward).
 */
#ifndef MOSS_PLAN_H
#define MOSS_PLAN_H
#include <stdint.h>

#include "../../include/moss_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

enum moss_plan_op {
  MOSS_PLAN_RMS_NORM = 0,   /* views y, rstd, x, w|NULL; scalars eps */
  MOSS_PLAN_LAYER_NORM = 1, /* views y, mean, rstd, x, w|NULL, b|NULL; scalars eps */
  MOSS_PLAN_MATMUL = 2,     /* views out, a, b (Backend.matmul; quantized b as in quant/view.h) */
  MOSS_PLAN_UNARY = 3,      /* code enum moss_unary; views out, a */
  MOSS_PLAN_BINARY = 4,     /* code enum moss_binary; views out, a, b */
  MOSS_PLAN_COPY = 5,       /* views out, a */
  MOSS_PLAN_ROPE = 6,       /* views out, x (B, 1, H, D); scalars rotary_dim, interleaved, base; factors */
  MOSS_PLAN_CACHE_WRITE = 7,/* code b (the sequence); views cache (1, Hkv, S, D), a (1, Hkv, 1, D) */
  MOSS_PLAN_ATTENTION = 8,  /* views out (B, H, 1, D), q (B, H, 1, D), k, v (B, Hkv, S, D); scalars scale, window (0: none) */
  MOSS_PLAN_INDEX_SELECT = 9, /* code axis; views out, a, index (1-D i32/i64; e.g. an act-order GPTQ input order) */
};

typedef struct moss_plan moss_plan;

moss_plan* moss_plan_new(void);
void moss_plan_free(moss_plan* p);
/** Appends a step. Returns 0, or -1 (nothing appended) for an unknown op, a missing view, or a
 *  layout the step cannot take. `factors` (n_factors values, copied) are a ROPE step's frequency
 *  factors (moss_rope's freq_factors); other steps take none. */
int moss_plan_add(moss_plan* p, int op, int code, const moss_view* const* views, int nviews, const double* scalars,
                  const float* factors, int n_factors);
/** Runs every step for the token at `pos` (a plan of B = 1). Returns 0, or -1 (nothing run) when pos
 *  is negative or row pos lies outside a cache of the plan. */
int moss_plan_run(moss_plan* p, int64_t pos);
/** Runs every step for B tokens, sequence b at `pos[b]`. Returns 0, or -1 (nothing run) when n is not
 *  the plan's B or a position lies outside the plan's caches. */
int moss_plan_run_batch(moss_plan* p, const int64_t* pos, int64_t n);
/** Number of steps recorded. */
int64_t moss_plan_size(const moss_plan* p);

#ifdef __cplusplus
}
#endif
#endif
