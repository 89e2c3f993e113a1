/**
 * GGML block quantization (Q8_0, Q4_0), bit-exact with ggml's reference (scalar) quantizers
 * `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref` and `dequantize_row_*` in ggml-quants.c:
 * - q8_0: 32 values per block; d = amax/127 (f32), stored as f16; q = roundf(x/d) as int8
 *   (computed as x * (1/d) in f32, rounding half away from zero). 34 bytes per block.
 * - q4_0: d = max/-8 where max is the signed value of largest |x|; q = min(15, trunc(x/d + 8.5))
 *   as u8; byte j holds element j (low nibble) and element j+16 (high nibble); d stored as f16.
 *   18 bytes per block.
 * Not here: the SIMD-rounded variants (ggml's AVX quantizers may differ by one in rare ties) and
 * other block types (k-quants).
 */
import { f16ToF32, f32ToF16 } from '../dtype.js';

export const QK = 32;
const fr = Math.fround;

function checkLen(n: number, what: string): void {
  if (n % QK !== 0) throw new Error(`${what}: length ${n} is not a multiple of ${QK}`);
}

/** C roundf: round half away from zero. */
function roundf(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** Quantizes `src` (length % 32 == 0) to q8_0 blocks. */
export function quantizeQ8_0(src: Float32Array): Uint8Array {
  checkLen(src.length, 'quantizeQ8_0');
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[b * QK + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(b * 34, f32ToF16(d), true);
    for (let j = 0; j < QK; j++) dv.setInt8(b * 34 + 2 + j, roundf(fr(src[b * QK + j] * id)));
  }
  return out;
}

/** Quantizes `src` (length % 32 == 0) to q4_0 blocks. */
export function quantizeQ4_0(src: Float32Array): Uint8Array {
  checkLen(src.length, 'quantizeQ4_0');
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 18);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[b * QK + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(b * 18, f32ToF16(d), true);
    for (let j = 0; j < QK / 2; j++) {
      // (int8_t)(x + 8.5f) truncates toward zero
      const x0 = Math.min(15, Math.trunc(fr(fr(src[b * QK + j] * id) + 8.5)));
      const x1 = Math.min(15, Math.trunc(fr(fr(src[b * QK + QK / 2 + j] * id) + 8.5)));
      out[b * 18 + 2 + j] = (x0 & 0xf) | ((x1 & 0xf) << 4);
    }
  }
  return out;
}

/** Element `j` (0..31) of the q8_0 block starting at byte `base` of `bytes`. */
export function q8_0At(bytes: Uint8Array, base: number, j: number): number {
  const d = f16ToF32(bytes[base] | (bytes[base + 1] << 8));
  const q = (bytes[base + 2 + j] << 24) >> 24;
  return fr(q * d);
}

/** Element `j` (0..31) of the q4_0 block starting at byte `base` of `bytes`. */
export function q4_0At(bytes: Uint8Array, base: number, j: number): number {
  const d = f16ToF32(bytes[base] | (bytes[base + 1] << 8));
  const byte = bytes[base + 2 + (j & 15)];
  const q = (j < 16 ? byte & 0xf : byte >> 4) - 8;
  return fr(q * d);
}

/** Dequantizes the first `n` values (n % 32 == 0) of q8_0 `bytes`. */
export function dequantizeQ8_0(bytes: Uint8Array, n: number): Float32Array {
  checkLen(n, 'dequantizeQ8_0');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = q8_0At(bytes, (i >> 5) * 34, i & 31);
  return out;
}

/** Dequantizes the first `n` values (n % 32 == 0) of q4_0 `bytes`. */
export function dequantizeQ4_0(bytes: Uint8Array, n: number): Float32Array {
  checkLen(n, 'dequantizeQ4_0');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = q4_0At(bytes, (i >> 5) * 18, i & 31);
  return out;
}
