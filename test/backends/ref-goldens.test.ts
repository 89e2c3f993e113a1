/**
 * refBackend against independent goldens written by dev/golden_backend_ops.py (PyTorch 1.13 in
 * float64 on float32 inputs, numpy re-implementations of GPT-J/LLaMA rope and ggml quantizers).
 * Fixtures: test/fixtures/backends/*.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { UnaryOp, View } from '../../src/backends/backend.js';
import { refBackend as ref, quantizeQ4_0, quantizeQ8_0, dequantizeQ4_0, dequantizeQ8_0 } from '../../src/backends/ref/index.js';
import { makeView, normErr, outView, values } from './conformance-util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const FIX = new URL('../../../test/fixtures/backends/', import.meta.url);
const load = (name: string): Json => JSON.parse(readFileSync(new URL(name, FIX), 'utf8'));

const f32 = (shape: number[], data: ArrayLike<number>): View => makeView(ref, 'f32', shape, data);
function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  const e = normErr(got, want);
  assert.ok(e <= tol, `${what}: normalised error ${e.toExponential(2)} > ${tol}`);
}

test('activations (gelu erf, gelu tanh, silu and derivatives) match torch to 1 ulp (1e-12 absolute near the cancelling tails)', () => {
  const g = load('activations.json');
  const n = g.x.length;
  const x = f32([n], g.x);
  for (const op of ['gelu', 'gelu_new', 'silu', 'gelu_grad', 'gelu_new_grad', 'silu_grad'] as UnaryOp[]) {
    const y = outView(ref, 'f32', [n]);
    ref.unary(op, y, x);
    const got = values(y);
    for (let i = 0; i < n; i++) {
      const want = g[op][i];
      assert.ok(Math.abs(got[i] - want) <= 1.2e-7 * Math.abs(want) + 1e-12, `${op}(${g.x[i]}) = ${got[i]}, torch ${want}`);
    }
  }
});

test('layer_norm forward and backward match torch', () => {
  const g = load('norms.json').layer_norm;
  const R = g.rows, D = g.dim;
  const x = f32([R, D], g.x), w = f32([D], g.w), b = f32([D], g.b), dy = f32([R, D], g.dy);
  const y = outView(ref, 'f32', [R, D]), mean = outView(ref, 'f32', [R]), rstd = outView(ref, 'f32', [R]);
  ref.layerNorm!(y, mean, rstd, x, w, b, g.eps);
  close(values(y), g.y, 1e-6, 'y');
  close(values(mean), g.mean, 1e-6, 'mean');
  close(values(rstd), g.rstd, 1e-6, 'rstd');
  const dx = outView(ref, 'f32', [R, D]);
  const dw = f32([D], new Float32Array(D).fill(1)); // accumulates into 1s
  const db = outView(ref, 'f32', [D], true);
  ref.layerNormBackward!(dx, dw, db, dy, x, mean, rstd, w);
  close(values(dx), g.dx, 2e-6, 'dx');
  close(values(dw).map((v) => v - 1), g.dw, 2e-6, 'dw (+= semantics)');
  close(values(db), g.db, 1e-6, 'db');
});

test('rms_norm forward and backward match torch', () => {
  const g = load('norms.json').rms_norm;
  const R = g.rows, D = g.dim;
  const x = f32([R, D], g.x), w = f32([D], g.w), dy = f32([R, D], g.dy);
  const y = outView(ref, 'f32', [R, D]), rstd = outView(ref, 'f32', [R]);
  ref.rmsNorm!(y, rstd, x, w, g.eps);
  close(values(y), g.y, 1e-6, 'y');
  close(values(rstd), g.rstd, 1e-6, 'rstd');
  const dx = outView(ref, 'f32', [R, D]);
  const dw = outView(ref, 'f32', [D], true);
  ref.rmsNormBackward!(dx, dw, dy, x, rstd, w);
  close(values(dx), g.dx, 2e-6, 'dx');
  close(values(dw), g.dw, 2e-6, 'dw');
});

test('softmax and log_softmax match torch', () => {
  const g = load('softmax.json');
  const x = f32(g.shape, g.x);
  const y = outView(ref, 'f32', g.shape);
  ref.softmax!(y, x);
  close(values(y), g.softmax, 1e-6, 'softmax');
  ref.logSoftmax!(y, x);
  close(values(y), g.log_softmax, 1e-6, 'log_softmax');
});

test('rope (GPT-J interleaved, LLaMA half-split, partial rotaryDim, inverse) matches numpy', () => {
  const g = load('rope.json');
  const x = f32(g.shape, g.x);
  const pos = makeView(ref, 'i32', [g.shape[0], g.shape[1]], g.positions);
  assert.ok(g.cases.length >= 8);
  for (const c of g.cases) {
    const y = outView(ref, 'f32', g.shape);
    ref.rope!(y, x, pos, { rotaryDim: c.rotaryDim, interleaved: c.interleaved, base: c.base, inverse: c.inverse });
    close(values(y), c.y, 1e-6, `rope rd=${c.rotaryDim} interleaved=${c.interleaved} inverse=${c.inverse}`);
  }
});

test('attention (causal with pastLen, kvLen, GQA) matches torch', () => {
  for (const c of load('attention.json').cases) {
    const q = f32(c.q_shape, c.q), k = f32(c.kv_shape, c.k), v = f32(c.kv_shape, c.v);
    const out = outView(ref, 'f32', c.q_shape);
    ref.attention!(out, q, k, v, { scale: c.scale, causal: c.causal, pastLen: c.pastLen, kvLen: c.kvLen });
    close(values(out), c.out, 2e-6, `attention ${JSON.stringify(c.q_shape)} causal=${c.causal}`);
  }
});

test('cross_entropy with ignore_index: loss and fused dlogits match torch', () => {
  const g = load('cross_entropy.json');
  const logits = f32([g.N, g.V], g.logits);
  const targets = makeView(ref, 'i64', [g.N], g.targets);
  const loss = outView(ref, 'f32', [g.N]);
  const dl = outView(ref, 'f32', [g.N, g.V]);
  ref.crossEntropy!(loss, dl, logits, targets, g.ignoreIndex, g.gscale);
  close(values(loss), g.loss, 1e-6, 'loss');
  close(values(dl), g.dlogits, 1e-6, 'dlogits');
});

test('three AdamW steps match torch.optim.AdamW', () => {
  const g = load('adamw.json');
  const n = g.param0.length;
  const p = f32([n], g.param0), m = outView(ref, 'f32', [n], true), v = outView(ref, 'f32', [n], true);
  g.steps.forEach((s: Json, i: number) => {
    ref.adamw!(p, f32([n], s.grad), m, v, { ...g.hp, step: i + 1 });
    close(values(m), s.m, 1e-6, `m step ${i + 1}`);
    close(values(v), s.v, 1e-6, `v step ${i + 1}`);
    close(values(p), s.param, 1e-6, `param step ${i + 1}`);
  });
});

test('q8_0 / q4_0 quantizers are byte-exact with the ggml reference, dequantize matches', () => {
  const g = load('quant.json');
  const x = Float32Array.from(g.x);
  assert.deepEqual([...quantizeQ8_0(x)], g.q8_0);
  assert.deepEqual([...quantizeQ4_0(x)], g.q4_0);
  assert.deepEqual([...dequantizeQ8_0(Uint8Array.from(g.q8_0), x.length)], g.q8_0_deq);
  assert.deepEqual([...dequantizeQ4_0(Uint8Array.from(g.q4_0), x.length)], g.q4_0_deq);
  // Backend.dequantize on a storage holding the bytes
  for (const [dt, bytes, want] of [['q8_0', g.q8_0, g.q8_0_deq], ['q4_0', g.q4_0, g.q4_0_deq]] as const) {
    const s = ref.alloc(bytes.length);
    new Uint8Array(s.buffer, s.byteOffset, s.byteLength).set(bytes);
    const out = outView(ref, 'f32', [x.length]);
    ref.dequantize(out, { storage: s, dtype: dt, shape: [x.length], strides: [1], offset: 0 });
    assert.deepEqual([...values(out)], want, `Backend.dequantize ${dt}`);
  }
});

test('matmul with transposed operands and a batch-broadcast b matches torch', () => {
  const g = load('matmul.json');
  const [B, K, M] = g.a_stored_shape;
  const [N] = g.b_stored_shape;
  const as = f32(g.a_stored_shape, g.a);
  const bs = f32(g.b_stored_shape, g.b);
  const a: View = { ...as, shape: [B, M, K], strides: [K * M, 1, M] };
  const b: View = { ...bs, shape: [B, K, N], strides: [0, 1, K] };
  const out = outView(ref, 'f32', g.out_shape);
  ref.matmul(out, a, b);
  close(values(out), g.out, 1e-6, 'matmul');
});
