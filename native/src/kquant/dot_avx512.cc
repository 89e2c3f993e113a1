// k-quant dot kernels at the avx512 level (dot.inc compiled with this target's flags; binding.gyp).
#include <immintrin.h>
#define KQ_LEVEL 2
#define KQ_NS kq_avx512
#define KQ_NAME "avx512"
#define KQ_GETTER kernels_avx512
#include "dot.inc"
