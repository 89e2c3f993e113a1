/**
 * Test helpers for the tensor layer: backends to run on, a seeded data source, and a
 * finite-difference gradient check (central differences in f32, normalised error).
 */
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { availableBackends } from '../../src/backends/index.js';
import { Generator, Tensor, tensor, tidy } from '../../src/tensor/index.js';

export const backends: Backend[] = availableBackends();

export function data(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  return new Generator(seed).fillUniform(new Float32Array(n), lo, hi);
}

export interface Leaf {
  shape: number[];
  values: Float32Array;
}

export function leaf(seed: number, shape: number[], lo = -1, hi = 1): Leaf {
  return { shape, values: data(seed, shape.reduce((a, b) => a * b, 1), lo, hi) };
}

/**
 * Checks autograd against central finite differences of sum(f(x) * R) for every leaf, on up to
 * `maxPerLeaf` elements each. Returns the worst normalised error.
 */
export function gradcheck(backend: Backend, leaves: Leaf[], f: (...xs: Tensor[]) => Tensor, opts: { eps?: number; tol?: number; maxPerLeaf?: number } = {}): number {
  const eps = opts.eps ?? 1e-2;
  const tol = opts.tol ?? 2e-2;
  const maxPer = opts.maxPerLeaf ?? 24;
  const probe = tidy(() => f(...leaves.map((l) => tensor(l.values, l.shape, { backend }))));
  const R = data(999, probe.numel);
  probe.dispose();
  const lossOf = (vals: Float32Array[]): number =>
    tidy(() => {
      const xs = leaves.map((l, i) => tensor(vals[i], l.shape, { backend }));
      const y = f(...xs);
      const yv = y.toFloat32Array();
      let s = 0;
      for (let i = 0; i < yv.length; i++) s += yv[i] * R[i];
      return s;
    });
  // autograd
  const xs = leaves.map((l) => tensor(l.values, l.shape, { backend, requiresGrad: true }).keep());
  tidy(() => {
    const y = f(...xs);
    const r = tensor(R, y.shape, { backend, dtype: y.dtype });
    y.backward(r);
  });
  let worst = 0;
  leaves.forEach((l, li) => {
    const g = xs[li].grad;
    assert.ok(g, `leaf ${li} got no gradient`);
    const gv = g.toFloat32Array();
    const n = l.values.length;
    const stride = Math.max(1, Math.floor(n / maxPer));
    let scale = 1e-3;
    for (const v of gv) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < n; j += stride) {
      const plus = leaves.map((x) => x.values.slice());
      const minus = leaves.map((x) => x.values.slice());
      plus[li][j] += eps;
      minus[li][j] -= eps;
      const fd = (lossOf(plus) - lossOf(minus)) / (2 * eps);
      const err = Math.abs(fd - gv[j]) / scale;
      worst = Math.max(worst, err);
      assert.ok(err <= tol, `leaf ${li} element ${j}: autograd ${gv[j]} vs finite difference ${fd} (normalised error ${err.toFixed(4)})`);
    }
  });
  for (const x of xs) {
    x.grad?.dispose();
    x.dispose();
  }
  return worst;
}
