// copy (strided, any cast between non-quant dtypes), fill, and GGML q8_0 / q4_0 dequantization.
// Float <-> float casts go through f32 rows (SIMD f16/bf16 conversion); anything involving
// integers or bool goes element by element through f64 so i32/i64 values stay exact.
// k-quant / iq4_nl blocks are decoded by kquant/kquant.cc. Deliberately does not: quantize (that is
// io/quantize's job).
#include "common.h"
#include "../kquant/kquant.h"
#include "../gptq/gptq.h"

namespace moss {
static bool is_float(int dt) { return dt == MOSS_F32 || dt == MOSS_F16 || dt == MOSS_BF16; }
}  // namespace moss

using namespace moss;

extern "C" void moss_copy(const moss_view* out, const moss_view* a) {
  const View* vs[2] = {out, a};
  Iter it;
  make_iter(it, out->shape, out->ndim, vs, 2);
  const int od = out->dtype, ad = a->dtype;
  const int64_t osz = dsize(od), asz = dsize(ad);
  if (od == ad) {
    run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
      if (s[0] == 1 && s[1] == 1) { std::memmove(p[0], p[1], n * osz); return; }
      const int64_t so = s[0] * osz, sa = s[1] * asz;
      switch (osz) {
        case 1: for (int64_t i = 0; i < n; i++) p[0][i * so] = p[1][i * sa]; break;
        case 2: for (int64_t i = 0; i < n; i++) std::memcpy(p[0] + i * so, p[1] + i * sa, 2); break;
        case 4: for (int64_t i = 0; i < n; i++) std::memcpy(p[0] + i * so, p[1] + i * sa, 4); break;
        default: for (int64_t i = 0; i < n; i++) std::memcpy(p[0] + i * so, p[1] + i * sa, 8); break;
      }
    });
  } else if (is_float(od) && is_float(ad)) {
    run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
      float* buf = scratch(0, n);
      store_row(od, p[0], s[0], load_row(buf, ad, p[1], s[1], n), n);
    });
  } else {
    run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
      const int64_t so = s[0] * osz, sa = s[1] * asz;
      for (int64_t i = 0; i < n; i++) {
        if (ad == MOSS_I64 && od == MOSS_I32) {  // exact integer narrowing (wraps like torch)
          int64_t v; std::memcpy(&v, p[1] + i * sa, 8);
          int32_t w = (int32_t)v; std::memcpy(p[0] + i * so, &w, 4);
        } else if (ad == MOSS_I32 && od == MOSS_I64) {
          int32_t v; std::memcpy(&v, p[1] + i * sa, 4);
          int64_t w = v; std::memcpy(p[0] + i * so, &w, 8);
        } else {
          write_d(od, p[0] + i * so, read_d(ad, p[1] + i * sa));
        }
      }
    });
  }
}

extern "C" void moss_fill(const moss_view* out, double value) {
  char pat[8];
  write_d(out->dtype, pat, value);
  const int64_t sz = dsize(out->dtype);
  const View* vs[1] = {out};
  Iter it;
  make_iter(it, out->shape, out->ndim, vs, 1);
  run_rows(it, [&](char* const* p, const int64_t* s, int64_t n) {
    const int64_t step = s[0] * sz;
    if (sz == 4 && s[0] == 1) {
      uint32_t u; std::memcpy(&u, pat, 4);
      uint32_t* d = reinterpret_cast<uint32_t*>(p[0]);
      for (int64_t i = 0; i < n; i++) d[i] = u;
    } else if (sz == 1 && s[0] == 1) {
      std::memset(p[0], pat[0], n);
    } else {
      for (int64_t i = 0; i < n; i++) std::memcpy(p[0] + i * step, pat, sz);
    }
  });
}

extern "C" void moss_dequantize(const moss_view* out, const moss_view* a) {
  if (moss_gq_is(a->dtype)) {  // GPTQ repacked blocks of 128 (gptq/gptq.cc)
    const int64_t bb = moss_gq_block_bytes(a->dtype);
    const unsigned char* src = static_cast<const unsigned char*>(a->data);
    char* dst = ptr(*out);
    par(numel(*out) / 128, 8, [&](int64_t b0, int64_t b1) {
      float tmp[128];
      for (int64_t b = b0; b < b1; b++) {
        moss_gq_dequantize(a->dtype, src + b * bb, 1, tmp);
        store_row(out->dtype, dst + b * 128 * dsize(out->dtype), 1, tmp, 128);
      }
    });
    return;
  }
  if (moss_kq_is(a->dtype)) {  // k-quants / iq4_nl: kquant/kquant.cc decodes whole blocks
    const int64_t bs = moss_kq_block_size(a->dtype), bb = moss_kq_block_bytes(a->dtype), nbk = numel(*out) / bs;
    const unsigned char* src = static_cast<const unsigned char*>(a->data);
    char* dst = ptr(*out);
    const int od = out->dtype;
    par(nbk, 8, [&](int64_t b0, int64_t b1) {
      float tmp[256];
      for (int64_t b = b0; b < b1; b++) {
        moss_kq_dequantize(a->dtype, src + b * bb, 1, tmp);
        store_row(od, dst + b * bs * dsize(od), 1, tmp, bs);
      }
    });
    return;
  }
  const int64_t nb = numel(*out) / 32;
  const bool q8 = a->dtype == MOSS_Q8_0;
  const int64_t bb = q8 ? 34 : 18;
  const unsigned char* src = static_cast<const unsigned char*>(a->data);
  char* dst = ptr(*out);
  const int od = out->dtype;
  par(nb, 64, [&](int64_t b0, int64_t b1) {
    float tmp[32];
    for (int64_t b = b0; b < b1; b++) {
      const unsigned char* blk = src + b * bb;
      uint16_t dh; std::memcpy(&dh, blk, 2);
      const float d = h2f_scalar(dh);
      if (q8) {
        for (int j = 0; j < 32; j++) tmp[j] = (float)(int8_t)blk[2 + j] * d;
      } else {
        for (int j = 0; j < 16; j++) {
          tmp[j] = (float)((int)(blk[2 + j] & 0x0f) - 8) * d;
          tmp[j + 16] = (float)((int)(blk[2 + j] >> 4) - 8) * d;
        }
      }
      store_row(od, dst + b * 32 * dsize(od), 1, tmp, 32);
    }
  });
}
