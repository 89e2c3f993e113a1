// Quantized dot kernels at the scalar level (kernels.inc compiled with this target's flags; binding.gyp).
#define MOSS_Q_LEVEL 0
#define MOSS_Q_NS q_scalar
#define MOSS_Q_NAME "scalar"
#define MOSS_Q_GETTER kernels_scalar
#include "kernels.inc"
