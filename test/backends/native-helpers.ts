/**
 * Helpers for the native backend tests: build views (contiguous, strided with a gap and an offset,
 * or transposed) over any dtype from plain numbers, read them back as logical arrays, and compare
 * with a relative + absolute tolerance. The expected values come from the plain TS loops in the
 * tests, never from the native code.
 */
import assert from 'node:assert/strict';
import type { Backend, Storage, View } from '../../src/backends/backend.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, type DType } from '../../src/backends/dtype.js';

export type Layout = 'contig' | 'strided' | 'transposed';

const ESZ: Record<string, number> = { f32: 4, f16: 2, bf16: 2, i32: 4, i64: 8, bool: 1 };

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesFor(shape: readonly number[], layout: Layout): { strides: number[]; offset: number; span: number } {
  const nd = shape.length;
  const order = [...Array(nd).keys()];
  if (layout === 'transposed') order.reverse(); // first axis varies fastest in memory
  const strides = new Array<number>(nd).fill(0);
  const gap = layout === 'strided' ? 2 : 1;
  let acc = gap;
  for (let k = nd - 1; k >= 0; k--) {
    const ax = order[k];
    strides[ax] = acc;
    acc *= shape[ax];
  }
  const offset = layout === 'strided' ? 3 : 0;
  return { strides, offset, span: offset + acc + 1 };
}

export function writeElem(s: Storage, dtype: DType, i: number, v: number): void {
  const dv = new DataView(s.buffer, s.byteOffset);
  switch (dtype) {
    case 'f32': dv.setFloat32(i * 4, v, true); break;
    case 'f16': dv.setUint16(i * 2, f32ToF16(v), true); break;
    case 'bf16': dv.setUint16(i * 2, f32ToBf16(v), true); break;
    case 'i32': dv.setInt32(i * 4, v, true); break;
    case 'i64': dv.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
    case 'bool': dv.setUint8(i, v !== 0 ? 1 : 0); break;
    default: throw new Error(dtype);
  }
}
export function readElem(s: Storage, dtype: DType, i: number): number {
  const dv = new DataView(s.buffer, s.byteOffset);
  switch (dtype) {
    case 'f32': return dv.getFloat32(i * 4, true);
    case 'f16': return f16ToF32(dv.getUint16(i * 2, true));
    case 'bf16': return bf16ToF32(dv.getUint16(i * 2, true));
    case 'i32': return dv.getInt32(i * 4, true);
    case 'i64': return Number(dv.getBigInt64(i * 8, true));
    case 'bool': return dv.getUint8(i);
    default: throw new Error(dtype);
  }
}

/** Element offset of logical index `lin` (row-major over shape). */
export function elemOffset(v: View, lin: number): number {
  let off = v.offset;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    off += (lin % v.shape[d]) * v.strides[d];
    lin = Math.floor(lin / v.shape[d]);
  }
  return off;
}

export function makeView(be: Backend, data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32',
  layout: Layout = 'contig'): View {
  const { strides, offset, span } = stridesFor(shape, layout);
  const storage = be.alloc(span * ESZ[dtype]);
  const v: View = { storage, dtype, shape: [...shape], strides, offset };
  const n = shapeSize(shape);
  for (let i = 0; i < n; i++) writeElem(storage, dtype, elemOffset(v, i), data[i]);
  return v;
}

/** A zeroed contiguous output view. */
export function outView(be: Backend, shape: readonly number[], dtype: DType = 'f32'): View {
  return makeView(be, new Array<number>(shapeSize(shape)).fill(0), shape, dtype, 'contig');
}

export function read(v: View): number[] {
  const n = shapeSize(v.shape);
  const r = new Array<number>(n);
  for (let i = 0; i < n; i++) r[i] = readElem(v.storage, v.dtype, elemOffset(v, i));
  return r;
}

/** Round a value the way storing it in `dtype` does (for expected values). */
export function roundTo(dtype: DType, x: number): number {
  switch (dtype) {
    case 'f32': return Math.fround(x);
    case 'f16': return f16ToF32(f32ToF16(x));
    case 'bf16': return bf16ToF32(f32ToBf16(x));
    case 'bool': return x !== 0 ? 1 : 0;
    default: return Number.isNaN(x) ? 0 : Math.trunc(x);
  }
}

export function close(got: readonly number[], want: readonly number[], rtol = 1e-5, atol = 1e-6, what = ''): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}[${i}]: got ${g}, want NaN`);
      continue;
    }
    if (g === w) continue;
    const tol = atol + rtol * Math.abs(w);
    assert.ok(Math.abs(g - w) <= tol, `${what}[${i}]: got ${g}, want ${w} (tol ${tol})`);
  }
}

/** Deterministic pseudo-random numbers in [lo, hi). */
export function rand(n: number, seed = 1, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  const r = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    r[i] = Math.fround(lo + (hi - lo) * (s / 4294967296));
  }
  return r;
}

/** erf in double precision: Taylor series below 3, continued fraction above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x, sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x * x / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let k = ax;
  for (let n = 60; n >= 1; n--) k = ax + (n / 2) / k;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * k);
  return x > 0 ? 1 - erfc : erfc - 1;
}
