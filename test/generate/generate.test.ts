/**
 * The generate loop on the golden tiny models: cached decode equals uncached, batched (padded,
 * different prompt lengths) equals one row at a time, native equals ref — token for token under
 * greedy decoding — and batched prefill logits equal single-row logits. Also: the reference's
 * greedy ids, stop ids, stop strings, max tokens, seeded sampling and generation_config defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { availableBackends, getBackend } from '../../src/backends/index.js';
import { generate, generateAll, generationDefaults, type GenerationStats } from '../../src/generate/index.js';
import { MOSS_SAMPLING } from '../../src/models/moss/defaults.js';
import { loadModel } from '../../src/models/load.js';
import { tensor, tidy } from '../../src/tensor/index.js';
import { assertClose, FIXTURES, golden } from '../models/helpers.js';

const PROMPTS = [[5, 9, 3, 17, 2, 8, 11], [7], [30, 1, 4, 4]];

for (const name of ['moss-a', 'llama-gqa', 'qwen2-tied']) {
  test(`${name}: greedy ids equal the PyTorch reference`, async () => {
    const { model } = loadModel(join(FIXTURES, name));
    const g = golden(name);
    const { ids } = await generateAll(model, [g.greedy.prompt], { temperature: 0, maxNewTokens: g.greedy.ids.length });
    assert.deepEqual(ids[0], g.greedy.ids);
  });

  test(`${name}: cached == uncached, batched == single (greedy, 12 tokens)`, async () => {
    const { model } = loadModel(join(FIXTURES, name));
    const o = { temperature: 0, maxNewTokens: 12 };
    const batched = await generateAll(model, PROMPTS, o);
    const uncached = await generateAll(model, PROMPTS, { ...o, useCache: false });
    assert.deepEqual(batched.ids, uncached.ids);
    for (let b = 0; b < PROMPTS.length; b++) {
      const single = await generateAll(model, [PROMPTS[b]], o);
      assert.deepEqual(single.ids[0], batched.ids[b], `row ${b}`);
    }
    // with penalties and sampling the paths still agree for a fixed seed
    const s = { temperature: 0.9, topK: 10, topP: 0.95, repetitionPenalty: 1.3, presencePenalty: 0.2, seed: 5, maxNewTokens: 10 };
    assert.deepEqual((await generateAll(model, PROMPTS, s)).ids, (await generateAll(model, PROMPTS, { ...s, useCache: false })).ids);
  });

  test(`${name}: batched padded prefill logits equal single-row logits`, () => {
    const { model } = loadModel(join(FIXTURES, name));
    const T = Math.max(...PROMPTS.map((p) => p.length));
    const ids = PROMPTS.flatMap((p) => [...p, ...new Array<number>(T - p.length).fill(0)]);
    const cache = model.newCache(PROMPTS.length, T + 1);
    const both = tidy(() => model.forward(tensor(ids, [PROMPTS.length, T], { dtype: 'i32' }), { cache, lengths: PROMPTS.map((p) => p.length), logits: 'last' }));
    const V = model.info.vocabSize;
    const all = both.toFloat32Array();
    PROMPTS.forEach((p, b) => {
      const one = tidy(() => model.forward(tensor(p, [1, p.length], { dtype: 'i32' }), { logits: 'last' }));
      assertClose(all.subarray(b * V, (b + 1) * V), one.toFloat32Array(), 1e-5, `row ${b}`);
      one.dispose();
    });
    both.dispose();
    cache.dispose();
  });
}

test('native equals ref token for token', { skip: availableBackends().length < 2 ? 'native backend not built' : false }, async () => {
  for (const name of ['moss-b', 'llama-gqa']) {
    const ref = loadModel(join(FIXTURES, name), { backend: getBackend('ref') }).model;
    const nat = loadModel(join(FIXTURES, name), { backend: getBackend('native') }).model;
    const o = { temperature: 0, maxNewTokens: 16 };
    assert.deepEqual((await generateAll(nat, PROMPTS, o)).ids, (await generateAll(ref, PROMPTS, o)).ids, name);
  }
});

test('stop ids, stop strings, length and stats', async () => {
  const { model } = loadModel(join(FIXTURES, 'moss-a'));
  const free = (await generateAll(model, [[3, 4]], { temperature: 0, maxNewTokens: 8 })).ids[0];
  const stats = {} as GenerationStats;
  const stopped = await generateAll(model, [[3, 4]], { temperature: 0, maxNewTokens: 8, stopIds: [free[2]], stats });
  assert.deepEqual(stopped.ids[0], free.slice(0, free.indexOf(free[2]) + 1));
  assert.deepEqual(stats.finishReasons, ['stop']);
  assert.equal(stats.completionTokens, stopped.ids[0].length);
  assert.equal(stats.promptTokens, 2);
  // a decoder that spells each id as "<id>": stop once the text contains the 4th token's spelling
  const decoder = () => ({ push: (id: number) => `<${id}>`, flush: () => '' });
  const s2 = {} as GenerationStats;
  const ids: number[] = [];
  for await (const id of generate(model, [3, 4], { temperature: 0, maxNewTokens: 8, decoder, stopStrings: [`${free[3]}>`], stats: s2 })) ids.push(id);
  assert.deepEqual(ids, free.slice(0, free.indexOf(free[3]) + 1));
  assert.deepEqual(s2.finishReasons, ['stop']);
  const s3 = {} as GenerationStats;
  await generateAll(model, [[3, 4]], { temperature: 0, maxNewTokens: 5, stats: s3 });
  assert.deepEqual(s3.finishReasons, ['length']);
  assert.equal(s3.completionTokens, 5);
  // same seed, same sample; the reported seed reproduces an unseeded run
  const a = await generateAll(model, [[3]], { temperature: 1, seed: 42, maxNewTokens: 10 });
  const b = await generateAll(model, [[3]], { temperature: 1, seed: 42, maxNewTokens: 10 });
  assert.deepEqual(a.ids, b.ids);
  const c = await generateAll(model, [[3]], { temperature: 1, maxNewTokens: 10 });
  assert.deepEqual((await generateAll(model, [[3]], { temperature: 1, seed: c.stats.seed, maxNewTokens: 10 })).ids, c.ids);
});

test('generation defaults: MOSS defaults, generation_config.json, greedy otherwise', () => {
  const moss = loadModel(join(FIXTURES, 'moss-a')).model.info;
  const llama = loadModel(join(FIXTURES, 'llama-gqa')).model.info;
  assert.deepEqual(generationDefaults(moss, null), { ...MOSS_SAMPLING, stopIds: [2] });
  assert.deepEqual(generationDefaults(llama, null), { temperature: 0, stopIds: [2] });
  const o = generationDefaults(llama, { do_sample: true, temperature: 0.6, top_p: 0.9, eos_token_id: [2, 7], repetition_penalty: 1.1, max_new_tokens: 33 });
  assert.deepEqual(o, { stopIds: [2, 7], temperature: 0.6, topK: 50, topP: 0.9, repetitionPenalty: 1.1, maxNewTokens: 33 });
});
