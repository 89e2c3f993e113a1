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
import { quantizeModel } from '../../src/models/quantize.js';
import type { KVCache } from '../../src/models/kv-cache.js';
import type { CausalLM } from '../../src/models/types.js';
import { loadModel } from '../../src/models/load.js';
import { applyLora, loraParameters, mergeLora, type Module } from '../../src/nn/index.js';
import { Generator, ops, randn, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { FIXTURES } from './helpers.js';

const native = availableBackends().some((b) => b.name === 'native');
const skip = native ? false : 'native backend not built';
const REPO = join(import.meta.dirname, '..', '..', '..');
const SHARED = process.env.MOSS_SHARED ?? join(REPO, '..', 'shared');
const STORIES = join(SHARED, 'models', 'stories260K', 'stories260K.bin');

/** True when the cache holds a captured plan (not 'ops', the fallback for forwards a plan cannot replay). */
const replays = (c: KVCache): boolean => typeof c.plan?.step === 'object';

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
    return { ids, logits, planned: replays(cache) };
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

for (const name of ['moss-a', 'moss-b', 'llama-gqa', 'qwen2-tied', 'llama3-rope', 'mistral-swa', 'gemma-tied']) {
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

test('the plan is only used for one token per sequence with a cache', { skip }, () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'), { backend: getBackend('native') });
  const be = model.backend;
  const two = model.newCache(2, 8);
  tidy(() => model.forward(tensor([1, 2], [2, 1], { dtype: 'i32', backend: be }), { cache: two }));
  assert.ok(two.plan && two.plan.step !== 'ops', 'one token of each of 2 sequences records a batched plan');
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
  assert.ok(replays(one), 'one token of one sequence takes the plan');
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
  const plan = (cache.plan!.step as { plan: { run(p: number): void } }).plan;
  assert.throws(() => plan.run(3), /outside the plan's caches/);
  assert.throws(() => plan.run(-1), /outside the plan's caches/);
  // free a cache tensor behind the plan's back: running must throw, not touch freed memory
  be.free(cache.k[0].storage);
  assert.throws(() => plan.run(0), /freed/);
  cache.dispose();
  assert.throws(() => plan.run(0), /dispose|freed/);
  model.dispose();
});

// --- one forward: the plan is captured from the forward, so whatever the forward computes (an
// unmerged LoRA adapter included) the plan computes; batched decode (op by op) agrees row by row ---

/** Logits (V) of each forced step: prompt, then `steps` one token at a time, on a batch-1 cache. */
function forced(model: CausalLM, prompt: number[], steps: number[], plan: boolean): { logits: Float32Array[]; planned: boolean } {
  const before = configureEngine({ decodePlan: plan });
  const cache = model.newCache(1, prompt.length + steps.length + 1);
  try {
    const be = model.backend;
    tidy(() => model.forward(tensor(prompt, [1, prompt.length], { dtype: 'i32', backend: be }), { cache, logits: 'last' }));
    const logits = steps.map((id) => tidy(() => model.forward(tensor([id], [1, 1], { dtype: 'i32', backend: be }), { cache, logits: 'last' }).toFloat32Array()));
    return { logits, planned: replays(cache) };
  } finally {
    cache.dispose();
    configureEngine(before);
  }
}

/** Logits (B*V) of each forced step of B rows decoded together after prompts of different lengths. */
function batched(model: CausalLM, prompts: number[][], steps: number[][], plan: boolean): { logits: Float32Array[]; planned: boolean } {
  const before = configureEngine({ decodePlan: plan });
  const T = Math.max(...prompts.map((p) => p.length));
  const be = model.backend;
  const cache = model.newCache(prompts.length, T + steps.length + 1);
  try {
    const ids = prompts.flatMap((p) => [...p, ...Array<number>(T - p.length).fill(0)]);
    tidy(() => model.forward(tensor(ids, [prompts.length, T], { dtype: 'i32', backend: be }), { cache, lengths: prompts.map((p) => p.length), logits: 'last' }));
    const logits = steps.map((row) => tidy(() => model.forward(tensor(row, [row.length, 1], { dtype: 'i32', backend: be }), { cache, logits: 'last' }).toFloat32Array()));
    return { logits, planned: replays(cache) };
  } finally {
    cache.dispose();
    configureEngine(before);
  }
}

/** Batched decode through the plan and op by op: within 1e-5 at every step; the plan's logits. */
function batchedSame(model: CausalLM, prompts: number[][], steps: number[][]): Float32Array[] {
  const [o, p] = [false, true].map((plan) => batched(model, prompts, steps, plan));
  assert.deepEqual([o.planned, p.planned], [false, true], 'the batched plan path is taken only with decodePlan on');
  p.logits.forEach((l, i) => assert.ok(maxAbs(l, o.logits[i]) <= 1e-5, `batched step ${i}: plan vs op by op differ by ${maxAbs(l, o.logits[i])}`));
  return p.logits;
}

/** Adapts every projection of `model` with a LoRA whose B is random (B = 0 would hide a dropped adapter). */
function adapt(model: CausalLM, targets: string[]): void {
  const m = model as unknown as Module;
  const n = applyLora(m, { rank: 4, alpha: 8, targets, seed: 3 });
  assert.ok(n > 0);
  const g = new Generator(11);
  for (const [name, t] of loraParameters(m)) {
    if (name.endsWith('lora_B')) t.backend.copy(t, randn(t.shape, { generator: g, std: 0.5, backend: t.backend }));
  }
  m.eval().requiresGrad_(false); // loaded for inference (trainable adapters with grad on decode op by op)
}

const maxAbs = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => Math.max(s, Math.abs(v - b[i])), 0);

const LORA_TARGETS: Record<string, string[]> = {
  'moss-a': ['qkv_proj', 'out_proj', 'fc_in', 'fc_out', 'lm_head'],
  'llama-gqa': ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};

for (const name of Object.keys(LORA_TARGETS)) {
  test(`one forward: plan == op by op with and without an unmerged LoRA adapter, batch 1 and batched: ${name}`, { skip }, () => {
    const prompt = [5, 9, 3], steps = [17, 2, 8, 11, 4, 30];
    const { model } = loadModel(join(FIXTURES, name), { backend: getBackend('native') });
    const base = forced(model, prompt, steps, true);
    batchedSame(model, [prompt, [7, 1]], [[17, 4], [2, 4], [8, 2]]);
    adapt(model, LORA_TARGETS[name]);
    const ops = forced(model, prompt, steps, false);
    const plan = forced(model, prompt, steps, true);
    assert.equal(plan.planned, true, 'the LoRA model decodes through the plan');
    ops.logits.forEach((l, i) => {
      assert.ok(maxAbs(plan.logits[i], l) <= 1e-5, `step ${i}: plan vs op by op differ by ${maxAbs(plan.logits[i], l)}`);
      assert.ok(maxAbs(l, base.logits[i]) > 1e-2, `step ${i}: the adapter changes the logits`);
    });
    // batched: two rows of different lengths decoded together, through the batched plan and op by op,
    // give each other's logits and each row's batch-1 plan logits
    const other = [7, 1, 4, 4, 2];
    const alone = forced(model, other.slice(0, 2), other.slice(2), true);
    const bPlan = batchedSame(model, [prompt, other.slice(0, 2)], steps.slice(0, 3).map((s, i) => [s, other[2 + i]]));
    bPlan.forEach((l, i) => {
      const V = l.length / 2;
      assert.ok(maxAbs(l.subarray(0, V), plan.logits[i]) <= 1e-5, `batched row 0 step ${i} differs by ${maxAbs(l.subarray(0, V), plan.logits[i])}`);
      assert.ok(maxAbs(l.subarray(V), alone.logits[i]) <= 1e-5, `batched row 1 step ${i} differs by ${maxAbs(l.subarray(V), alone.logits[i])}`);
    });
    // merged: the same model with the adapter folded in (the plan it captures has no adapter calls)
    mergeLora(model as unknown as Module);
    const merged = forced(model, prompt, steps, true);
    merged.logits.forEach((l, i) => assert.ok(maxAbs(l, plan.logits[i]) < 1e-4, `step ${i}: merged vs adapter differ by ${maxAbs(l, plan.logits[i])}`));
    model.dispose();
  });
}

test('a forward with a call a plan cannot replay is computed by the capture, then decodes op by op', { skip }, () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'), { backend: getBackend('native') });
  const m = model as unknown as { forwardOps(ids: Tensor, o: object): Tensor };
  const base = m.forwardOps.bind(model);
  // a reduction (not a plan step) inside the forward: logits + 0 * sum(logits)
  m.forwardOps = (ids, o) => {
    const l = base(ids, o);
    return ops.add(l, ops.mul(ops.sum(l, -1, true), 0));
  };
  const prompt = [5, 9, 3], steps = [17, 2, 8];
  const ops1 = forced(model, prompt, steps, false);
  const cache = model.newCache(1, 8);
  const be = model.backend;
  tidy(() => model.forward(tensor(prompt, [1, 3], { dtype: 'i32', backend: be }), { cache }));
  steps.forEach((id, i) => {
    const l = tidy(() => model.forward(tensor([id], [1, 1], { dtype: 'i32', backend: be }), { cache, logits: 'last' }).toFloat32Array());
    assert.deepEqual(l, ops1.logits[i], `step ${i}`);
  });
  assert.equal(cache.plan?.step, 'ops', 'the cache remembers to decode op by op');
  cache.dispose();
  model.dispose();
});
