/*
 * Quantized matmul over moss_views (the layout Backend.matmul passes), shared by the N-API binding
 * (addon.cc) and the decode plan executor (plan/plan.cc): out (..., M, N) f32 with unit column
 * stride, a (..., M, K) f32 with unit column stride, b (..., K, N) q8_0/q4_0 or a k-quant (kquant/kquant.h) seen as the transpose
 * of ggml (N, K) rows, i.e. strides (1, S) with S and K multiples of 32 and block-aligned batch
 * offsets. Deliberately does not: bounds-check against buffers (callers own the buffers).
 */
#ifndef MOSS_QUANT_VIEW_H
#define MOSS_QUANT_VIEW_H
#include <stdint.h>

#include "../../include/moss_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** 1 if the kernels take this layout, with *w_end = bytes of b read from b->data (for the caller's
 *  bounds check); 0 otherwise (the caller falls back to the generic matmul). */
int moss_qmatmul_view_check(const moss_view* o, const moss_view* a, const moss_view* b, int64_t* w_end);

/** Runs the quantized matmul for a layout moss_qmatmul_view_check accepted. */
void moss_qmatmul_view(const moss_view* o, const moss_view* a, const moss_view* b);

#ifdef __cplusplus
}
#endif
#endif
