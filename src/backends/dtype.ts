/**
 * Data types: names, sizes, and the f16/bf16 <-> f32 conversions every layer shares.
 *
 * Storage dtypes are f32, f16, bf16, i32, i64, bool and the GGML block types q8_0 / q4_0
 * (32 elements per block: q8_0 = f16 scale + 32 x i8 = 34 bytes; q4_0 = f16 scale + 16 bytes of
 * nibbles = 18 bytes), the k-quants q2_k..q6_k (256 elements per super-block; layouts in
 * backends/ref/kquant.ts), iq4_nl (32 per block) and the GPTQ repacks gq4/gq8/gq4s/gq8s (128 per block). Compute happens in f32 unless a kernel says otherwise.
 * This file does not know about tensors or backends.
 */

export type FloatDType = 'f32' | 'f16' | 'bf16';
export type IntDType = 'i32' | 'i64';
export type QuantDType = 'q8_0' | 'q4_0' | KQuantDType | GptqDType;
/**
 * GPTQ int4/int8 repacked at load (models/gptq.ts, native/src/gptq/gptq.h): 128 per block, w = d * (q - z),
 * one d and z per block (gq4/gq8) or per 32 values (gq4s/gq8s: groupsize 32 / 64).
 */
export type GptqDType = 'gq4' | 'gq8' | 'gq4s' | 'gq8s';
/** GGML k-quants and iq4_nl: readable (dequantize, matmul as a weight), not writable element-wise. */
export type KQuantDType = 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k' | 'iq4_nl';
export type DType = FloatDType | IntDType | 'bool' | QuantDType;

export interface DTypeInfo {
  /** Bytes per block (per element for non-block types). */
  readonly blockBytes: number;
  /** Elements per block (1 for non-block types). */
  readonly blockSize: number;
  readonly isFloat: boolean;
  readonly isInt: boolean;
  readonly isQuant: boolean;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  f32: { blockBytes: 4, blockSize: 1, isFloat: true, isInt: false, isQuant: false },
  f16: { blockBytes: 2, blockSize: 1, isFloat: true, isInt: false, isQuant: false },
  bf16: { blockBytes: 2, blockSize: 1, isFloat: true, isInt: false, isQuant: false },
  i32: { blockBytes: 4, blockSize: 1, isFloat: false, isInt: true, isQuant: false },
  i64: { blockBytes: 8, blockSize: 1, isFloat: false, isInt: true, isQuant: false },
  bool: { blockBytes: 1, blockSize: 1, isFloat: false, isInt: false, isQuant: false },
  q8_0: { blockBytes: 34, blockSize: 32, isFloat: false, isInt: false, isQuant: true },
  q4_0: { blockBytes: 18, blockSize: 32, isFloat: false, isInt: false, isQuant: true },
  q2_k: { blockBytes: 84, blockSize: 256, isFloat: false, isInt: false, isQuant: true },
  q3_k: { blockBytes: 110, blockSize: 256, isFloat: false, isInt: false, isQuant: true },
  q4_k: { blockBytes: 144, blockSize: 256, isFloat: false, isInt: false, isQuant: true },
  q5_k: { blockBytes: 176, blockSize: 256, isFloat: false, isInt: false, isQuant: true },
  q6_k: { blockBytes: 210, blockSize: 256, isFloat: false, isInt: false, isQuant: true },
  iq4_nl: { blockBytes: 18, blockSize: 32, isFloat: false, isInt: false, isQuant: true },
  gq4: { blockBytes: 68, blockSize: 128, isFloat: false, isInt: false, isQuant: true },
  gq8: { blockBytes: 132, blockSize: 128, isFloat: false, isInt: false, isQuant: true },
  gq4s: { blockBytes: 76, blockSize: 128, isFloat: false, isInt: false, isQuant: true },
  gq8s: { blockBytes: 140, blockSize: 128, isFloat: false, isInt: false, isQuant: true },
};

/** The k-quant (and iq4_nl) dtypes, in ggml type-id order. */
export const KQUANT_DTYPES: readonly KQuantDType[] = ['q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k', 'iq4_nl'];

export function isKQuant(d: DType): d is KQuantDType {
  return (KQUANT_DTYPES as readonly string[]).includes(d);
}

export function isGptqDType(d: DType): d is GptqDType {
  return d === 'gq4' || d === 'gq8' || d === 'gq4s' || d === 'gq8s';
}

/** Bytes needed to store `numel` elements of `dtype` (block types need numel % blockSize == 0). */
export function byteSize(dtype: DType, numel: number): number {
  const info = DTYPES[dtype];
  if (numel % info.blockSize !== 0) {
    throw new Error(`${dtype}: element count ${numel} is not a multiple of the block size ${info.blockSize}`);
  }
  return (numel / info.blockSize) * info.blockBytes;
}

// --- f16 / bf16 conversions (round to nearest even, like PyTorch and numpy) ---

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** f32 -> bf16 bits, round to nearest even; NaN stays NaN. */
export function f32ToBf16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16ToF32(h: number): number {
  u32buf[0] = (h & 0xffff) << 16;
  return f32buf[0];
}

/** f32 -> IEEE half bits, round to nearest even, with subnormals and overflow to inf. */
export function f32ToF16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rem > half || (rem === half && (m & 1))) m++;
    return sign | m;
  }
  const rem = mant & 0x1fff;
  let m = mant >>> 13;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
