/**
 * The conformance table: every Backend method (and every fused op) on seeded random inputs, with
 * broadcast (stride 0), transposed/permuted, padded+offset views, odd sizes (1, 3, 7, 33, 65, 129)
 * and every float dtype where it means something. Adding an op = adding one entry (or one loop
 * of entries) to CASES. conformance.test.ts runs each case on ref and on every other backend with
 * the same seed and compares the returned output views (normalised error, tolerance by dtype).
 */
import type { Backend, BinaryOp, FusedOp, ReduceOp, UnaryOp, View } from '../../src/backends/backend.js';
import { KQUANT_DTYPES, type DType } from '../../src/backends/dtype.js';
import { offsets } from '../../src/backends/ref/strided.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../../src/backends/ref/quant.js';
import { makeView, outView, type Layout, Rng } from './conformance-util.js';
import { randomKBlocks } from './kquant-blocks.js';

export interface Case {
  name: string;
  /** Fused op the backend must `supports()`; the case is skipped otherwise. */
  needs?: FusedOp;
  /** Override of the normalised-error tolerance (default by output dtype, see TOL). */
  tol?: number;
  /** Builds inputs on `b` from `rng`, runs the op, returns the views to compare. */
  run(b: Backend, rng: Rng): View[];
}

/** Default tolerance by output dtype: a few f32 ulps; 2 ulps of f16 / bf16; ints exact. */
export const TOL: Record<DType, number> = {
  f32: 2e-5, f16: 2e-3, bf16: 1.6e-2, i32: 0, i64: 0, bool: 0, q8_0: 0, q4_0: 0, q2_k: 0, q3_k: 0, q4_k: 0, q5_k: 0, q6_k: 0, iq4_nl: 0, gq4: 0, gq8: 0, gq4s: 0, gq8s: 0,
};

type Kind = 'normal' | 'positive' | 'int' | 'bool' | 'halves';

const T2: Layout = { kind: 'permuted', perm: [1, 0] };
const P2: Layout = { kind: 'padded', pad: 3, offset: 5 };
const P3: Layout = { kind: 'permuted', perm: [2, 0, 1], pad: 2, offset: 1 };
const C: Layout = { kind: 'contig' };

/** Random data for `shape` (constant along broadcast dims of `layout`), written as a view on b. */
export function rand(b: Backend, rng: Rng, dtype: DType, shape: number[], layout: Layout = C, kind: Kind = 'normal'): View {
  const bd = layout.kind === 'broadcast' ? layout.dims : [];
  const base = shape.map((d, i) => (bd.includes(i) ? 1 : d));
  const n = base.reduce((a, c) => a * c, 1);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    if (kind === 'normal') raw[i] = z * 2;
    else if (kind === 'positive') raw[i] = Math.abs(z) + 0.1;
    else if (kind === 'int') raw[i] = Math.round(z * 20);
    else if (kind === 'halves') raw[i] = Math.round(z * 2) / 2; // ties and equalities on purpose
    else raw[i] = z > 0 ? 1 : 0;
  }
  const bs: number[] = [];
  let acc = 1;
  for (let i = base.length - 1; i >= 0; i--) {
    bs[i] = bd.includes(i) ? 0 : acc;
    acc *= base[i];
  }
  const idx = offsets(shape, bs, 0);
  return makeView(b, dtype, shape, Array.from(idx, (j) => raw[j]), layout);
}

const FLOATS: DType[] = ['f32', 'f16', 'bf16'];
export const CASES: Case[] = [];
const add = (c: Case): void => {
  CASES.push(c);
};

// --- copy: every float pair, ints, bool; every layout ---
for (const src of [...FLOATS, 'i32', 'i64', 'bool'] as DType[]) {
  for (const dst of [...FLOATS, 'i32', 'i64', 'bool'] as DType[]) {
    const layouts: [string, number[], Layout][] = [['contig', [7, 33], C], ['T', [33, 7], T2], ['pad', [3, 65], P2], ['perm3', [3, 7, 5], P3], ['bcast', [7, 129], { kind: 'broadcast', dims: [0] }]];
    for (const [ln, shape, layout] of layouts) {
      const kind: Kind = src === 'bool' ? 'bool' : src.startsWith('i') ? 'int' : 'normal';
      add({ name: `copy ${src}->${dst} ${ln} ${shape}`, run: (b, rng) => {
        const a = rand(b, rng, src, shape, layout, kind);
        const o = outView(b, dst, shape);
        b.copy(o, a);
        return [o];
      } });
    }
  }
}
for (const dt of [...FLOATS, 'i32', 'i64', 'bool'] as DType[]) {
  add({ name: `fill ${dt}`, run: (b) => {
    const o = outView(b, dt, [3, 65]);
    b.fill(o, -3);
    return [o];
  } });
}
for (const q of ['q8_0', 'q4_0'] as const) {
  add({ name: `dequantize ${q} 33 blocks`, run: (b, rng) => {
    const bytes = (q === 'q8_0' ? quantizeQ8_0 : quantizeQ4_0)(rng.normals(33 * 32, 2));
    const s = b.alloc(bytes.length);
    new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
    const o = outView(b, 'f32', [33 * 32]);
    b.dequantize(o, { storage: s, dtype: q, shape: [33 * 32], strides: [1], offset: 0 });
    return [o];
  } });
}

// k-quants / iq4_nl (exact: every backend decodes with ggml's formulas), into f32 and f16
for (const q of KQUANT_DTYPES) {
  const bs = q === 'iq4_nl' ? 32 : 256;
  for (const od of ['f32', 'f16'] as const) {
    add({ name: `dequantize ${q} 5 blocks -> ${od}`, run: (b, rng) => {
      const bytes = randomKBlocks(q, 5, () => rng.uniform());
      const s = b.alloc(bytes.length);
      new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
      const o = outView(b, od, [5 * bs]);
      b.dequantize(o, { storage: s, dtype: q, shape: [5 * bs], strides: [1], offset: 0 });
      return [o];
    } });
  }
}
// --- unary ---
const UNARY: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'gelu', 'gelu_new', 'silu', 'abs', 'sin', 'cos', 'square', 'recip', 'gelu_grad', 'gelu_new_grad', 'silu_grad'];
const POSITIVE = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt', 'recip']);
for (const op of UNARY) {
  for (const dt of FLOATS) {
    for (const [ln, shape, layout] of [['contig', [3, 65], C], ['T', [33, 7], T2]] as [string, number[], Layout][]) {
      if (dt !== 'f32' && ln !== 'contig') continue;
      add({ name: `unary ${op} ${dt} ${ln} ${shape}`, run: (b, rng) => {
        const a = rand(b, rng, dt, shape, layout, POSITIVE.has(op) ? 'positive' : 'normal');
        const o = outView(b, dt, shape);
        b.unary(op, o, a);
        return [o];
      } });
    }
  }
}
for (const op of ['neg', 'abs', 'square'] as UnaryOp[]) {
  for (const dt of ['i32', 'i64'] as DType[]) {
    add({ name: `unary ${op} ${dt}`, run: (b, rng) => {
      const a = rand(b, rng, dt, [7, 9], P2, 'int');
      const o = outView(b, dt, [7, 9]);
      b.unary(op, o, a);
      return [o];
    } });
  }
}

// --- binary (b broadcast along rows with stride 0, a transposed) and where ---
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const CMP = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
for (const op of BINARY) {
  for (const dt of FLOATS) {
    const outs: DType[] = CMP.has(op) ? ['bool', dt] : [dt];
    for (const od of outs) {
      add({ name: `binary ${op} ${dt}->${od} T x bcast [33,7]`, run: (b, rng) => {
        const kind: Kind = CMP.has(op) ? 'halves' : op === 'pow' ? 'positive' : 'normal';
        const x = rand(b, rng, dt, [33, 7], T2, kind);
        const y = rand(b, rng, dt, [33, 7], { kind: 'broadcast', dims: [0] }, op === 'div' ? 'positive' : kind);
        const o = outView(b, od, [33, 7]);
        b.binary(op, o, x, y);
        return [o];
      } });
    }
  }
}
for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum', 'eq', 'lt'] as BinaryOp[]) {
  for (const dt of ['i32', 'i64'] as DType[]) {
    add({ name: `binary ${op} ${dt} padded x bcast`, run: (b, rng) => {
      const x = rand(b, rng, dt, [7, 65], P2, 'int');
      const y = rand(b, rng, dt, [7, 65], { kind: 'broadcast', dims: [1] }, 'int');
      const o = outView(b, CMP.has(op) ? 'bool' : dt, [7, 65]);
      b.binary(op, o, x, y);
      return [o];
    } });
  }
}
for (const dt of FLOATS) {
  add({ name: `where ${dt} bool cond broadcast`, run: (b, rng) => {
    const c = rand(b, rng, 'bool', [7, 33], { kind: 'broadcast', dims: [0] }, 'bool');
    const x = rand(b, rng, dt, [7, 33], P2);
    const y = rand(b, rng, dt, [7, 33], { kind: 'broadcast', dims: [1] });
    const o = outView(b, dt, [7, 33]);
    b.where(o, c, x, y);
    return [o];
  } });
}

// --- reductions ---
const RED: ReduceOp[] = ['sum', 'max', 'min'];
for (const op of RED) {
  for (const axes of [[2], [1], [0, 2], [0, 1, 2]]) {
    for (const dt of ['f32', 'f16', 'bf16', 'i32'] as DType[]) {
      if (dt !== 'f32' && axes.length !== 1) continue;
      add({ name: `reduce ${op} ${dt} axes ${axes} of perm [3,7,33]`, run: (b, rng) => {
        const a = rand(b, rng, dt, [3, 7, 33], P3, dt === 'i32' ? 'int' : 'normal');
        const o = outView(b, dt, [3, 7, 33].map((d, i) => (axes.includes(i) ? 1 : d)));
        b.reduce(op, o, a, axes);
        return [o];
      } });
    }
  }
}
for (const op of ['argmax', 'argmin'] as const) {
  for (const axis of [0, 1, 2]) {
    for (const dt of ['f32', 'f16'] as DType[]) {
      add({ name: `${op} ${dt} axis ${axis} (ties) of perm [3,7,129]`, run: (b, rng) => {
        const a = rand(b, rng, dt, [3, 7, 129], P3, 'halves');
        const o = outView(b, 'i32', [3, 7, 129].map((d, i) => (i === axis ? 1 : d)));
        b.argreduce(op, o, a, axis);
        return [o];
      } });
    }
  }
}

// --- matmul ---
const MKN: [number, number, number][] = [[1, 1, 1], [3, 7, 5], [7, 33, 3], [1, 129, 65], [65, 3, 33], [33, 65, 7]];
for (const dt of FLOATS) {
  for (const [M, K, N] of MKN) {
    for (const [ln, la, lb] of [['contig', C, C], ['aT', T2, C], ['bT', C, T2], ['aTbT', T2, T2]] as [string, Layout, Layout][]) {
      if (dt !== 'f32' && ln !== 'contig' && ln !== 'bT') continue;
      add({ name: `matmul ${dt} ${ln} M${M} K${K} N${N}`, run: (b, rng) => {
        const a = rand(b, rng, dt, [M, K], la);
        const w = rand(b, rng, dt, [K, N], lb);
        const o = outView(b, dt, [M, N]);
        b.matmul(o, a, w);
        return [o];
      } });
    }
  }
}
add({ name: 'matmul bf16 inputs -> f32 out', run: (b, rng) => {
  const a = rand(b, rng, 'bf16', [7, 65]);
  const w = rand(b, rng, 'bf16', [65, 33], T2);
  const o = outView(b, 'f32', [7, 33]);
  b.matmul(o, a, w);
  return [o];
} });
for (const dt of ['f32', 'f16'] as DType[]) {
  add({ name: `matmul ${dt} batched (2,3) b broadcast over batch, a permuted`, run: (b, rng) => {
    const a = rand(b, rng, dt, [2, 3, 7, 33], { kind: 'permuted', perm: [1, 0, 3, 2], pad: 1, offset: 2 });
    const w = rand(b, rng, dt, [2, 3, 33, 5], { kind: 'broadcast', dims: [0, 1] });
    const o = outView(b, dt, [2, 3, 7, 5]);
    b.matmul(o, a, w);
    return [o];
  } });
}
// k-quant weights: decode (M = 1), prefill tiles (M crosses the 8-row pass), one and several blocks
for (const q of KQUANT_DTYPES) {
  const shapes = q === 'iq4_nl' ? [[1, 96, 33], [9, 64, 5]] : [[1, 512, 33], [9, 256, 17], [3, 768, 1]];
  for (const [M, K, N] of shapes) {
    add({ name: `matmul_quant ${q} M${M} K${K} N${N} (b = ggml (N,K) weight viewed (K,N))`, needs: 'matmul_quant', tol: 1.5e-2, run: (b, rng) => {
      const a = rand(b, rng, 'f32', [M, K]);
      const bytes = randomKBlocks(q, (N * K) / (q === 'iq4_nl' ? 32 : 256), () => rng.uniform());
      const s = b.alloc(bytes.length);
      new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
      const o = outView(b, 'f32', [M, N]);
      b.matmul(o, a, { storage: s, dtype: q, shape: [K, N], strides: [1, K], offset: 0 });
      return [o];
    } });
  }
}
for (const q of ['q8_0', 'q4_0'] as const) {
  for (const [M, K, N] of [[1, 64, 33], [7, 96, 65], [3, 32, 1]]) {
    add({ name: `matmul_quant ${q} M${M} K${K} N${N} (b = ggml (N,K) weight viewed (K,N))`, needs: 'matmul_quant', tol: 1.5e-2, run: (b, rng) => {
      const a = rand(b, rng, 'f32', [M, K]);
      const bytes = (q === 'q8_0' ? quantizeQ8_0 : quantizeQ4_0)(rng.normals(N * K));
      const s = b.alloc(bytes.length);
      new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
      const o = outView(b, 'f32', [M, N]);
      b.matmul(o, a, { storage: s, dtype: q, shape: [K, N], strides: [1, K], offset: 0 });
      return [o];
    } });
  }
}
