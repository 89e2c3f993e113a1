// Quantized dot kernels at the avx2 level (kernels.inc compiled with this target's flags; binding.gyp).
#define MOSS_Q_LEVEL 1
#define MOSS_Q_NS q_avx2
#define MOSS_Q_NAME "avx2"
#define MOSS_Q_GETTER kernels_avx2
#include "kernels.inc"
