/**
 * Tiny random MOSS/CodeGen and LLaMA/Qwen2 checkpoints (test/fixtures/models, made by
 * dev/moss_reference.py with PyTorch) load through loadModel and reproduce the reference's logits
 * (full forward, cached prefill + one-token steps) and its greedy continuation, on every backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { availableBackends } from '../../src/backends/index.js';
import { loadModel } from '../../src/models/load.js';
import { tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { assertClose, FIXTURES, golden } from './helpers.js';

/** Runs `fn` in a scope and reads its result as f32. */
function values(fn: () => Tensor): Float32Array {
  const t = tidy(fn);
  const v = t.toFloat32Array();
  t.dispose();
  return v;
}

const MODELS = ['moss-a', 'moss-a-bin', 'moss-b', 'llama-gqa', 'qwen2-tied', 'llama3-rope', 'mistral-swa'];
const TOL = 2e-5;

for (const backend of availableBackends()) {
  for (const name of MODELS) {
    test(`${name} matches the PyTorch reference (${backend.name})`, () => {
      const g = golden(name.replace(/-bin$/, ''));
      const { model } = loadModel(join(FIXTURES, name), { backend });
      const [B, T, V] = g.shape;
      assert.equal(model.info.vocabSize, V);
      const ids = () => tensor(g.input_ids.flat(), [B, T], { dtype: 'i32', backend });
      // full forward
      const full = values(() => model.forward(ids()));
      assertClose(full, g.logits, TOL, 'full logits');
      // cached: prefill, then one token per step
      const cache = model.newCache(B, T);
      const P = g.cached.prefill;
      const pre = values(() => model.forward(ids().slice(1, 0, P).contiguous(), { cache }));
      assertClose(pre, g.cached.logits[0], TOL, 'prefill logits');
      for (let t = P; t < T; t++) {
        const step = values(() => model.forward(ids().slice(1, t, t + 1).contiguous(), { cache }));
        assertClose(step, g.cached.logits[t - P + 1], TOL, `step ${t} logits`);
      }
      assert.deepEqual(cache.lens, new Array(B).fill(T));
      cache.dispose();
      // greedy with the cache, 'last' logits
      const c2 = model.newCache(1, g.greedy.prompt.length + g.greedy.ids.length);
      let next = tidy(() => model.forward(tensor(g.greedy.prompt, [1, g.greedy.prompt.length], { dtype: 'i32', backend }), { cache: c2, logits: 'last' }).argmax(-1).item());
      const out: number[] = [];
      for (let i = 0; i < g.greedy.ids.length; i++) {
        out.push(next);
        const id = next;
        next = tidy(() => model.forward(tensor([id], [1, 1], { dtype: 'i32', backend }), { cache: c2, logits: 'last' }).argmax(-1).item());
      }
      assert.deepEqual(out, g.greedy.ids);
      c2.dispose();
      model.dispose();
    });
  }
}
