// Row kernels for the avx2 level: isa_impl.inc compiled with this target's flags (see binding.gyp).
#define MOSS_ISA_NS isa_avx2
#define MOSS_ISA_NAME "avx2"
#define MOSS_ISA_GETTER kern_avx2
#include "isa_impl.inc"
