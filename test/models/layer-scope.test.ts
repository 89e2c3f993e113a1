/**
 * Per-layer scopes of the family forwards (src/models/layer-scope.ts): with no gradient to record
 * and no trace, each layer's intermediates are freed when the layer ends, so the memory live during
 * a forward is about one layer's, not all of them; the logits are bit-identical to the unscoped
 * forward (a trace keeps every layer's tensors), and a forward that records gradients keeps its
 * graph (backward still reaches the first layer's weights).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Backend, Storage } from '../../src/backends/backend.js';
import { loadModel } from '../../src/models/load.js';
import { newMoss } from '../../src/models/moss/init.js';
import type { CausalLM } from '../../src/models/types.js';
import type { Module } from '../../src/nn/index.js';
import { noGrad, ops, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { FIXTURES } from './helpers.js';

/** fn's result and the most bytes the backend had allocated and not yet freed while it ran. */
function peakLive<T>(be: Backend, fn: () => T): { result: T; peak: number } {
  const { alloc, free } = be;
  const live = new Map<Storage, number>();
  let bytes = 0, peak = 0;
  be.alloc = (n: number): Storage => {
    const s = alloc.call(be, n);
    live.set(s, n);
    bytes += n;
    peak = Math.max(peak, bytes);
    return s;
  };
  be.free = (s: Storage): void => {
    bytes -= live.get(s) ?? 0;
    live.delete(s);
    free.call(be, s);
  };
  try {
    return { result: fn(), peak };
  } finally {
    be.alloc = alloc;
    be.free = free;
  }
}

function check(model: CausalLM & Module, ids: number[], minRatio: number): void {
  const be = model.backend;
  const input = (): Tensor => tensor(ids, [1, ids.length], { dtype: 'i32', backend: be });
  // scoped: grad mode off
  const scoped = peakLive(be, () => noGrad(() => tidy(() => model.forward(input()).toFloat32Array())));
  // unscoped: a trace keeps every layer's tensors (they must still be readable after the forward)
  const traced = peakLive(be, () => noGrad(() => tidy(() => {
    const trace = new Map<string, Tensor>();
    const out = model.forward(input(), { trace }).toFloat32Array();
    assert.ok(trace.size >= 3 * model.info.nLayers, 'trace holds every layer');
    for (const t of trace.values()) assert.ok(t.toFloat32Array().every(Number.isFinite));
    return out;
  })));
  assert.deepEqual(scoped.result, traced.result, 'scoped forward gives the unscoped logits bit for bit');
  assert.ok(scoped.peak * minRatio < traced.peak, `live bytes: scoped peak ${scoped.peak}, unscoped ${traced.peak}`);
  // grad mode on with trainable weights: no scopes, the graph reaches the first layer
  const params = model.parameters();
  for (const p of params) p.requiresGrad_(true);
  try {
    const logits = tidy(() => {
      const l = model.forward(input());
      ops.sum(ops.mul(l, l)).backward();
      return l.toFloat32Array();
    });
    assert.deepEqual(logits, scoped.result, 'grad-mode forward gives the same logits');
    const first = model.namedParameters().find(([n]) => /\.0\..*weight$/.test(n) && !/norm|ln_/.test(n));
    assert.ok(first, 'a first-layer weight');
    const g = first[1].grad;
    assert.ok(g && g.toFloat32Array().some((x) => x !== 0), `${first[0]} got a gradient`);
  } finally {
    for (const p of params) {
      p.requiresGrad_(false);
      p.grad?.dispose();
      p.grad = null;
    }
  }
}

test('MOSS (6 layers): layer scopes cut the live memory of a forward, logits unchanged, gradients kept', () => {
  const { model } = newMoss({ vocabSize: 64, nEmbd: 32, nLayer: 6, nHead: 4, rotaryDim: 4, nPositions: 32, nInner: 128 }, 7);
  model.eval();
  for (const p of model.parameters()) p.requiresGrad_(false);
  check(model, Array.from({ length: 24 }, (_, i) => (i * 13) % 64), 2);
});

test('LLaMA GQA fixture (2 layers): layer scopes cut the live memory of a forward, logits unchanged, gradients kept', () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'));
  check(model as CausalLM & Module, [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 3, 7], 1.2);
});
