/*
 * C ABI of the GGML k-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) and IQ4_NL: exact dequantization
 * and the fused mat-vec / mat-mat with f32 activations.
 *
 * Follows ggml (ggml-quants.c dequantize_row_*, ggml-cpu's ggml_vec_dot_*_q8_K): a k-quant row is
 * K/256 super-blocks (block layouts in src/backends/ref/kquant.ts); activations are quantized once
 * per call to q8_K blocks (256 int8 + f32 scale + 16 sums of 16), and each output is, per block,
 *   d_a * (d_w * sum_g scale_g * <w_g, a_g>  -  dmin_w * sum_g min_g * bsum_g)
 * over the 16 groups g of 16 values, with integer dots. IQ4_NL (32-value blocks) is dotted in f32.
 * The dot kernels are compiled per SIMD level (dot_scalar.cc / dot_avx2.cc / dot_avx512.cc from
 * dot.inc) and chosen with moss_isa_get(); threads split the output columns. From 4 activation rows,
 * q4_K / q5_K / q6_K at the avx2 / avx512 levels run as mat-mat tiles (tile.inc: 16 or 8 weight rows
 * unpacked once per call, vpdpbusd with the activations broadcast), bit-equal to the scalar row dots.
 *
 * Worked example (y = x @ W^T, x (2, 512) f32, W (3, 512) q4_k rows of 2 blocks = 288 bytes):
 *   moss_kq_matmul(MOSS_Q4_K, 2, 3, 512, x, 512, w, 288, y, 3);   // y (2, 3)
 *
 * Accuracy: dequantization is bit for bit ggml's; the fused dot rounds activations to int8 per
 * 256 values (like ggml), so it is close to, not identical with, dequantize-then-matmul.
 * Deliberately does not: keep repacked weights between calls, quantize q2_K/q3_K/iq4_nl, other i-quants.
 */
#ifndef MOSS_KQUANT_H
#define MOSS_KQUANT_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when `dtype` (enum moss_dtype) is one of the k-quant / iq4_nl codes. */
int moss_kq_is(int dtype);
/** Elements per block (256, or 32 for iq4_nl) and bytes per block of a k-quant dtype. */
int moss_kq_block_size(int dtype);
int moss_kq_block_bytes(int dtype);

/** Dequantizes `nblocks` consecutive blocks at src into dst (nblocks * block_size floats). */
void moss_kq_dequantize(int dtype, const void* src, int64_t nblocks, float* dst);

/**
 * C[m, n] = sum_k A[m, k] * W[n, k] for m < M, n < N (C row-major with leading dimension ldc,
 * overwritten). A: f32 rows at A + m * lda. W: N rows of `dtype` blocks, row n at byte
 * n * w_row_bytes; K a multiple of the block size. Runs on the thread pool.
 */
void moss_kq_matmul(int dtype, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const void* W,
                    int64_t w_row_bytes, float* C, int64_t ldc);

/**
 * Quantizes n f32 values (n % 256 == 0) into q4_K / q5_K / q6_K blocks at dst with ggml's reference
 * quantizers (quantize.cc); threads split the blocks. Returns 0, or -1 for another dtype or length.
 */
int moss_kq_quantize(int dtype, const float* x, int64_t n, void* dst);

#ifdef __cplusplus
}
#endif
#endif
