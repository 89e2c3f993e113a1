// Implementation of convert.h: ggml's reference Q8_0 / Q4_0 quantizers, one block at a time, over
// the thread pool in chunks of blocks. f16/bf16 sources are widened per block (no f32 copy).
#include "convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../kernels/common.h"
#include "../threadpool.h"

namespace {

// f16 -> f32 for all 65536 halves (256 KiB), built once: exact, and much faster than bit twiddling.
const float* half_table() {
  static const float* t = [] {
    float* a = new float[65536];
    for (uint32_t h = 0; h < 65536; h++) a[h] = moss::h2f_scalar((uint16_t)h);
    return a;
  }();
  return t;
}

inline void load_block(int src_type, const void* src, int64_t b, float* x, const float* ht) {
  if (src_type == MOSS_SRC_F32) {
    std::memcpy(x, static_cast<const float*>(src) + b * 32, 32 * sizeof(float));
    return;
  }
  const uint16_t* h = static_cast<const uint16_t*>(src) + b * 32;
  if (src_type == MOSS_SRC_F16) {
    for (int j = 0; j < 32; j++) x[j] = ht[h[j]];
  } else {
    for (int j = 0; j < 32; j++) x[j] = moss::bf2f(h[j]);
  }
}

void q8_block(const float* x, uint8_t* y) {
  float amax = 0.0f;
  for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t dh = moss::f2h_scalar(d);
  std::memcpy(y, &dh, 2);
  for (int j = 0; j < 32; j++) y[2 + j] = (uint8_t)(int8_t)std::roundf(x[j] * id);
}

void q4_block(const float* x, uint8_t* y) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; j++) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t dh = moss::f2h_scalar(d);
  std::memcpy(y, &dh, 2);
  for (int j = 0; j < 16; j++) {
    const int a = std::min(15, (int)(int8_t)(x[j] * id + 8.5f));
    const int b = std::min(15, (int)(int8_t)(x[16 + j] * id + 8.5f));
    y[2 + j] = (uint8_t)(a | (b << 4));
  }
}

}  // namespace

extern "C" void moss_quantize_rows(int qtype, int src_type, const void* src, int64_t n, void* dst) {
  const int64_t nb = n / 32;
  const int bb = qtype == 0 ? 34 : 18;
  uint8_t* out = static_cast<uint8_t*>(dst);
  const float* ht = half_table();
  moss::parallel_for(nb, [&](int64_t b0, int64_t b1) {
    float x[32];
    for (int64_t b = b0; b < b1; b++) {
      load_block(src_type, src, b, x, ht);
      if (qtype == 0) q8_block(x, out + b * bb);
      else q4_block(x, out + b * bb);
    }
  });
}
