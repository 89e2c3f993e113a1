// IEEE binary16 (f16) -> f32, exact (subnormals, infinities and NaN payloads kept): the one scalar
// conversion of the k-quant code (block scales d/dmin in kquant.cc, quantize.cc and the scalar level
// of dot.inc). Little-endian loads, as GGUF stores them. Deliberately does not: convert arrays (the
// kernel tables' f16_to_f32, kernels/isa_impl.inc) or use F16C (callers that may, do).
#pragma once
#include <cstdint>
#include <cstring>

namespace moss {

inline float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {
      int e = -1;
      do { man <<= 1; e++; } while (!(man & 0x400));
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/** The f16 stored at `p` (2 bytes, little-endian). */
inline float half_to_float(const uint8_t* p) { return half_to_float((uint16_t)(p[0] | (p[1] << 8))); }

}  // namespace moss
