/**
 * Unit tests of the reference backend with hand-computed expectations: memory, bounds/disposal
 * checks, misaligned storage, erf accuracy, quantization edge cases, indexing with duplicates,
 * reductions over several axes, and fused-op invariants (rope inverse, empty attention rows).
 * Torch/numpy goldens live in ref-goldens.test.ts; cross-backend checks in conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { View } from '../../src/backends/backend.js';
import { erf } from '../../src/backends/ref/math.js';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0, refBackend as ref } from '../../src/backends/ref/index.js';
import { makeView, outView, Rng, values } from './conformance-util.js';

test('alloc: zero-filled, 64-byte aligned non-zero byteOffset; free is idempotent and poisons reads', () => {
  const s = ref.alloc(100);
  assert.equal(s.byteOffset % 64, 0);
  assert.ok(s.byteOffset > 0, 'non-zero byteOffset catches callers that ignore it');
  assert.equal(s.byteLength, 100);
  assert.ok(new Uint8Array(s.buffer, s.byteOffset, 100).every((x) => x === 0));
  const v: View = { storage: s, dtype: 'f32', shape: [25], strides: [1], offset: 0 };
  ref.free(s);
  ref.free(s);
  assert.equal(s.disposed, true);
  assert.throws(() => ref.copy(outView(ref, 'f32', [25]), v), /freed/);
});

test('views reaching outside their storage are rejected', () => {
  const a = makeView(ref, 'f32', [4], [1, 2, 3, 4]);
  assert.throws(() => ref.copy(outView(ref, 'f32', [2]), { ...a, shape: [2], strides: [3], offset: 1 }), /exceeds storage/);
});

test('misaligned storage (byteOffset 1) reads and writes through DataView', () => {
  const buf = new ArrayBuffer(64);
  const s = { buffer: buf, byteOffset: 1, byteLength: 40 };
  const dv = new DataView(buf, 1);
  [1.5, -2, 3.25].forEach((x, i) => dv.setFloat32(i * 4, x, true));
  dv.setBigInt64(16, 123456789012n, true);
  const out = outView(ref, 'f32', [3]);
  ref.copy(out, { storage: s, dtype: 'f32', shape: [3], strides: [1], offset: 0 });
  assert.deepEqual([...values(out)], [1.5, -2, 3.25]);
  const i64 = outView(ref, 'i64', [1]);
  ref.copy(i64, { storage: s, dtype: 'i64', shape: [1], strides: [1], offset: 2 });
  assert.deepEqual([...values(i64)], [123456789012]);
  ref.fill({ storage: s, dtype: 'f16', shape: [2], strides: [1], offset: 1 }, 0.5);
  assert.equal(dv.getUint16(2, true), 0x3800);
});

test('erf matches a convergent series to 1e-14 on [-5.5, 5.5]', () => {
  const series = (x: number): number => {
    let term = x;
    let sum = x;
    for (let n = 1; n < 400 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  };
  let worst = 0;
  for (let x = -5.5; x <= 5.5; x += 0.00731) worst = Math.max(worst, Math.abs(erf(x) - series(x)));
  assert.ok(worst < 1e-14, `erf max abs error ${worst}`);
  assert.equal(erf(0), 0);
  assert.equal(erf(30), 1);
  assert.equal(erf(-30), -1);
});

test('quantizers: zero block, length check, error bounds, and matmul on quant b equals dequantized matmul', () => {
  assert.throws(() => quantizeQ8_0(new Float32Array(31)), /multiple of 32/);
  const zeros = quantizeQ4_0(new Float32Array(32));
  assert.ok(dequantizeQ4_0(zeros, 32).every((v) => v === 0), 'all-zero block (d = -0 like ggml) dequantizes to zeros');
  const rng = new Rng(7);
  const x = rng.normals(32 * 8);
  const d8 = dequantizeQ8_0(quantizeQ8_0(x), x.length);
  const d4 = dequantizeQ4_0(quantizeQ4_0(x), x.length);
  for (let b = 0; b < 8; b++) {
    const blk = x.subarray(b * 32, b * 32 + 32);
    const amax = Math.max(...blk.map(Math.abs));
    for (let j = 0; j < 32; j++) {
      assert.ok(Math.abs(d8[b * 32 + j] - blk[j]) <= amax / 127 * 0.51, 'q8_0 error <= d/2');
      assert.ok(Math.abs(d4[b * 32 + j] - blk[j]) <= amax / 8 * 1.01, 'q4_0 error <= d');
    }
  }
  // matmul: a (3, 64) @ W^T where W (5, 64) is q4_0
  const K = 64, N = 5, M = 3;
  const w = rng.normals(N * K);
  const bytes = quantizeQ4_0(w);
  const s = ref.alloc(bytes.length);
  new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
  const a = makeView(ref, 'f32', [M, K], rng.normals(M * K));
  const outQ = outView(ref, 'f32', [M, N]);
  ref.matmul(outQ, a, { storage: s, dtype: 'q4_0', shape: [K, N], strides: [1, K], offset: 0 });
  const wd = makeView(ref, 'f32', [N, K], dequantizeQ4_0(bytes, N * K));
  const outF = outView(ref, 'f32', [M, N]);
  ref.matmul(outF, a, { ...wd, shape: [K, N], strides: [1, K] });
  assert.deepEqual([...values(outQ)], [...values(outF)]);
});

test('reduce over several axes, max/min with NaN, argmin first index', () => {
  const a = makeView(ref, 'f32', [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const o = outView(ref, 'f32', [1, 2, 1]);
  ref.reduce('sum', o, a, [0, 2]);
  assert.deepEqual([...values(o)], [1 + 2 + 3 + 7 + 8 + 9, 4 + 5 + 6 + 10 + 11 + 12]);
  const m = outView(ref, 'f32', [2, 1, 1]);
  ref.reduce('max', m, a, [1, 2]);
  assert.deepEqual([...values(m)], [6, 12]);
  const n = makeView(ref, 'f32', [4], [1, NaN, 3, 0]);
  const mx = outView(ref, 'f32', [1]);
  ref.reduce('min', mx, n, [0]);
  assert.ok(Number.isNaN(values(mx)[0]), 'min propagates NaN');
  const am = outView(ref, 'i32', [1]);
  ref.argreduce('argmin', am, makeView(ref, 'f32', [5], [3, 0, 2, 0, 1]), 0);
  assert.deepEqual([...values(am)], [1]);
});

test('gather and scatterAdd with duplicate indices (hand-computed)', () => {
  const a = makeView(ref, 'f32', [2, 3], [10, 11, 12, 20, 21, 22]);
  const g = outView(ref, 'f32', [2, 2]);
  ref.gather(g, a, 1, makeView(ref, 'i64', [2, 2], [2, 0, 1, 1]));
  assert.deepEqual([...values(g)], [12, 10, 21, 21]);
  const o = makeView(ref, 'f32', [3], [1, 1, 1]);
  ref.scatterAdd(o, 0, makeView(ref, 'i32', [4], [2, 0, 2, 2]), makeView(ref, 'f32', [4], [1, 2, 3, 4]));
  assert.deepEqual([...values(o)], [3, 1, 9]);
  const w = outView(ref, 'i32', [3]);
  ref.where(w, makeView(ref, 'bool', [3], [1, 0, 1]), makeView(ref, 'i32', [3], [1, 2, 3]), makeView(ref, 'i32', [3], [-1, -2, -3]));
  assert.deepEqual([...values(w)], [1, -2, 3]);
});

test('rope inverse undoes rope; attention rows that see no key are zero; ignored CE rows are zero', () => {
  const rng = new Rng(3);
  for (const interleaved of [true, false]) {
    const x = makeView(ref, 'f32', [1, 2, 2, 8], rng.normals(32));
    const pos = makeView(ref, 'i32', [1, 2], [5, 77]);
    const y = outView(ref, 'f32', [1, 2, 2, 8]);
    const z = outView(ref, 'f32', [1, 2, 2, 8]);
    ref.rope!(y, x, pos, { rotaryDim: 6, interleaved, base: 10000 });
    ref.rope!(z, y, pos, { rotaryDim: 6, interleaved, base: 10000, inverse: true });
    const xs = values(x), ys = values(y), zs = values(z);
    xs.forEach((v, i) => assert.ok(Math.abs(zs[i] - v) < 1e-5));
    assert.equal(ys[6], xs[6], 'features past rotaryDim pass through');
    assert.notEqual(ys[0], xs[0]);
  }
  const q = makeView(ref, 'f32', [1, 1, 2, 4], rng.normals(8));
  const k = makeView(ref, 'f32', [1, 1, 3, 4], rng.normals(12));
  const out = outView(ref, 'f32', [1, 1, 2, 4]);
  ref.attention!(out, q, k, k, { scale: 0.5, causal: true, pastLen: [0], kvLen: [0] });
  assert.deepEqual([...values(out)], new Array(8).fill(0));
  const loss = outView(ref, 'f32', [2]);
  const dl = outView(ref, 'f32', [2, 3]);
  ref.crossEntropy!(loss, dl, makeView(ref, 'f32', [2, 3], [0, 0, 0, 1, 2, 3]), makeView(ref, 'i32', [2], [1, -1]), -1, 1);
  assert.ok(Math.abs(values(loss)[0] - Math.log(3)) < 1e-6);
  assert.deepEqual([...values(loss)].slice(1), [0]);
  assert.deepEqual([...values(dl)].slice(3), [0, 0, 0]);
  assert.ok(Math.abs(values(dl)[1] - (1 / 3 - 1)) < 1e-6);
});
