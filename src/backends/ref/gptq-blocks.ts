/**
 * Element reads of the GPTQ repacked blocks gq4 / gq8 (layouts in native/src/gptq/gptq.h; made by
 * models/gptq.ts): 128 values per block, f16 d @0, u16 z @2, then 64 bytes of nibbles (gq4: byte j
 * low = q[j], high = q[j + 64]) or 128 x u8 (gq8); value d * (q - z), exact in f32.
 * Deliberately does not: write blocks (models/gptq.ts repacks) or multiply (backends do).
 */
import { f16ToF32 } from '../dtype.js';

/** The getter of element o of a gq4/gq8 byte run (block b = floor(o / 128)). */
export function gptqGetter(dtype: 'gq4' | 'gq8', a: Uint8Array): (o: number) => number {
  const bb = dtype === 'gq4' ? 68 : 132;
  return (o) => {
    const p = Math.floor(o / 128) * bb, t = o % 128;
    const d = f16ToF32(a[p] | (a[p + 1] << 8)), z = a[p + 2] | (a[p + 3] << 8);
    const q = dtype === 'gq8' ? a[p + 4 + t] : t < 64 ? a[p + 4 + t] & 15 : a[p + 4 + t - 64] >> 4;
    return Math.fround(d * (q - z));
  };
}
