/*
 * C ABI of the quantized mat-vec / mat-mat kernels (GGML Q8_0 and Q4_0 weights, f32 activations).
 *
 * Follows ggml's CPU path (ggml-cpu/quants.c, ggml_vec_dot_q8_0_q8_0 / ggml_vec_dot_q4_0_q8_0):
 * each activation row is quantized ONCE per call to q8 blocks (32 int8 + an f32 scale), then every
 * output is a sum over blocks of  d_w * d_a * (integer dot of 32 int8 pairs).  The integer dot uses
 * AVX-512 VNNI (vpdpbusd on 256-bit vectors) when the level in use is avx512, AVX2 maddubs/madd
 * otherwise, and a portable loop at the scalar level (moss_isa_get(); MOSS_NATIVE_ISA forces it).
 * Threads (moss::parallel_for) split the output columns N (= weight rows); each thread walks its
 * weight rows in tiles of 4 rows x 4 activation rows, so a prefill re-uses each weight block for
 * several tokens while it is in L1 and decode (M = 1) streams 4 weight rows at a time.
 *
 * Weight layout (ggml): W is N rows of K values (a Linear weight (out, in)), row n starting at byte
 * n * w_row_bytes; a row is K/32 blocks; q8_0 block = f16 d + 32 int8 (34 bytes); q4_0 block =
 * f16 d + 16 bytes, byte j low nibble = element j, high nibble = element j + 16, value (q - 8) * d.
 *
 * Worked example (y = x @ W^T, x (3, 64) f32, W (5, 64) q8_0 rows of 2 blocks = 68 bytes):
 *   moss_qmatmul(MOSS_QTYPE_Q8_0, 3, 5, 64, x, 64, w, 68, y, 5);   // y (3, 5)
 *
 * Accuracy: activations are rounded to int8 per block (relative error ~ 1/254 of the block's
 * largest value), exactly like ggml; the result is not bit-identical to dequantize-then-matmul.
 * Deliberately does not: other block types (k-quants), f16/bf16 activations, transposed weights.
 */
#ifndef MOSS_QUANT_H
#define MOSS_QUANT_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum moss_qtype { MOSS_QTYPE_Q8_0 = 0, MOSS_QTYPE_Q4_0 = 1 };

/** Bytes per 32-element block: 34 (q8_0) or 18 (q4_0). */
int moss_qblock_bytes(int qtype);

/**
 * C[m, n] = sum_k A[m, k] * W[n, k] for m < M, n < N (C row-major with leading dimension ldc,
 * overwritten). A: f32 rows, A[m, k] at A[m * lda + k]. W: N rows of `qtype` blocks, row n at byte
 * n * w_row_bytes. K must be a multiple of 32 (K == 0 gives C = 0). Runs on the thread pool.
 */
void moss_qmatmul(int qtype, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const void* W, int64_t w_row_bytes, float* C, int64_t ldc);

/** Same, single-threaded over output columns [n0, n1) only (for callers with their own threads). */
void moss_qmatmul_cols(int qtype, int64_t M, int64_t n0, int64_t n1, int64_t K, const float* A,
                       int64_t lda, const void* W, int64_t w_row_bytes, float* C, int64_t ldc);

/**
 * Prepares a q4_0 / q8_0 weight (N rows of K, row n at byte n * w_row_bytes) for the AVX-512 kernels when
 * they are in use and N % 16 == 0: a copy repacked 16 rows at a time (quant/x16_avx512.inc) that later
 * moss_qmatmul calls on the same (W, N, K, w_row_bytes) read instead of W. Results are the same sums
 * (float summation order aside). Returns the copy's bytes, 0 when nothing was done (other type or
 * level, N % 16 != 0, already prepared). W must not change while the copy exists. Thread-safe.
 */
int64_t moss_qprepare(int qtype, const void* W, int64_t N, int64_t K, int64_t w_row_bytes);

/**
 * Prepares an f16/bf16 weight of `bytes` contiguous bytes at W: a copy in 2 MiB huge-page memory (the
 * same registry as moss_qprepare) that moss_hfind hands to the f32 x half mat-vec instead of W (file
 * mappings come in 4 KiB pages, where the hardware prefetchers stop and TLB misses pile up). Weights
 * under 1 MiB are left alone. Returns the copy's bytes, 0 when nothing was done. Thread-safe.
 */
int64_t moss_hprepare(const void* W, int64_t bytes);

/** The prepared copy of the half weight starting at W when it covers `span` bytes, else null. */
const void* moss_hfind(const void* W, int64_t span);

/** Drops the prepared copies of weights starting in [p, p + len) (that memory is being freed). */
void moss_qforget(const void* p, int64_t len);

/** Name of the kernel level in use: "scalar", "avx2" or "avx512vnni". */
const char* moss_qmatmul_isa(void);

#ifdef __cplusplus
}
#endif
#endif
