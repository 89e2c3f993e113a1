// Row kernels for the avx512 level: isa_impl.inc compiled with this target's flags (see binding.gyp).
#define MOSS_ISA_NS isa_avx512
#define MOSS_ISA_NAME "avx512"
#define MOSS_ISA_GETTER kern_avx512
#include "isa_impl.inc"
