// k-quant dot kernels at the scalar level (dot.inc compiled with this target's flags; binding.gyp).
#define KQ_LEVEL 0
#define KQ_NS kq_scalar
#define KQ_NAME "scalar"
#define KQ_GETTER kernels_scalar
#include "dot.inc"
