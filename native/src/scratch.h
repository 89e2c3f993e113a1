// A growable 64-byte-aligned buffer: the per-thread scratch of the quantized matmul drivers
// (quant.cc, kquant.cc, gptq.cc each keep a `thread_local Scratch` for their activation rows, so
// decode allocates nothing per token). get(n) returns nullptr when out of memory; callers decide.
// Deliberately does not: keep contents across growth, or serve the GEMM packing slots
// (gemm/dispatch.cc scratch(), which over-allocates and aborts).
#pragma once
#include <cstddef>
#include <cstdlib>

namespace moss {

struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = std::aligned_alloc(64, (n + 63) / 64 * 64);
      cap = p ? n : 0;
    }
    return p;
  }
};

}  // namespace moss
