/**
 * Marshalling for the native addon: one shared Float64Array (`meta`) holds the view descriptors
 * and scalar parameters of the next call, so a kernel call allocates no JS objects.
 * Layout (must match native/src/addon.cc): view slot v at meta[v*20]: byteOffset of element 0,
 * dtype code (-1 = absent), ndim, shape[8], strides[8]; scalars at meta[200..]; arrays at meta[256..].
 * Deliberately does not: validate views (the tensor layer does; the addon bounds-checks).
 */
import type { BinaryOp, ReduceOp, UnaryOp, View } from '../backend.js';
import { DTYPES, type DType } from '../dtype.js';

export const SLOT = 20;
export const SCAL = 200;
export const ARR = 256;
export const META_LEN = 4096;
export const MAX_DIMS = 8;

/** Codes of native/include/moss_kernels.h. */
export const DTYPE_CODE: Readonly<Record<DType, number>> = {
  f32: 0, f16: 1, bf16: 2, i32: 3, i64: 4, bool: 5, q8_0: 6, q4_0: 7,
  q2_k: 8, q3_k: 9, q4_k: 10, q5_k: 11, q6_k: 12, iq4_nl: 13, gq4: 32, gq8: 33, gq4s: 34, gq8s: 35,
};
export const UNARY_CODE: Readonly<Record<UnaryOp, number>> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, sigmoid: 6, relu: 7, gelu: 8, gelu_new: 9, silu: 10,
  abs: 11, sin: 12, cos: 13, square: 14, recip: 15, gelu_grad: 16, gelu_new_grad: 17, silu_grad: 18,
};
export const BINARY_CODE: Readonly<Record<BinaryOp, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
};
export const REDUCE_CODE: Readonly<Record<ReduceOp, number>> = { sum: 0, max: 1, min: 2 };

export const meta = new Float64Array(META_LEN);

/** Writes view `v` into slot `slot` and returns its ArrayBuffer (the argument to pass). */
export function setView(slot: number, v: View): ArrayBuffer {
  const base = slot * SLOT;
  const info = DTYPES[v.dtype];
  const nd = v.shape.length;
  if (nd > MAX_DIMS) throw new Error(`native backend: at most ${MAX_DIMS} dims, got ${nd}`);
  if (v.offset % info.blockSize !== 0) throw new Error(`native backend: ${v.dtype} view offset ${v.offset} is not block aligned`);
  meta[base] = v.storage.byteOffset + (v.offset / info.blockSize) * info.blockBytes;
  meta[base + 1] = DTYPE_CODE[v.dtype];
  meta[base + 2] = nd;
  for (let i = 0; i < nd; i++) {
    meta[base + 3 + i] = v.shape[i];
    meta[base + 3 + MAX_DIMS + i] = v.strides[i];
  }
  return v.storage.buffer;
}

/** Like setView, for an optional view. */
export function setOpt(slot: number, v: View | null | undefined): ArrayBuffer | null {
  if (!v) {
    meta[slot * SLOT + 1] = -1;
    return null;
  }
  return setView(slot, v);
}
