// C ABI of the native GEMM / mat-vec kernels and the machine-limit probes.
//
// Follows the BLIS/GotoBLAS design: B is packed into KC x NR panels, A into MR x KC panels, and an
// MR x NR register-blocked micro-kernel (AVX-512: 12 x 32 f32 FMA, or 12 x 32 with vdpbf16ps for
// bf16; AVX2: 6 x 16; scalar 4 x 4) runs over L1/L2/L3-sized blocks, with threads splitting the
// tile grid (moss::parallel_for). Small M (decode: mat-vec) takes a separate memory-bound path
// that streams B with wide loads on all threads and never packs it.
// The ISA is chosen once at runtime (__builtin_cpu_supports), overridable with
// MOSS_NATIVE_ISA=scalar|avx2|avx512 (a request above what the CPU has falls back to the best
// supported level).
//
// Conventions for every entry point:
//   C[M,N] (row-major, leading dimension ldc >= N) = A[M,K] @ B[K,N]   (accumulate == 0)
//   C[M,N] += A[M,K] @ B[K,N]                                            (accumulate != 0)
//   A[i,k] is at A[i*rsa + k*csa], B[k,j] at B[k*rsb + j*csb] (strides in ELEMENTS, any sign-free
//   layout: row-major A is (rsa=K, csa=1); A^T of a row-major [K,M] buffer is (rsa=1, csa=M);
//   a PyTorch Linear weight W[N,K] used as B = W^T is (rsb=1, csb=K)). Inputs are never written.
//   M, N, K >= 0; K == 0 gives C = 0 (or leaves C unchanged when accumulating).
//   bf16 values are raw uint16_t (the high half of an f32). Accumulation is always in f32.
//   Calls are thread-safe; concurrent calls from different threads share the pool (the second
//   runs on its own thread).
//
// Deliberately does not: take alpha/beta scalars (only beta in {0,1}), write f16/bf16 outputs,
// or handle quantized blocks (those live with the other kernels).
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ISA levels (also the values of moss_gemm_isa()). */
enum { MOSS_ISA_SCALAR = 0, MOSS_ISA_AVX2 = 1, MOSS_ISA_AVX512 = 2 };

/** Level in use (after MOSS_NATIVE_ISA and CPU detection). */
int moss_gemm_isa(void);
/** "scalar", "avx2", "avx512" or "avx512bf16" (AVX-512 with native bf16 dot products). */
const char* moss_gemm_isa_name(void);

/** f32 GEMM. Routes small M (or small N) to the mat-vec path automatically: M <= 32 when B is a
 *  transposed row-major weight (rsb == 1), M <= 16 when B is row-major (csb == 1). */
void moss_gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa,
                   const float* B, int64_t rsb, int64_t csb, float* C, int64_t ldc,
                   int accumulate);

/** bf16 x bf16 -> f32 GEMM (vdpbf16ps when the CPU has AVX512_BF16; exact f32 products of the
 *  bf16 values otherwise). */
void moss_gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t rsa, int64_t csa,
                    const uint16_t* B, int64_t rsb, int64_t csb, float* C, int64_t ldc,
                    int accumulate);

/** Mixed: A f32 (activations) x B bf16 (weights) -> f32; products are exact f32 (B widened). */
void moss_gemm_f32_bf16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa,
                        int64_t csa, const uint16_t* B, int64_t rsb, int64_t csb, float* C,
                        int64_t ldc, int accumulate);

/** Mixed: A f32 (activations) x B f16 (IEEE half weights, as raw bits) -> f32; products are exact
 *  f32 (B widened with vcvtph2ps / F16C, or in software at the scalar level). */
void moss_gemm_f32_f16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa,
                       int64_t csa, const uint16_t* B, int64_t rsb, int64_t csb, float* C,
                       int64_t ldc, int accumulate);

/** Mat-vec / small-M path forced (any M works, but it is meant for M <= 8): streams B once per
 *  call on all threads. Fast when B is row-major (csb == 1) or a transposed row-major weight
 *  (rsb == 1); other B layouts fall back to the packed GEMM. */
void moss_matvec_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa,
                     const float* B, int64_t rsb, int64_t csb, float* C, int64_t ldc,
                     int accumulate);
/** Same with bf16 weights B (A f32). */
void moss_matvec_f32_bf16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa,
                          int64_t csa, const uint16_t* B, int64_t rsb, int64_t csb, float* C,
                          int64_t ldc, int accumulate);

/** Same with f16 weights B (A f32). */
void moss_matvec_f32_f16(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa,
                         int64_t csa, const uint16_t* B, int64_t rsb, int64_t csb, float* C,
                         int64_t ldc, int accumulate);

/** Peak FMA throughput: `threads` threads (<= 0: pool size) run independent FMA chains on the
 *  widest enabled vectors for about `seconds`; returns the sum over threads of each thread's best
 *  ~1 ms rate, in GFLOP/s (2 flops per FMA lane). */
double moss_probe_fma_gflops(int threads, double seconds);
/** Memory read bandwidth: up to `threads` pool threads (<= 0: all) sum a `bytes`-byte buffer
 *  (should be >> L3) with wide loads, one 64 MiB window at a time (cold data each time) in 1 MiB
 *  pieces claimed dynamically; returns the best window's GB/s (1e9 bytes/s). */
double moss_probe_read_gbps(int threads, int64_t bytes);

#ifdef __cplusplus
}
#endif
