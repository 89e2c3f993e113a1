/**
 * Strided access for the reference backend: turn any view (any dtype, any strides including 0,
 * any element offset, any storage byteOffset, even misaligned) into values in logical row-major
 * order, and write values back. Every ref kernel is "read inputs -> plain loops -> write output".
 * Floats are read exactly (f16/bf16 widened); i64 is read as a JS number (exact to 2^53).
 * Writes round to the output dtype: f16/bf16 nearest-even, ints truncate toward zero (and wrap,
 * like a C cast of an in-range value), bool is `x != 0`. Quantized views are readable, not writable.
 * Bounds and disposal are checked on every access path: this is the oracle, it should fail loudly.
 */
import { isContiguous, numel, type View } from '../backend.js';
import { bf16ToF32, DTYPES, f16ToF32, f32ToBf16, f32ToF16, type DType } from '../dtype.js';
import { q4_0At, q8_0At } from './quant.js';
import { gptqGetter } from './gptq-blocks.js';
import { kquantGetter } from './kquant.js';

/** Element offsets of every logical element, in row-major order (walked incrementally). */
export function offsets(shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
  const n = numel(shape);
  const out = new Float64Array(n);
  if (n === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    out[0] = offset;
    return out;
  }
  const last = nd - 1;
  const nl = shape[last];
  const sl = strides[last];
  const idx = new Array<number>(nd).fill(0);
  let off = offset;
  let i = 0;
  for (;;) {
    for (let j = 0; j < nl; j++) out[i++] = off + j * sl;
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= idx[d] * strides[d];
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}

/** Capacity of the view's storage in elements of its dtype. */
function capacity(v: View): number {
  const info = DTYPES[v.dtype];
  return Math.floor(v.storage.byteLength / info.blockBytes) * info.blockSize;
}

/** Throws if the storage was freed or the view reaches outside it. */
export function checkView(v: View): void {
  if (v.storage.disposed) throw new Error('ref: access to a freed storage');
  if (v.shape.length !== v.strides.length) throw new Error(`ref: shape ${v.shape} / strides ${v.strides} rank mismatch`);
  if (numel(v.shape) === 0) return;
  let hi = v.offset;
  let lo = v.offset;
  for (let d = 0; d < v.shape.length; d++) {
    const span = (v.shape[d] - 1) * v.strides[d];
    if (span > 0) hi += span;
    else lo += span;
  }
  if (lo < 0 || hi >= capacity(v)) {
    throw new Error(`ref: view (shape ${v.shape}, strides ${v.strides}, offset ${v.offset}) exceeds storage of ${capacity(v)} ${v.dtype}`);
  }
}

export type Getter = (off: number) => number;
export type Setter = (off: number, x: number) => void;

function bytesOf(v: View): Uint8Array {
  return new Uint8Array(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength);
}

function aligned(v: View, size: number): boolean {
  return v.storage.byteOffset % size === 0;
}

function dataView(v: View): DataView {
  return new DataView(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength);
}

/** Reads the element at element offset `off` as a number (no bounds check; see checkView). */
export function getter(v: View): Getter {
  const { buffer, byteOffset, byteLength } = v.storage;
  switch (v.dtype) {
    case 'f32': {
      if (!aligned(v, 4)) { const dv = dataView(v); return (o) => dv.getFloat32(o * 4, true); }
      const a = new Float32Array(buffer, byteOffset, byteLength >>> 2);
      return (o) => a[o];
    }
    case 'f16':
    case 'bf16': {
      const conv = v.dtype === 'f16' ? f16ToF32 : bf16ToF32;
      if (!aligned(v, 2)) { const dv = dataView(v); return (o) => conv(dv.getUint16(o * 2, true)); }
      const a = new Uint16Array(buffer, byteOffset, byteLength >>> 1);
      return (o) => conv(a[o]);
    }
    case 'i32': {
      if (!aligned(v, 4)) { const dv = dataView(v); return (o) => dv.getInt32(o * 4, true); }
      const a = new Int32Array(buffer, byteOffset, byteLength >>> 2);
      return (o) => a[o];
    }
    case 'i64': {
      if (!aligned(v, 8)) { const dv = dataView(v); return (o) => Number(dv.getBigInt64(o * 8, true)); }
      const a = new BigInt64Array(buffer, byteOffset, byteLength >>> 3);
      return (o) => Number(a[o]);
    }
    case 'bool': {
      const a = bytesOf(v);
      return (o) => (a[o] !== 0 ? 1 : 0);
    }
    case 'q8_0': {
      const a = bytesOf(v);
      return (o) => q8_0At(a, Math.floor(o / 32) * 34, o % 32);
    }
    case 'q4_0': {
      const a = bytesOf(v);
      return (o) => q4_0At(a, Math.floor(o / 32) * 18, o % 32);
    }
    case 'q2_k':
    case 'q3_k':
    case 'q4_k':
    case 'q5_k':
    case 'q6_k':
    case 'iq4_nl':
      return kquantGetter(v.dtype, bytesOf(v));
    case 'gq4':
    case 'gq8':
    case 'gq4s':
    case 'gq8s':
      return gptqGetter(v.dtype, bytesOf(v));
  }
}

function toI64(x: number): bigint {
  return Number.isFinite(x) ? BigInt.asIntN(64, BigInt(Math.trunc(x))) : 0n;
}

/** Writes `x` (rounded/cast to the view's dtype) at element offset `off`. */
export function setter(v: View): Setter {
  const { buffer, byteOffset, byteLength } = v.storage;
  switch (v.dtype) {
    case 'f32': {
      if (!aligned(v, 4)) { const dv = dataView(v); return (o, x) => dv.setFloat32(o * 4, x, true); }
      const a = new Float32Array(buffer, byteOffset, byteLength >>> 2);
      return (o, x) => { a[o] = x; };
    }
    case 'f16':
    case 'bf16': {
      const conv = v.dtype === 'f16' ? f32ToF16 : f32ToBf16;
      if (!aligned(v, 2)) { const dv = dataView(v); return (o, x) => dv.setUint16(o * 2, conv(x), true); }
      const a = new Uint16Array(buffer, byteOffset, byteLength >>> 1);
      return (o, x) => { a[o] = conv(x); };
    }
    case 'i32': {
      // Int32Array stores do ToInt32: truncate toward zero, wrap mod 2^32, NaN -> 0
      if (!aligned(v, 4)) { const dv = dataView(v); return (o, x) => dv.setInt32(o * 4, Number.isFinite(x) ? x : 0, true); }
      const a = new Int32Array(buffer, byteOffset, byteLength >>> 2);
      return (o, x) => { a[o] = x; };
    }
    case 'i64': {
      if (!aligned(v, 8)) { const dv = dataView(v); return (o, x) => dv.setBigInt64(o * 8, toI64(x), true); }
      const a = new BigInt64Array(buffer, byteOffset, byteLength >>> 3);
      return (o, x) => { a[o] = toI64(x); };
    }
    case 'bool': {
      const a = bytesOf(v);
      return (o, x) => { a[o] = x !== 0 ? 1 : 0; };
    }
    case 'q8_0':
    case 'q4_0':
    case 'q2_k':
    case 'q3_k':
    case 'q4_k':
    case 'q5_k':
    case 'q6_k':
    case 'iq4_nl':
    case 'gq4':
    case 'gq8':
    case 'gq4s':
    case 'gq8s':
      throw new Error(`ref: cannot write elements of a ${v.dtype} view`);
  }
}

function isDenseF32(v: View): boolean {
  return v.dtype === 'f32' && v.storage.byteOffset % 4 === 0 && isContiguous(v);
}

/**
 * Logical-order values of a float (or quantized) view as f32. May ALIAS the storage when the
 * view is dense f32: callers must not mutate the result.
 */
export function readF32(v: View): Float32Array {
  checkView(v);
  const n = numel(v.shape);
  if (isDenseF32(v)) return new Float32Array(v.storage.buffer, v.storage.byteOffset + v.offset * 4, n);
  const get = getter(v);
  const offs = offsets(v.shape, v.strides, v.offset);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = get(offs[i]);
  return out;
}

/** Logical-order values of any view as exact JS numbers (a fresh array). */
export function readNum(v: View): Float64Array {
  checkView(v);
  const get = getter(v);
  const offs = offsets(v.shape, v.strides, v.offset);
  const out = new Float64Array(offs.length);
  for (let i = 0; i < offs.length; i++) out[i] = get(offs[i]);
  return out;
}

/** readF32 for float/quant dtypes, readNum for ints and bool. */
export function read(v: View): Float32Array | Float64Array {
  return DTYPES[v.dtype].isInt || v.dtype === 'bool' ? readNum(v) : readF32(v);
}

/** Writes logical-order `vals` into `out` (any strides), rounding/casting to out.dtype. */
export function write(out: View, vals: ArrayLike<number>): void {
  checkView(out);
  const n = numel(out.shape);
  if (vals.length !== n) throw new Error(`ref: writing ${vals.length} values into a view of ${n}`);
  if (isDenseF32(out)) {
    new Float32Array(out.storage.buffer, out.storage.byteOffset + out.offset * 4, n).set(vals);
    return;
  }
  const set = setter(out);
  const offs = offsets(out.shape, out.strides, out.offset);
  for (let i = 0; i < n; i++) set(offs[i], vals[i]);
}

/** True for f32/f16/bf16. */
export function isFloat(d: DType): boolean {
  return DTYPES[d].isFloat;
}
