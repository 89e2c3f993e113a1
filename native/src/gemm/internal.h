// Internal interface between the ISA-independent dispatcher (dispatch.cc) and the per-ISA
// translation units (isa_avx512.cc, isa_avx2.cc, isa_scalar.cc), each compiled with its own flags.
//
// Every per-ISA entry takes C with general strides (rsc, csc) so that the dispatcher can solve a
// small-N problem as its transpose (C^T = B^T A^T) on the mat-vec path.
//
// Deliberately does not: expose anything to N-API (see gemm.h for the public C ABI).
#pragma once
#include <cstdint>

namespace moss {
namespace gemm {

/** Packed (GotoBLAS) GEMM. A/B element types depend on the entry (f32, bf16 as uint16_t, or f16). */
using GemmFn = void (*)(int64_t M, int64_t N, int64_t K, const void* A, int64_t rsa, int64_t csa,
                        const void* B, int64_t rsb, int64_t csb, float* C, int64_t ldc, int acc);

/** Small-M (mat-vec) path: A is contiguous f32 [M,K]; B is f32 or bf16 with either csb == 1 or
 *  rsb == 1 (the dispatcher checks); C has strides (rsc, csc). */
using SmallFn = void (*)(int64_t M, int64_t N, int64_t K, const float* A, const void* B,
                         int64_t rsb, int64_t csb, float* C, int64_t rsc, int64_t csc, int acc);

struct Impl {
  const char* name;
  GemmFn gemm_f32;       // A f32, B f32
  GemmFn gemm_bf16;      // A bf16, B bf16
  GemmFn gemm_f32_bf16;  // A f32, B bf16
  SmallFn small_f32;     // B f32
  SmallFn small_bf16;    // B bf16
  /** One thread: run independent FMA chains for about `seconds`; returns flops performed / s. */
  double (*fma_loop)(double seconds);
  /** Sum n floats (n a multiple of 64, p 64-byte aligned) with the widest loads. */
  float (*sum_f32)(const float* p, int64_t n);
  GemmFn gemm_f32_f16;  // A f32, B f16 (IEEE half, widened while packing)
  SmallFn small_f16;    // B f16
};

const Impl* impl_scalar();
const Impl* impl_avx2();    // nullptr when not compiled in
const Impl* impl_avx512();  // nullptr when not compiled in

/** 64-byte aligned scratch that grows and is kept per thread (packing buffers). */
void* scratch(int slot, std::size_t bytes);

}  // namespace gemm
}  // namespace moss
