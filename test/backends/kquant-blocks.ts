/**
 * Random but well-formed GGML k-quant / iq4_nl blocks for kernel tests: random payload bytes (every
 * bit pattern of scales, mins and quants occurs) with the f16 scale fields set to small finite values
 * of both signs, so dot products stay in a sane range. Not a quantizer (src/io/kquantize.ts is).
 */
import { DTYPES, f32ToF16, type KQuantDType } from '../../src/backends/dtype.js';

/** Byte offsets of the f16 scale fields (d, dmin) inside one block. */
export const SCALE_OFFSETS: Record<KQuantDType, number[]> = {
  q2_k: [80, 82], q3_k: [108], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208], iq4_nl: [0],
};

/** `nblocks` blocks of `dtype` from `uniform` (values in [0, 1)). */
export function randomKBlocks(dtype: KQuantDType, nblocks: number, uniform: () => number): Uint8Array {
  const bb = DTYPES[dtype].blockBytes;
  const out = new Uint8Array(nblocks * bb);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(uniform() * 256);
  for (let b = 0; b < nblocks; b++) {
    for (const [j, off] of SCALE_OFFSETS[dtype].entries()) {
      const v = j === 0 ? (uniform() - 0.3) * 0.05 : uniform() * 0.02;
      const h = f32ToF16(v);
      out[b * bb + off] = h & 0xff;
      out[b * bb + off + 1] = h >> 8;
    }
  }
  return out;
}
