/**
 * GGML k-quant and iq4_nl blocks, dequantized exactly as ggml's `dequantize_row_*` (ggml-quants.c)
 * and gguf-py's `quants.py` do, one super-block at a time, every product rounded to f32 in the
 * same order (so results are bit for bit those of the references; dev/kquant_reference.py).
 * Layouts (QK_K = 256 elements per super-block; byte offsets inside the block):
 * - q2_k (84 B): scales[16] @0 (low nibble scale, high nibble min, per 16), qs[64] @16 (2 bits),
 *   d f16 @80, dmin f16 @82.  y = d*(sc&15) * q - dmin*(sc>>4)
 * - q3_k (110 B): hmask[32] @0, qs[64] @32 (2 low bits), scales[12] @96 (16 x 6 bits), d f16 @108.
 *   y = d*(s-32) * (q - (hbit ? 0 : 4))
 * - q4_k (144 B): d f16 @0, dmin f16 @2, scales[12] @4 (8 x 6-bit scale + 8 x 6-bit min, per 32),
 *   qs[128] @16 (nibbles: low = first 32 of each 64, high = next 32).  y = d*sc * q - dmin*m
 * - q5_k (176 B): d @0, dmin @2, scales[12] @4, qh[32] @16 (5th bits), qs[128] @48.
 * - q6_k (210 B): ql[128] @0, qh[64] @128, scales[16] int8 @192, d f16 @208.  y = d*sc * (q - 32)
 * - iq4_nl (18 B, 32 elements): d f16 @0, qs[16] @2, y = d * KVALUES_IQ4NL[nibble]
 * Not here: quantizing (src/io/kquantize.ts), the other i-quants, q8_k (an activation-only type).
 */
import { f16ToF32 } from '../dtype.js';
import type { KQuantDType } from '../dtype.js';

const fr = Math.fround;
export const QK_K = 256;
export const KVALUES_IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

function f16At(b: Uint8Array, o: number): number {
  return f16ToF32(b[o] | (b[o + 1] << 8));
}

/** q4_k / q5_k 6-bit (scale, min) pair j (0..7) from the 12 scale bytes at `o` (get_scale_min_k4). */
export function scaleMinK4(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j] & 63, b[o + j + 4] & 63];
  return [(b[o + j + 4] & 0xf) | ((b[o + j - 4] >> 6) << 4), (b[o + j + 4] >> 4) | ((b[o + j] >> 6) << 4)];
}

/** The 16 q3_k scales (6 bits each, still biased by 32) from the 12 bytes at `o`. */
export function q3kScales(b: Uint8Array, o: number): number[] {
  const s: number[] = new Array(16);
  for (let i = 0; i < 16; i++) {
    const low = i < 8 ? b[o + i] & 0xf : b[o + i - 8] >> 4;
    const high = (b[o + 8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    s[i] = low | (high << 4);
  }
  return s;
}

function q2k(b: Uint8Array, o: number, y: Float32Array): void {
  const d = f16At(b, o + 80), dmin = f16At(b, o + 82);
  let is = 0, k = 0;
  for (let n = 0; n < 2; n++) {
    const q = o + 16 + 32 * n;
    for (let shift = 0; shift < 8; shift += 2) {
      for (let half = 0; half < 2; half++) {
        const sc = b[o + is++];
        const dl = fr(d * (sc & 0xf)), ml = fr(dmin * (sc >> 4));
        for (let l = 0; l < 16; l++) y[k++] = fr(fr(dl * ((b[q + 16 * half + l] >> shift) & 3)) - ml);
      }
    }
  }
}

function q3k(b: Uint8Array, o: number, y: Float32Array): void {
  const d = f16At(b, o + 108);
  const sc = q3kScales(b, o + 96);
  let is = 0, k = 0, m = 1;
  for (let n = 0; n < 2; n++) {
    const q = o + 32 + 32 * n;
    for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
      for (let half = 0; half < 2; half++) {
        const dl = fr(d * (sc[is++] - 32));
        for (let l = 0; l < 16; l++) {
          const i = 16 * half + l;
          y[k++] = fr(dl * (((b[q + i] >> shift) & 3) - (b[o + i] & m ? 0 : 4)));
        }
      }
    }
  }
}

function q45k(b: Uint8Array, o: number, y: Float32Array, five: boolean): void {
  const d = f16At(b, o), dmin = f16At(b, o + 2);
  const qs = o + (five ? 48 : 16);
  for (let j = 0; j < 4; j++) {
    for (let half = 0; half < 2; half++) {
      const [sc, mn] = scaleMinK4(b, o + 4, 2 * j + half);
      const d1 = fr(d * sc), m1 = fr(dmin * mn);
      const bit = 1 << (2 * j + half);
      for (let l = 0; l < 32; l++) {
        let q = half ? b[qs + 32 * j + l] >> 4 : b[qs + 32 * j + l] & 0xf;
        if (five && b[o + 16 + l] & bit) q += 16;
        y[64 * j + 32 * half + l] = fr(fr(d1 * q) - m1);
      }
    }
  }
}

function q6k(b: Uint8Array, o: number, y: Float32Array): void {
  const d = f16At(b, o + 208);
  for (let n = 0; n < 2; n++) {
    const ql = o + 64 * n, qh = o + 128 + 32 * n, sc = o + 192 + 8 * n;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = b[qh + l];
      const q = [
        ((b[ql + l] & 0xf) | ((h & 3) << 4)) - 32,
        ((b[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32,
        ((b[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32,
        ((b[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32,
      ];
      for (let t = 0; t < 4; t++) {
        const s = (b[sc + is + 2 * t] << 24) >> 24;
        y[128 * n + 32 * t + l] = fr(fr(d * s) * q[t]);
      }
    }
  }
}

function iq4nl(b: Uint8Array, o: number, y: Float32Array): void {
  const d = f16At(b, o);
  for (let j = 0; j < 16; j++) {
    y[j] = fr(d * KVALUES_IQ4NL[b[o + 2 + j] & 0xf]);
    y[j + 16] = fr(d * KVALUES_IQ4NL[b[o + 2 + j] >> 4]);
  }
}

/** Dequantizes the block of `dtype` starting at byte `o` of `b` into `y` (256 values; 32 for iq4_nl). */
export function dequantizeBlockK(dtype: KQuantDType, b: Uint8Array, o: number, y: Float32Array): void {
  switch (dtype) {
    case 'q2_k': return q2k(b, o, y);
    case 'q3_k': return q3k(b, o, y);
    case 'q4_k': return q45k(b, o, y, false);
    case 'q5_k': return q45k(b, o, y, true);
    case 'q6_k': return q6k(b, o, y);
    case 'iq4_nl': return iq4nl(b, o, y);
  }
}

const BLOCK: Record<KQuantDType, [number, number]> = {
  q2_k: [256, 84], q3_k: [256, 110], q4_k: [256, 144], q5_k: [256, 176], q6_k: [256, 210], iq4_nl: [32, 18],
};

/** Dequantizes the first `n` values (whole blocks) of `bytes`. */
export function dequantizeK(dtype: KQuantDType, bytes: Uint8Array, n: number): Float32Array {
  const [bs, bb] = BLOCK[dtype];
  if (n % bs !== 0) throw new Error(`dequantize ${dtype}: ${n} values is not a multiple of the block size ${bs}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n / bs; i++) dequantizeBlockK(dtype, bytes, i * bb, out.subarray(i * bs, (i + 1) * bs));
  return out;
}

/** An element reader for a k-quant storage (element offset -> value) that decodes one block at a
 *  time and keeps the last one (the ref backend reads rows in order). */
export function kquantGetter(dtype: KQuantDType, bytes: Uint8Array): (off: number) => number {
  const [bs, bb] = BLOCK[dtype];
  const buf = new Float32Array(bs);
  let cur = -1;
  return (off) => {
    const blk = Math.floor(off / bs);
    if (blk !== cur) {
      dequantizeBlockK(dtype, bytes, blk * bb, buf);
      cur = blk;
    }
    return buf[off - blk * bs];
  };
}
