/**
 * Quantizing raw f32/f16/bf16 bytes to ggml Q8_0/Q4_0 blocks for the streaming converters:
 * the native addon's `quantizeRows` (ggml's reference quantizers in C, split across the thread
 * pool; native/src/io/convert.cc) when it is built, else the bit-identical TS reference
 * (src/backends/ref/quant.ts) after widening in JS. No f32 copy of a whole tensor is ever made.
 * Q4_K/Q5_K/Q6_K (256-value super-blocks) go through the addon's `kquantize` (ggml's reference
 * k-quantizers, native/src/kquant/quantize.cc) on rows widened to f32 in JS; they need the addon.
 * Deliberately does not: choose which tensors to quantize (src/models/quantize.ts does).
 */
import { loadAddon } from '../backends/native/addon.js';
import { bf16ToF32, DTYPES, f16ToF32 } from '../backends/dtype.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../backends/ref/quant.js';

export type QuantType = 'q8_0' | 'q4_0' | KQuantWriteType;
/** The k-quants this project writes (the others are read-only). */
export type KQuantWriteType = 'q4_k' | 'q5_k' | 'q6_k';
export type RawFloat = 'f32' | 'f16' | 'bf16';

/** Bytes of `n` values (whole blocks: 32, or 256 for the k-quants) quantized to `q`. */
export function quantizedBytes(q: QuantType, n: number): number {
  return (n / DTYPES[q].blockSize) * DTYPES[q].blockBytes;
}

type KQuantizeFn = (dtypeCode: number, src: ArrayBuffer, srcOffset: number, n: number, dst: ArrayBuffer, dstOffset: number) => void;
const KCODE: Record<KQuantWriteType, number> = { q4_k: 10, q5_k: 11, q6_k: 12 }; // native/include/moss_kernels.h

function kquantizeInto(q: KQuantWriteType, src: Uint8Array, dtype: RawFloat, dst: Uint8Array): void {
  const a = loadAddon() as unknown as { kquantize?: KQuantizeFn } | null;
  if (!a || typeof a.kquantize !== 'function') throw new Error(`quantize ${q}: k-quant quantization needs the native addon (npm run build:native)`);
  let w = widen(src, dtype);
  if (w.buffer === src.buffer && dtype === 'f32' && w.byteOffset % 4 !== 0) w = w.slice();
  a.kquantize(KCODE[q], w.buffer as ArrayBuffer, w.byteOffset, w.length, dst.buffer as ArrayBuffer, dst.byteOffset);
}

type QuantizeRowsFn = (qt: number, st: number, src: ArrayBuffer, srcOffset: number, n: number, dst: ArrayBuffer, dstOffset: number) => void;

let native: QuantizeRowsFn | null | undefined;
function nativeFn(): QuantizeRowsFn | null {
  if (native === undefined) {
    const a = loadAddon() as unknown as { quantizeRows?: QuantizeRowsFn } | null;
    native = a && typeof a.quantizeRows === 'function' ? a.quantizeRows : null;
  }
  return native;
}

/** Widens raw little-endian floats to f32 (JS path). */
export function widen(src: Uint8Array, dtype: RawFloat): Float32Array {
  if (dtype === 'f32') {
    if (src.byteOffset % 4 === 0) return new Float32Array(src.buffer, src.byteOffset, src.byteLength / 4);
    return new Float32Array(src.slice().buffer);
  }
  const n = src.byteLength / 2;
  const out = new Float32Array(n);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const f = dtype === 'f16' ? f16ToF32 : bf16ToF32;
  for (let i = 0; i < n; i++) out[i] = f(dv.getUint16(i * 2, true));
  return out;
}

/**
 * Quantizes the floats in `src` (of `dtype`; count % 32 == 0) into `dst` (exactly the quantized size).
 * @example quantizeInto('q4_0', halfBytes, 'f16', new Uint8Array(quantizedBytes('q4_0', halfBytes.length / 2)))
 */
export function quantizeInto(q: QuantType, src: Uint8Array, dtype: RawFloat, dst: Uint8Array): void {
  const n = src.byteLength / (dtype === 'f32' ? 4 : 2);
  const bs = DTYPES[q].blockSize;
  if (!Number.isInteger(n) || n % bs !== 0) throw new Error(`quantize: ${src.byteLength} bytes of ${dtype} is not a whole number of ${bs}-value blocks`);
  if (dst.byteLength !== quantizedBytes(q, n)) throw new Error(`quantize: output has ${dst.byteLength} bytes, ${quantizedBytes(q, n)} needed`);
  if (q !== 'q8_0' && q !== 'q4_0') return kquantizeInto(q, src, dtype, dst);
  const fn = nativeFn();
  if (fn) {
    fn(q === 'q8_0' ? 0 : 1, dtype === 'f32' ? 0 : dtype === 'f16' ? 1 : 2, src.buffer as ArrayBuffer, src.byteOffset, n, dst.buffer as ArrayBuffer, dst.byteOffset);
    return;
  }
  const w = widen(src, dtype);
  dst.set(q === 'q8_0' ? quantizeQ8_0(w) : quantizeQ4_0(w));
}
