// Quantized dot kernels at the avx512 level (kernels.inc compiled with this target's flags; binding.gyp).
// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own _mm512_undefined
// operands (masked max/reductions, inlined here); the values are fully defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#define MOSS_Q_LEVEL 2
#define MOSS_Q_NS q_avx512
#define MOSS_Q_NAME "avx512vnni"
#define MOSS_Q_GETTER kernels_avx512
#include "kernels.inc"
