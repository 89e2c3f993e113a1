// Picks the row-kernel table at load: the best level the CPU supports (__builtin_cpu_supports),
// or the one forced by MOSS_NATIVE_ISA=scalar|avx2|avx512 (clamped to what the CPU can run).
// Deliberately does not: dispatch per kernel; one level for the whole process at a time.
#include <cstdlib>
#include <cstring>

#include "common.h"

namespace moss {

#if !(defined(__x86_64__) || defined(__i386__))
const Kern* kern_avx2() { return kern_scalar(); }
const Kern* kern_avx512() { return kern_scalar(); }
#endif

static int detect_best() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni");
  return avx512 ? 2 : avx2 ? 1 : 0;
#else
  return 0;
#endif
}

static int g_level = -1;
const Kern* g_kern = nullptr;

static int env_level() {
  const char* s = std::getenv("MOSS_NATIVE_ISA");
  if (!s || !*s) return 2;
  if (!std::strcmp(s, "scalar")) return 0;
  if (!std::strcmp(s, "avx2")) return 1;
  return 2;
}

struct IsaInit {
  IsaInit() { moss_isa_set(env_level()); }
};
static IsaInit g_isa_init;

}  // namespace moss

using namespace moss;

extern "C" int moss_isa_best(void) { return detect_best(); }

extern "C" int moss_isa_set(int level) {
  const int best = detect_best();
  g_level = level < 0 ? 0 : level > best ? best : level;
  g_kern = g_level == 2 ? kern_avx512() : g_level == 1 ? kern_avx2() : kern_scalar();
  return g_level;
}

extern "C" int moss_isa_get(void) { return g_level; }
