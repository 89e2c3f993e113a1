/**
 * Element reads of the GPTQ repacked blocks (layouts in native/src/gptq/gptq.h; made by
 * models/gptq.ts): 128 values per block. gq4 / gq8: f16 d @0, u16 z @2, then 64 bytes of nibbles
 * (gq4: byte j low = q[j], high = q[j + 64]) or 128 x u8 (gq8); value d * (q - z). gq4s / gq8s: f16 d[4]
 * @0, u8 stored zero zs[4] @8, the same q bytes @12; value d[s] * (q - (zs[s] + 1)) for s = t / 32.
 * Exact in f32. Deliberately does not: write blocks (models/gptq.ts repacks) or multiply (backends do).
 */
import { f16ToF32, type GptqDType } from '../dtype.js';

/** The getter of element o of a gq4/gq8/gq4s/gq8s byte run (block b = floor(o / 128)). */
export function gptqGetter(dtype: GptqDType, a: Uint8Array): (o: number) => number {
  const sub = dtype === 'gq4s' || dtype === 'gq8s', q8 = dtype === 'gq8' || dtype === 'gq8s';
  const bb = q8 ? (sub ? 140 : 132) : (sub ? 76 : 68), qo = sub ? 12 : 4;
  return (o) => {
    const p = Math.floor(o / 128) * bb, t = o % 128, s = t >> 5;
    const d = sub ? f16ToF32(a[p + 2 * s] | (a[p + 2 * s + 1] << 8)) : f16ToF32(a[p] | (a[p + 1] << 8));
    const z = sub ? a[p + 8 + s] + 1 : a[p + 2] | (a[p + 3] << 8);
    const q = q8 ? a[p + qo + t] : t < 64 ? a[p + qo + t] & 15 : a[p + qo + t - 64] >> 4;
    return Math.fround(d * (q - z));
  };
}
