// k-quant dot kernels at the avx2 level (dot.inc compiled with this target's flags; binding.gyp).
#include <immintrin.h>
#define KQ_LEVEL 1
#define KQ_NS kq_avx2
#define KQ_NAME "avx2"
#define KQ_GETTER kernels_avx2
#include "dot.inc"
