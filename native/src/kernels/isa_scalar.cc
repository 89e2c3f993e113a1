// Row kernels for the scalar level: isa_impl.inc compiled with this target's flags (see binding.gyp).
#define MOSS_ISA_NS isa_scalar
#define MOSS_ISA_NAME "scalar"
#define MOSS_ISA_GETTER kern_scalar
#include "isa_impl.inc"
