/**
 * Backend conformance (ggml's test-backend-ops, for our seam): every case of the tables in
 * conformance-cases*.ts runs on `ref` and on every other available backend with the same seed,
 * and the outputs must agree within a normalised error (max|a-b| / (max|ref| + eps)) chosen by
 * output dtype. ref is also run against itself (catches crashes and nondeterminism when it is the
 * only backend). Plus hand-computed checks that views with offsets/strides read the right elements.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contiguousStrides, type Backend, type View } from '../../src/backends/backend.js';
import { availableBackends } from '../../src/backends/index.js';
import { refBackend as ref } from '../../src/backends/ref/index.js';
import { CASES, TOL, type Case } from './conformance-cases.js';
import { FUSED_CASES } from './conformance-cases-fused.js';
import { makeView, normErr, outView, Rng, values } from './conformance-util.js';

const ALL: Case[] = [...CASES, ...FUSED_CASES];
const backends = availableBackends();
const others = backends.filter((b) => b.name !== 'ref');
console.log(`conformance: ${ALL.length} cases; backends covered: ${backends.map((b) => b.name).join(', ')}` +
  (others.length ? '' : ' (only ref: checking ref against itself)'));

function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Runs case `c` on ref and `target` with the same seed; returns an error message or null. */
function check(c: Case, target: Backend): string | null {
  const want = c.run(ref, new Rng(seedOf(c.name)));
  const got = c.run(target, new Rng(seedOf(c.name)));
  if (got.length !== want.length) return `${got.length} outputs, ref has ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (got[i].shape.join() !== want[i].shape.join()) return `output ${i} shape ${got[i].shape} != ${want[i].shape}`;
    const tol = c.tol ?? TOL[want[i].dtype];
    const err = normErr(values(got[i]), values(want[i]));
    if (!(err <= tol)) return `output ${i} (${want[i].dtype}) normalised error ${err.toExponential(2)} > ${tol}`;
  }
  return null;
}

for (const target of [...others, ref]) {
  test(`conformance: ${target.name} vs ref`, async (t) => {
    let ran = 0;
    let skipped = 0;
    for (const c of ALL) {
      if (c.needs && !target.supports(c.needs)) {
        skipped++;
        continue;
      }
      ran++;
      await t.test(c.name, () => {
        const msg = check(c, target);
        assert.equal(msg, null, `${c.name}: ${msg}`);
      });
    }
    console.log(`conformance: ${target.name}: ${ran} cases run, ${skipped} skipped (fused ops it does not support)`);
  });
}

// --- hand-computed expectations: views read the right elements, casts round the right way ---

/** Storage holding 0..n-1 as `dtype`, on backend b. */
function iota(b: Backend, dtype: 'f32' | 'f16' | 'i32', n: number): View {
  return makeView(b, dtype, [n], Array.from({ length: n }, (_, i) => i));
}

for (const b of backends) {
  test(`views with offsets and strides read the right elements: ${b.name}`, () => {
    const s = iota(b, 'f32', 24);
    const copyOf = (v: View): number[] => {
      const o = outView(b, 'f32', v.shape);
      b.copy(o, v);
      return [...values(o)];
    };
    // a transposed 2x3 window starting at element 5
    assert.deepEqual(copyOf({ ...s, shape: [2, 3], strides: [1, 4], offset: 5 }), [5, 9, 13, 6, 10, 14]);
    // stride-0 broadcast of a row
    assert.deepEqual(copyOf({ ...s, shape: [3, 2], strides: [0, 1], offset: 1 }), [1, 2, 1, 2, 1, 2]);
    // 3-D permuted with offset
    assert.deepEqual(copyOf({ ...s, shape: [2, 2, 2], strides: [1, 12, 4], offset: 2 }), [2, 6, 14, 18, 3, 7, 15, 19]);
    // f16 storage: every other element from offset 3
    const h = iota(b, 'f16', 16);
    assert.deepEqual(copyOf({ ...h, shape: [4], strides: [2], offset: 3 }), [3, 5, 7, 9]);
    // binary with an offset view and a stride-0 operand
    const o = outView(b, 'f32', [2, 2]);
    b.binary('add', o, { ...s, shape: [2, 2], strides: [6, 1], offset: 7 }, { ...s, shape: [2, 2], strides: [0, 0], offset: 20 });
    assert.deepEqual([...values(o)], [27, 28, 33, 34]);
    // matmul on sliced views: [[1,2],[5,6]] @ [[10,12],[11,13]]^T-ish slice
    const mm = outView(b, 'f32', [2, 2]);
    b.matmul(mm, { ...s, shape: [2, 2], strides: [4, 1], offset: 1 }, { ...s, shape: [2, 2], strides: [1, 2], offset: 10 });
    assert.deepEqual([...values(mm)], [1 * 10 + 2 * 11, 1 * 12 + 2 * 13, 5 * 10 + 6 * 11, 5 * 12 + 6 * 13]);
    // sum over axis 0 of a transposed view
    const r = outView(b, 'f32', [1, 3]);
    b.reduce('sum', r, { ...s, shape: [2, 3], strides: [1, 2], offset: 0 }, [0]);
    assert.deepEqual([...values(r)], [0 + 1, 2 + 3, 4 + 5]);
    // indexSelect rows of a strided matrix, i32 index
    const is = outView(b, 'f32', [2, 2]);
    b.indexSelect(is, { ...s, shape: [4, 2], strides: [5, 2], offset: 1 }, 0, makeView(b, 'i32', [2], [3, 0]));
    assert.deepEqual([...values(is)], [16, 18, 1, 3]);
  });

  test(`casts round and truncate like torch: ${b.name}`, () => {
    const src = makeView(b, 'f32', [6], [-1.7, 2.9, 0, -0, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
    const cast = (dt: 'i32' | 'i64' | 'bool' | 'f16' | 'bf16', from: View = src): number[] => {
      const o = outView(b, dt, from.shape);
      b.copy(o, from);
      return [...values(o)];
    };
    assert.deepEqual(cast('i32'), [-1, 2, 0, 0, 1, 1]);
    assert.deepEqual(cast('i64'), [-1, 2, 0, 0, 1, 1]);
    assert.deepEqual(cast('bool'), [1, 1, 0, 0, 1, 1]);
    // f16 ties to even: 1 + 2^-11 -> 1, 1 + 3*2^-11 -> 1 + 2^-9
    assert.deepEqual(cast('f16').slice(4), [1, 1 + 2 ** -9]);
    const bsrc = makeView(b, 'f32', [3], [1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.140625]);
    assert.deepEqual(cast('bf16', bsrc), [1, 1 + 2 ** -6, 3.140625]);
    const big = makeView(b, 'i64', [2], [2 ** 40 + 3, -(2 ** 33)]);
    assert.deepEqual(cast('i64', big), [2 ** 40 + 3, -(2 ** 33)]);
    const am = outView(b, 'i32', [1]);
    b.argreduce('argmax', am, makeView(b, 'f32', [5], [1, 3, 2, 3, 0]), 0);
    assert.deepEqual([...values(am)], [1], 'argmax returns the first maximum');
  });
}

// --- the suite must be able to fail: plausible bugs planted in copies of ref are caught ---

test('conformance catches planted backend bugs', () => {
  const contiguousOnly = (v: View): View => ({ ...v, strides: contiguousStrides(v.shape), offset: 0 });
  const mutants: [string, Partial<Backend>, RegExp][] = [
    ['copy ignores strides/offset', { copy: (o, a) => ref.copy(o, contiguousOnly(a)) }, /^copy f32->f32 T /],
    ['gelu uses the tanh formula', { unary: (op, o, a) => ref.unary(op === 'gelu' ? 'gelu_new' : op, o, a) }, /^unary gelu f32 contig/],
    ['matmul assumes contiguous b', { matmul: (o, a, w) => ref.matmul(o, a, { ...w, strides: [...contiguousStrides(w.shape)] }) }, /^matmul f32 bT M7 K33/],
    ['f16 input widened as if it were bf16', {
      unary: (op, o, a) => ref.unary(op, o, { ...a, dtype: a.dtype === 'f16' ? 'bf16' : a.dtype }),
    }, /^unary exp f16 contig/],
    ['argmax returns the last maximum', {
      argreduce: (op, o, a, axis) => {
        const rev: View = { ...a, offset: a.offset + (a.shape[axis] - 1) * a.strides[axis], strides: a.strides.map((s, i) => (i === axis ? -s : s)) };
        ref.argreduce(op, o, rev, axis);
        const n = a.shape[axis];
        const w = new Int32Array(o.storage.buffer, o.storage.byteOffset, o.shape.reduce((x, y) => x * y, 1));
        for (let i = 0; i < w.length; i++) w[i] = n - 1 - w[i];
      },
    }, /^argmax f32 axis 2/],
    ['attention ignores pastLen', { attention: (o, q, k, v, p) => ref.attention!(o, q, k, v, { ...p, pastLen: p.pastLen.map(() => 0) }) }, /^attention f32 chunk after cache/],
    ['rmsNormBackward overwrites dw', {
      rmsNormBackward: (dx, dw, dy, x, rstd, w) => {
        if (dw) ref.fill(dw, 0);
        ref.rmsNormBackward!(dx, dw, dy, x, rstd, w);
      },
    }, /^rmsNorm fwd\+bwd f32 rows 7/],
    ['adamw couples weight decay into the gradient', {
      adamw: (p, g, m, v, hp) => {
        const gp = makeView(ref, 'f32', g.shape, values(g).map((x, i) => x + hp.weightDecay * values(p)[i]));
        ref.adamw!(p, gp, m, v, { ...hp, weightDecay: 0 });
      },
    }, /^adamw n65/],
  ];
  for (const [what, patch, sel] of mutants) {
    const mutant: Backend = { ...ref, ...patch, name: `mutant (${what})` };
    const picked = ALL.filter((c) => sel.test(c.name));
    assert.ok(picked.length > 0, `no case matches ${sel}`);
    const caught = picked.filter((c) => check(c, mutant) !== null);
    assert.ok(caught.length > 0, `planted bug not caught: ${what} (${picked.length} cases tried)`);
  }
});
