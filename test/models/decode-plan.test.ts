/**
 * Decode plans (src/models/decode-plan.ts): a batch-1 decode step replayed from a recorded native
 * plan must give exactly the logits of the op-by-op forward (the same kernels on the same views),
 * token for token, for every model family and weight type — f32 fixtures (MOSS with partial rotary,
 * CodeGen, LLaMA GQA, Qwen2 with biases and a tied head), the bundled moss-tiny, and q8_0 / q4_0
 * GGUFs of moss-tiny (arch moss) and stories260K (arch llama). Also: when the plan is (not) used,
 * and that a plan refuses to run over freed memory or past its cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBackend, availableBackends, configureEngine } from '../../src/backends/index.js';
import { quantizeModel } from '../../src/cli/quantize.js';
import type { CausalLM } from '../../src/models/types.js';
import { loadModel } from '../../src/models/load.js';
import { tensor, tidy } from '../../src/tensor/index.js';
import { FIXTURES } from './helpers.js';

const native = availableBackends().some((b) => b.name === 'native');
const skip = native ? false : 'native backend not built';
const REPO = join(import.meta.dirname, '..', '..', '..');
const SHARED = process.env.MOSS_SHARED ?? join(REPO, '..', 'shared');
const STORIES = join(SHARED, 'models', 'stories260K', 'stories260K.bin');

/** Greedy decode of `steps` tokens after `prompt`, one token per forward; logits of every step. */
function decode(model: CausalLM, prompt: number[], steps: number, plan: boolean): { ids: number[]; logits: Float32Array[]; planned: boolean } {
  const before = configureEngine({ decodePlan: plan });
  const cache = model.newCache(1, prompt.length + steps + 1);
  try {
    const be = model.backend;
    let last = tidy(() => model.forward(tensor(prompt, [1, prompt.length], { dtype: 'i32', backend: be }), { cache, logits: 'last' }).argmax(-1)).item();
    const ids: number[] = [];
    const logits: Float32Array[] = [];
    for (let i = 0; i < steps; i++) {
      const l = tidy(() => model.forward(tensor([last], [1, 1], { dtype: 'i32', backend: be }), { cache, logits: 'last' }));
      assert.deepEqual(l.shape, [1, model.info.vocabSize]);
      const a = l.toFloat32Array();
      l.dispose();
      logits.push(a);
      last = a.indexOf(Math.max(...a));
      ids.push(last);
    }
    return { ids, logits, planned: cache.plan !== undefined };
  } finally {
    cache.dispose();
    configureEngine(before);
  }
}

function samePaths(path: string, prompt: number[], steps = 12): void {
  const { model } = loadModel(path, { backend: getBackend('native') });
  const ops = decode(model, prompt, steps, false);
  const planned = decode(model, prompt, steps, true);
  assert.equal(ops.planned, false, 'decodePlan: false (MOSS_DECODE_PLAN=0) must take the op-by-op path');
  assert.equal(planned.planned, true, `${path}: the plan path was not taken`);
  assert.deepEqual(planned.ids, ops.ids, `${path}: greedy ids`);
  planned.logits.forEach((l, i) => assert.deepEqual(l, ops.logits[i], `${path}: logits of step ${i} differ`));
  model.dispose();
}

for (const name of ['moss-a', 'moss-b', 'llama-gqa', 'qwen2-tied', 'llama3-rope']) {
  test(`decode plan == op by op, bit for bit: ${name}`, { skip }, () => samePaths(join(FIXTURES, name), [5, 9, 3, 17, 2]));
}

test('decode plan == op by op: moss-tiny (f32) and its q8_0 / q4_0 GGUFs', { skip }, () => {
  const tiny = join(REPO, 'models', 'moss-tiny');
  samePaths(tiny, [100, 200, 300, 7, 8], 10);
  const dir = mkdtempSync(join(tmpdir(), 'moss-plan-'));
  try {
    for (const q of ['q8_0', 'q4_0'] as const) {
      const out = join(dir, `tiny-${q}.gguf`);
      quantizeModel(tiny, q, out);
      samePaths(out, [100, 200, 300, 7, 8], 10);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decode plan == op by op: stories260K q4_0 (llama arch, interleaved rope, GQA)', { skip: skip || (existsSync(STORIES) ? false : `no ${STORIES}`) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-plan-'));
  try {
    const out = join(dir, 's-q4_0.gguf');
    quantizeModel(STORIES, 'q4_0', out);
    samePaths(out, [1, 403, 407], 16);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the plan is only used for one token of one sequence with a cache', { skip }, () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'), { backend: getBackend('native') });
  const be = model.backend;
  const two = model.newCache(2, 8);
  tidy(() => model.forward(tensor([1, 2], [2, 1], { dtype: 'i32', backend: be }), { cache: two }));
  assert.equal(two.plan, undefined, 'batch 2 decodes op by op');
  two.dispose();
  const one = model.newCache(1, 8);
  tidy(() => model.forward(tensor([1, 2], [1, 2], { dtype: 'i32', backend: be }), { cache: one }));
  assert.equal(one.plan, undefined, 'a 2-token chunk (prefill) runs op by op');
  const traced = new Map();
  tidy(() => model.forward(tensor([3], [1, 1], { dtype: 'i32', backend: be }), { cache: one, trace: traced }));
  assert.equal(one.plan, undefined, 'a traced forward runs op by op');
  assert.ok(traced.size > 0);
  const l = tidy(() => model.forward(tensor([4], [1, 1], { dtype: 'i32', backend: be }), { cache: one }));
  assert.deepEqual(l.shape, [1, 1, model.info.vocabSize], 'logits (B, T, V) unless logits: last');
  assert.ok(one.plan, 'one token of one sequence takes the plan');
  assert.equal(one.lens[0], 4);
  one.dispose();
  model.dispose();
});

test('a plan refuses freed memory and positions past its cache', { skip }, () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'), { backend: getBackend('native') });
  const be = model.backend;
  const step = (cache: ReturnType<CausalLM['newCache']>, id: number): void => {
    tidy(() => model.forward(tensor([id], [1, 1], { dtype: 'i32', backend: be }), { cache }));
  };
  const cache = model.newCache(1, 3);
  step(cache, 1);
  step(cache, 2);
  step(cache, 3);
  assert.throws(() => step(cache, 4), /KV cache full/);
  const plan = (cache.plan!.step as { rec: { plan: { run(p: number): void } } }).rec.plan;
  assert.throws(() => plan.run(3), /outside the plan's caches/);
  assert.throws(() => plan.run(-1), /outside the plan's caches/);
  // free a cache tensor behind the plan's back: running must throw, not touch freed memory
  be.free(cache.k[0].storage);
  assert.throws(() => plan.run(0), /freed/);
  cache.dispose();
  assert.throws(() => plan.run(0), /dispose|freed/);
  model.dispose();
});
