/**
 * Building Views over file bytes, and packing Views back into bytes for the writers.
 * A tensor read from a file gets its own Storage (same buffer, byteOffset at the tensor's first
 * byte) and offset 0: zero-copy when that address is aligned to the element size (typed arrays
 * need it), else the tensor's bytes are copied into a fresh buffer. Quantized (block) dtypes have
 * no alignment need. Does not convert dtypes except where a helper says so.
 */
import type { Storage, View } from '../backends/backend.js';
import { contiguousStrides, isContiguous, numel } from '../backends/backend.js';
import { DTYPES, byteSize, type DType } from '../backends/dtype.js';

/** Byte size of one element (or block, for q8_0/q4_0). */
export function elemBytes(dtype: DType): number {
  return DTYPES[dtype].blockBytes;
}

/** Alignment a typed array over this dtype needs. */
function alignOf(dtype: DType): number {
  return DTYPES[dtype].blockSize === 1 ? DTYPES[dtype].blockBytes : 1;
}

/** A contiguous View over `byteLength` bytes at `byteOffset` of `buffer` (copy only if misaligned). */
export function viewAt(buffer: ArrayBuffer, byteOffset: number, byteLength: number, dtype: DType, shape: readonly number[]): View {
  let storage: Storage;
  if (byteOffset % alignOf(dtype) === 0) {
    storage = { buffer, byteOffset, byteLength };
  } else {
    const copy = new Uint8Array(byteLength);
    copy.set(new Uint8Array(buffer, byteOffset, byteLength));
    storage = { buffer: copy.buffer, byteOffset: 0, byteLength };
  }
  return { storage, dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0 };
}

/** A fresh contiguous View holding `data`. */
export function viewOf(data: Float32Array | Int32Array, dtype: 'f32' | 'i32', shape: readonly number[]): View {
  return { storage: { buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, byteLength: data.byteLength }, dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0 };
}

/**
 * The bytes of `v` in row-major order: a subarray when `v` is contiguous, else a gathered copy.
 * Quantized views must be contiguous.
 */
export function viewBytes(v: View): Uint8Array {
  const n = numel(v.shape);
  const info = DTYPES[v.dtype];
  const base = new Uint8Array(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength);
  const size = byteSize(v.dtype, n);
  if (isContiguous(v)) {
    const start = (v.offset / info.blockSize) * info.blockBytes;
    if (!Number.isInteger(start) || start + size > base.byteLength) throw new Error(`view offset ${v.offset} is outside its storage`);
    return base.subarray(start, start + size);
  }
  if (info.isQuant) throw new Error(`a ${v.dtype} view must be contiguous to be written`);
  const es = info.blockBytes;
  const out = new Uint8Array(size);
  const rank = v.shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let e = v.offset;
    for (let d = 0; d < rank; d++) e += idx[d] * v.strides[d];
    out.set(base.subarray(e * es, e * es + es), i * es);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < v.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Checks a shape: safe non-negative integers with a safe product; returns numel or an error text. */
export function checkShape(shape: unknown, maxRank = 16): number | string {
  if (!Array.isArray(shape)) return 'is not an array';
  if (shape.length > maxRank) return `has rank ${shape.length} (max ${maxRank})`;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return `has an invalid dimension ${JSON.stringify(d)}`;
    n *= d;
    if (!Number.isSafeInteger(n)) return 'has too many elements';
  }
  return n;
}
