/**
 * The fused-op contract of src/tensor/ops/fused.ts: on a backend whose supports() says no to every
 * fused kernel, softmax, log_softmax and attention are composed from primitives (same values as the
 * fused kernels), while layer_norm, rms_norm, rope and cross_entropy refuse, naming the op.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { refBackend } from '../../src/backends/ref/index.js';
import { ops, randn, tensor, Generator } from '../../src/tensor/index.js';

const bare: Backend = { ...refBackend, name: 'bare', supports: () => false };

test('fused ops: composed fallbacks where promised, a named refusal where the kernel is required', () => {
  const g = (): Generator => new Generator(5);
  const x = randn([2, 3, 4, 8], { generator: g(), backend: bare });
  const y = randn([2, 3, 4, 8], { generator: g(), backend: refBackend });
  const close = (a: number[], b: number[]): void => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `${v} vs ${b[i]}`));
  close(ops.softmax(x).toArray(), ops.softmax(y).toArray());
  close(ops.logSoftmax(x).toArray(), ops.logSoftmax(y).toArray());
  close(ops.sdpa(x, x, x, { causal: true }).toArray(), ops.sdpa(y, y, y, { causal: true }).toArray());
  const w = tensor(new Array(8).fill(1), [8], { backend: bare });
  const pos = tensor([0, 1, 2, 3, 0, 1, 2, 3], [2, 4], { dtype: 'i32', backend: bare });
  const ids = tensor([1, 2], [2], { dtype: 'i32', backend: bare });
  assert.throws(() => ops.layerNorm(x, w, w), /layerNorm: backend bare has no fused kernel for it/);
  assert.throws(() => ops.rmsNorm(x, w), /rmsNorm: backend bare has no fused kernel for it/);
  assert.throws(() => ops.rope(x.reshape(2, 4, 3, 8), pos, { rotaryDim: 8, interleaved: true, base: 10000 }), /rope: backend bare has no fused kernel for it/);
  assert.throws(() => ops.crossEntropy(x.reshape(24, 8).slice(0, 0, 2), ids), /crossEntropy: backend bare has no fused kernel for it/);
});
