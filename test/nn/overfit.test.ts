/**
 * The real MOSS module (src/models/moss/model.ts at a toy shape, initialised by src/models/moss/init.ts:
 * one parallel attention + MLP block with partial interleaved rotary, fused qkv in 4 shards, gelu_new,
 * biased head) overfits one batch with AdamW on every backend, and the backends' loss curves agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { AdamW, clipGradNorm, cosineWithWarmup } from '../../src/nn/index.js';
import { newMoss } from '../../src/models/moss/init.js';
import { Generator, ops, tensor, tidy } from '../../src/tensor/index.js';
import { backends } from '../tensor/helpers.js';

const V = 17;
const C = 16;
const T = 8;
const B = 2;

function train(backend: Backend, steps: number): number[] {
  const { model } = newMoss({ vocabSize: V, nEmbd: C, nLayer: 1, nHead: 4, rotaryDim: 2, nPositions: T }, 1234, backend);
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.01 });
  const data = new Generator(99);
  const seq = Array.from({ length: B * (T + 1) }, () => data.int(V));
  const inp = tensor(seq.filter((_, i) => i % (T + 1) !== T), [B, T], { dtype: 'i32', backend });
  const tgt = tensor(seq.filter((_, i) => i % (T + 1) !== 0), [B * T], { dtype: 'i32', backend });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    opt.setLr(cosineWithWarmup(s, { lr: 2e-2, warmupSteps: 5, totalSteps: steps }));
    const loss = tidy(() => {
      const logits = model.forward(inp).reshape(B * T, V);
      const l = ops.crossEntropy(logits, tgt);
      l.backward();
      return l.item();
    });
    clipGradNorm(model.parameters(), 1.0);
    opt.step();
    opt.zeroGrad();
    losses.push(loss);
  }
  return losses;
}

test('a toy MOSS model overfits one batch on every backend, with matching losses', () => {
  const curves = backends.map((b) => train(b, 60));
  for (const [i, c] of curves.entries()) {
    assert.ok(c[0] > 2.0, `[${backends[i].name}] initial loss ${c[0]} should be near ln(${V})`);
    assert.ok(c[c.length - 1] < 0.1, `[${backends[i].name}] final loss ${c[c.length - 1]} should be < 0.1 (overfit)`);
  }
  for (let i = 1; i < curves.length; i++) {
    for (let s = 0; s < 20; s++) {
      const rel = Math.abs(curves[i][s] - curves[0][s]) / Math.abs(curves[0][s]);
      assert.ok(rel < 1e-3, `step ${s}: ${backends[i].name} loss ${curves[i][s]} vs ref ${curves[0][s]}`);
    }
  }
});
