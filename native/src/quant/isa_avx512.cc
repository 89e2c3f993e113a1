// Quantized dot kernels at the avx512 level (kernels.inc compiled with this target's flags; binding.gyp).
#define MOSS_Q_LEVEL 2
#define MOSS_Q_NS q_avx512
#define MOSS_Q_NAME "avx512vnni"
#define MOSS_Q_GETTER kernels_avx512
#include "kernels.inc"
