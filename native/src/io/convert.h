/*
 * Weight conversion for `moss quantize` and GPTQ loading (C ABI): quantizing f32/f16/bf16 rows to
 * ggml Q8_0/Q4_0 blocks bit-exactly as ggml's reference quantizers (quantize_row_q8_0_ref /
 * quantize_row_q4_0_ref in ggml-quants.c; the TS twin is src/backends/ref/quant.ts), split across
 * the thread pool. Deliberately does not: use SIMD rounding (ties would differ from ggml's ref).
 */
#ifndef MOSS_IO_CONVERT_H
#define MOSS_IO_CONVERT_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Source element types of moss_quantize_rows. */
enum moss_src_type { MOSS_SRC_F32 = 0, MOSS_SRC_F16 = 1, MOSS_SRC_BF16 = 2 };

/** Quantizes n values (n % 32 == 0) of `src` to qtype (0 q8_0, 1 q4_0) blocks at `dst`. */
void moss_quantize_rows(int qtype, int src_type, const void* src, int64_t n, void* dst);

#ifdef __cplusplus
}
#endif
#endif
