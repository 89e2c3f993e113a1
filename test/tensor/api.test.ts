/**
 * Tensor API behaviour on every backend: views share memory, values of views/cat/reductions,
 * dtypes, seeded randomness identical across backends, scopes and disposal, grad accumulation,
 * and clear errors for bad calls (thrown before any backend code runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, noGrad, ops, randn, tensor, tidy, zeros, type Tensor } from '../../src/tensor/index.js';
import { backends } from './helpers.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `index ${i}: ${a[i]} vs ${b[i]}`);
};

for (const backend of backends) {
  const o = { backend };
  const t = (v: number[], s: number[]) => tensor(v, s, o);

  test(`views share storage and read the right elements [${backend.name}]`, () => {
    const x = t([0, 1, 2, 3, 4, 5], [2, 3]);
    const tr = ops.transpose(x, 0, 1);
    const sl = ops.slice(x, 1, 1, 3);
    const ex = ops.expand(ops.slice(x, 0, 0, 1), [3, 3]);
    const rs = ops.reshape(x, [3, 2]);
    for (const v of [tr, sl, ex, rs]) assert.equal(v.storage, x.storage, 'a view must not copy');
    assert.deepEqual(tr.toArray(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(sl.toArray(), [1, 2, 4, 5]);
    assert.deepEqual(ex.toArray(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    assert.deepEqual(ops.slice(x, 1, 0, 3, 2).toArray(), [0, 2, 3, 5]);
    assert.deepEqual(ops.reshape(tr, [6]).toArray(), [0, 3, 1, 4, 2, 5], 'reshape of a transposed view copies');
    assert.deepEqual(ops.permute(ops.reshape(x, [1, 2, 3]), [2, 0, 1]).shape, [3, 1, 2]);
  });

  test(`cat, stack, reductions, argmax, logsumexp [${backend.name}]`, () => {
    const a = t([1, 2, 3, 4], [2, 2]);
    const b = t([5, 6], [2, 1]);
    assert.deepEqual(ops.cat([a, b], 1).toArray(), [1, 2, 5, 3, 4, 6]);
    assert.deepEqual(ops.stack([a, a], 0).shape, [2, 2, 2]);
    assert.deepEqual(ops.sum(a, 0).toArray(), [4, 6]);
    assert.deepEqual(ops.sum(a, 1, true).shape, [2, 1]);
    assert.deepEqual(ops.mean(a).toArray(), [2.5]);
    assert.deepEqual(ops.max(a, 1).toArray(), [2, 4]);
    assert.deepEqual(ops.argmax(t([1, 9, 9, 0, -1, 3], [2, 3]), 1).toArray(), [1, 2], 'first maximum wins');
    close(ops.logsumexp(t([1000, 1000], [2])).toArray(), [1000 + Math.log(2)]);
    close(ops.softmax(t([1, 2, 3], [3])).toArray(), [0.09003057, 0.24472847, 0.66524096]);
  });

  test(`dtypes round trip with correct rounding [${backend.name}]`, () => {
    const v = [1, -2.5, 65504, 1 / 3, 1e-8];
    assert.deepEqual(tensor(v, [5], { backend, dtype: 'f16' }).toArray(), [1, -2.5, 65504, 0.333251953125, 0]);
    assert.deepEqual(tensor(v, [5], { backend, dtype: 'bf16' }).toArray().slice(0, 4), [1, -2.5, 65536, 0.333984375]);
    assert.deepEqual(tensor([3, -7], [2], { backend, dtype: 'i64' }).toArray(), [3, -7]);
    assert.deepEqual(ops.to(tensor([1.7, -1.7, 0], [3], o), 'i32').toArray(), [1, -1, 0]);
    assert.deepEqual(ops.gt(t([1, 2, 3], [3]), 2).toArray(), [0, 0, 1]);
  });

  test(`seeded random numbers are identical on every backend [${backend.name}]`, () => {
    const x = randn([64], { backend, generator: new Generator(42) }).toFloat32Array();
    const y = randn([64], { backend: backends[0], generator: new Generator(42) }).toFloat32Array();
    assert.deepEqual(x, y);
    const z = randn([64], { backend, generator: new Generator(43) }).toFloat32Array();
    assert.notDeepEqual(x, z);
  });

  test(`tidy frees intermediates, keeps results; using disposes [${backend.name}]`, () => {
    let inner: Tensor | undefined;
    const kept = tidy(() => {
      inner = t([1, 2], [2]);
      return ops.mul(inner, 2);
    });
    assert.ok(inner!.isDisposed, 'intermediate freed');
    assert.ok(!kept.isDisposed, 'result kept');
    assert.throws(() => ops.add(inner!, 1), /used after dispose/);
    {
      using s = zeros([3], o);
      assert.ok(!s.isDisposed);
      inner = s;
    }
    assert.ok(inner.isDisposed);
  });

  test(`gradients accumulate across backward passes; noGrad records nothing [${backend.name}]`, () => {
    const x = tensor([1, 2, 3], [3], { backend, requiresGrad: true });
    ops.sum(ops.mul(x, x)).backward();
    ops.sum(ops.mul(x, x)).backward();
    assert.deepEqual(x.grad!.toArray(), [4, 8, 12]);
    const y = noGrad(() => ops.mul(x, 2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradNode, null);
  });

  test(`bad calls throw clear errors [${backend.name}]`, () => {
    assert.throws(() => ops.add(t([1, 2, 3], [3]), t([1, 2], [2])), /add: shapes \[3\] and \[2\] do not broadcast/);
    assert.throws(() => ops.matmul(t([1, 2, 3, 4, 5, 6], [2, 3]), t([1, 2, 3, 4], [2, 2])), /matmul: inner dimensions differ/);
    assert.throws(() => ops.add(t([1], [1]), tensor([1], [1], { backend, dtype: 'bf16' })), /dtype mismatch f32 vs bf16/);
    assert.throws(() => ops.indexSelect(t([1, 2, 3, 4], [2, 2]), 0, tensor([0, 2], [2], { backend, dtype: 'i32' })), /index 2 out of range \[0, 2\)/);
    assert.throws(() => ops.embedding(tensor([-1], [1], { backend, dtype: 'i32' }), t([1, 2], [1, 2])), /index -1 out of range/);
    assert.throws(() => ops.indexSelect(t([1, 2], [2]), 0, t([0], [1])), /index tensor must be i32 or i64/);
    assert.throws(() => ops.reshape(t([1, 2, 3], [3]), [2, 2]), /reshape: shape \[2,2\] is invalid/);
    assert.throws(() => ops.sum(t([1], [1]), 3), /axis 3 out of range/);
    assert.throws(() => ops.crossEntropy(t([0, 0], [1, 2]), tensor([5], [1], { backend, dtype: 'i32' })), /target 5 out of range/);
    assert.throws(() => ops.sdpa(zeros([1, 3, 2, 4], o), zeros([1, 2, 2, 4], o), zeros([1, 2, 2, 4], o)), /not a multiple of 2 kv heads/);
    assert.throws(() => ops.exp(tensor([1], [1], { backend, dtype: 'i32' })), /expected a float tensor/);
    assert.throws(() => zeros([2, -1], o), /invalid shape/);
  });

  test(`f32 @ f16/bf16 weights: computed on backends with matmul_half, a dtype mismatch elsewhere [${backend.name}]`, () => {
    const a = t([1, -2, 0.5, 3, 0.25, -1], [2, 3]);
    const w = [0.5, -1.5, 2, 0.125, 3, -0.75]; // exact in f16 and bf16
    for (const dtype of ['f16', 'bf16'] as const) {
      const b = tensor(w, [2, 3], { backend, dtype }); // weight (N=2, K=3), used as w.T
      if (backend.supports('matmul_half')) {
        const y = ops.matmul(a, ops.transpose(b, 0, 1));
        close(y.toArray(), ops.matmul(a, ops.transpose(b.to('f32'), 0, 1)).toArray(), 0);
        b.requiresGrad_(true);
        assert.throws(() => ops.matmul(a, ops.transpose(b, 0, 1)), new RegExp(`a ${dtype} operand with an f32 one must not require grad`));
      } else {
        assert.throws(() => ops.matmul(a, ops.transpose(b, 0, 1)), new RegExp(`dtype mismatch f32 vs ${dtype}`));
      }
    }
  });
}
