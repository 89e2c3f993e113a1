/*
 * C ABI of the GPTQ weights repacked at load (MOSS moss-moon-003-sft-int4 / -int8, GPTQ-for-LLaMa /
 * AutoGPTQ "old" format): an EXACT repack into 128-value blocks and fused mat-vec / mat-mat kernels.
 *
 * Block layouts (one block = 128 consecutive in-features k of one output row n; a row is K/128 blocks):
 *   gq4 (68 bytes):  f16 d @0, u16 z @2, 64 bytes @4: byte j low nibble = q[j], high nibble = q[j + 64]
 *   gq8 (132 bytes): f16 d @0, u16 z @2, 128 x u8 q @4
 *   value w[k] = d * (q[k] - z)        (d = the GPTQ scale, z = stored zero + 1: 1..16 / 1..256)
 * so the weight is bit-exact GPTQ: no f16 rounding of a min (d * z is never formed in f16). It needs
 * each 128-block to sit inside one GPTQ group: groupsize a multiple of 128 (or -1) with g_idx constant
 * on each block, or, for act-order checkpoints (desc_act: g_idx scatters the groups over k), an input
 * order `order[K]` (k sorted by group) in which it is: block b then holds the in-features
 * order[128 b .. 128 b + 127], and the caller permutes the activations the same way (x[order[k]]),
 * which leaves every product d * (q - z) * x unchanged.
 * Groups of 32 or 64 (common AutoGPTQ settings; act-order groups of a multiple of 32) use the "s"
 * blocks, one scale and zero per 32 values (sub-block s = values 32 s .. 32 s + 31):
 *   gq4s (76 bytes):  f16 d[4] @0, u8 zs[4] @8 (the stored zero, z = zs + 1), 64 bytes @12 as gq4
 *   gq8s (140 bytes): f16 d[4] @0, u8 zs[4] @8, 128 x u8 q @12
 *   value w[k] = d[s] * (q[k] - (zs[s] + 1)),  s = k / 32 within the block; exact as gq4/gq8.
 *
 * Kernel (follows ggml's q4_0 x q8_0 dot): each activation row is quantized ONCE per call to q8 blocks
 * of 32 (d_a = amax/127, round half away from zero, as ggml's quantize_row_q8_0) and each output is
 *   sum_b d_w[b] * ( sum_j d_a[j] * <q_j, a_j>  -  z_b * sum_j d_a[j] * sum(a_j) )   (j: the 4 32-blocks of b)
 * (s blocks: sum_b sum_j d_w[b,j] * d_a[j] * (<q_j, a_j> - z_bj * sum(a_j)))
 * with integer dots of 32 (u8 weight x s8 activation: AVX-512 VNNI vpdpbusd, AVX2 maddubs+madd; gq8 on
 * AVX2 moves the weight to s8 as q - 128 and uses ggml's sign trick). Threads split the outputs; decode
 * streams 8 weight rows at a time, prefill tiles 4 activation rows x 4 weight rows.
 *
 * Worked example (y = x @ W^T, x (2, 256) f32, W (3, 256) gq4 rows of 2 blocks = 136 bytes):
 *   moss_gq_matmul(MOSS_GQ4, 2, 3, 256, x, 256, w, 136, y, 3);   // y (2, 3)
 * Deliberately does not: quantize (GPTQ calibration), permute activations (models/gptq.ts puts an
 * index_select before an act-order Linear), f16 activations.
 */
#ifndef MOSS_GPTQ_H
#define MOSS_GPTQ_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when `dtype` (enum moss_dtype) is MOSS_GQ4, MOSS_GQ8, MOSS_GQ4S or MOSS_GQ8S. */
int moss_gq_is(int dtype);
/** Bytes per 128-value block: 68 (gq4), 132 (gq8), 76 (gq4s) or 140 (gq8s). */
int moss_gq_block_bytes(int dtype);

/** Dequantizes `nblocks` consecutive blocks at src into dst (128 floats each), exactly d * (q - z). */
void moss_gq_dequantize(int dtype, const void* src, int64_t nblocks, float* dst);

/**
 * C[m, n] = sum_k A[m, k] * W[n, k] for m < M, n < N (C with leading dimension ldc, overwritten).
 * A: f32 rows at A + m * lda. W: N rows of blocks, row n at byte n * w_row_bytes; K % 128 == 0.
 */
void moss_gq_matmul(int dtype, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const void* W,
                    int64_t w_row_bytes, float* C, int64_t ldc);

/**
 * Repacks one GPTQ Linear (dtype MOSS_GQ4/GQ8/GQ4S/GQ8S: 4 or 8 bits; K in-features, N out-features,
 * G groups) into N rows of K/128 blocks at dst. qweight (K*bits/32, N) i32, qzeros (G, N*bits/32) i32,
 * scales (G, N) f16 bits, block_group the group of each 128-block (gq4/gq8: K/128 entries) or of each
 * 32-block (gq4s/gq8s: K/32 entries; the caller checked g_idx), order: NULL (block b holds in-features
 * 128 b ..) or K in-feature indices (block b holds order[128 b + t]; act-order). Threads split the rows
 * of blocks. Returns 0, or -1 for bad arguments, a group index or an order entry out of range.
 */
int moss_gq_repack(int dtype, int64_t K, int64_t N, int64_t G, const int32_t* qweight, const int32_t* qzeros,
                   const uint16_t* scales, const int32_t* block_group, const int32_t* order, void* dst);

#ifdef __cplusplus
}
#endif
#endif
