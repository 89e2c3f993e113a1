/**
 * Shared helpers for the backend tests (conformance + ref goldens): build views with chosen
 * layouts on any backend, read them back in logical order, a normalised error, a seeded PRNG.
 * Reading/writing goes through ref's strided access (storage is host memory for every backend).
 * Not a test file itself (no cases).
 */
import type { Backend, View } from '../../src/backends/backend.js';
import { contiguousStrides, numel } from '../../src/backends/backend.js';
import { byteSize, type DType } from '../../src/backends/dtype.js';
import { readNum, write } from '../../src/backends/ref/strided.js';

/**
 * How a view is laid out in memory (logical values are the same in every layout):
 * - contig: dense row-major;
 * - permuted: stored in `perm` order (e.g. [1, 0] = transposed), innermost padded, offset;
 * - padded: each innermost row padded by `pad` elements, view starts at element `offset`;
 * - broadcast: the listed dims get stride 0 (data must be constant along them).
 */
export type Layout =
  | { kind: 'contig' }
  | { kind: 'permuted'; perm: number[]; pad?: number; offset?: number }
  | { kind: 'padded'; pad: number; offset: number }
  | { kind: 'broadcast'; dims: number[] };

export const CONTIG: Layout = { kind: 'contig' };

function poison(dtype: DType): number {
  return dtype === 'bool' ? 1 : dtype === 'i32' || dtype === 'i64' ? 7777 : NaN;
}

/** Allocates a view of `shape` on `b` with `layout` and writes the logical `data` into it. */
export function makeView(b: Backend, dtype: DType, shape: readonly number[], data: ArrayLike<number>, layout: Layout = CONTIG): View {
  const nd = shape.length;
  let perm = [...Array(nd).keys()];
  let pad = 0;
  let offset = 0;
  let bdims: number[] = [];
  if (layout.kind === 'permuted') ({ perm, pad = 1, offset = 3 } = layout);
  if (layout.kind === 'padded') ({ pad, offset } = layout);
  if (layout.kind === 'broadcast') bdims = layout.dims;
  // physical shape: dims in perm order (broadcast dims collapse to 1), innermost padded
  const phys = perm.map((d) => (bdims.includes(d) ? 1 : shape[d]));
  if (nd > 0) phys[nd - 1] += pad;
  const ps = contiguousStrides(phys);
  const strides = new Array<number>(nd);
  perm.forEach((d, i) => {
    strides[d] = bdims.includes(d) ? 0 : ps[i];
  });
  const total = offset + numel(phys);
  const storage = b.alloc(byteSize(dtype, Math.max(total, 1)));
  if (pad || offset) {
    // poison the gaps so a backend that reads them shows up
    write({ storage, dtype, shape: [total], strides: [1], offset: 0 }, new Float64Array(total).fill(poison(dtype)));
  }
  const v: View = { storage, dtype, shape: [...shape], strides, offset };
  write(v, data);
  return v;
}

/** A fresh contiguous output view, pre-filled with poison (NaN / 7777) unless `zero`. */
export function outView(b: Backend, dtype: DType, shape: readonly number[], zero = false): View {
  const n = numel(shape);
  const v: View = { storage: b.alloc(byteSize(dtype, Math.max(n, 1))), dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0 };
  if (!zero) write(v, new Float64Array(n).fill(poison(dtype)));
  return v;
}

/** Logical values of any view. */
export function values(v: View): Float64Array {
  return readNum(v);
}

/** max|a-b| / (max|ref| + eps); a non-finite mismatch (NaN vs number, inf vs -inf) is Infinity. */
export function normErr(got: ArrayLike<number>, ref: ArrayLike<number>, eps = 1e-6): number {
  if (got.length !== ref.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = got[i];
    const r = ref[i];
    if (!Number.isFinite(r) || !Number.isFinite(a)) {
      if (!(Object.is(a, r) || (Number.isNaN(a) && Number.isNaN(r)))) return Infinity;
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(a - r));
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  return maxDiff / (maxRef + eps);
}

/** Deterministic PRNG (mulberry32) with a Box-Muller normal sampler. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  uniform(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  normals(n: number, scale = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * scale;
    return a;
  }
  ints(n: number, lo: number, hi: number): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + Math.floor(this.uniform() * (hi - lo));
    return a;
  }
}
