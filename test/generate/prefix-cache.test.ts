/**
 * The chat loop's model adapter on the golden tiny models: its ids equal plain `generate` token for
 * token (greedy, and seeded sampling with penalties), with prefix reuse across calls, without it,
 * after a diverging prompt, after an abort and after the consumer stops early; stop ids end a call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelGenerator } from '../../src/generate/prefix-cache.js';
import { generateAll, type GenerateOptions } from '../../src/generate/index.js';
import { loadModel } from '../../src/models/load.js';
import type { CausalLM } from '../../src/models/types.js';
import { FIXTURES } from '../models/helpers.js';

async function collect(g: ModelGenerator, prompt: number[], maxNewTokens: number, stopIds: number[] = [], signal?: AbortSignal): Promise<number[]> {
  const out: number[] = [];
  for await (const id of g.generate(prompt, { stopIds, maxNewTokens, signal })) out.push(id);
  return out;
}

async function plain(model: CausalLM, prompt: number[], o: GenerateOptions): Promise<number[]> {
  return (await generateAll(model, [prompt], o)).ids[0];
}

const P1 = [5, 9, 3, 17, 2, 8, 11];

for (const name of ['moss-a', 'llama-gqa']) {
  test(`${name}: greedy, prefix reuse across calls == plain generate`, async () => {
    const { model } = loadModel(join(FIXTURES, name));
    const g = new ModelGenerator(model, { temperature: 0 });
    const out1 = await collect(g, P1, 8);
    assert.deepEqual(out1, await plain(model, P1, { temperature: 0, maxNewTokens: 8 }));
    assert.equal(g.last?.reusedTokens, 0);
    // the loop's next step: the previous prompt + output + forced text
    const P2 = [...P1, ...out1, 4, 6, 7];
    const out2 = await collect(g, P2, 8);
    assert.equal(g.last?.reusedTokens, P1.length + out1.length - 1, 'everything but the last sampled token was cached');
    assert.deepEqual(out2, await plain(model, P2, { temperature: 0, maxNewTokens: 8 }));
    // a prompt that diverges early reuses only the common prefix
    const P3 = [5, 9, 30, 1, 4];
    const out3 = await collect(g, P3, 6);
    assert.equal(g.last?.reusedTokens, 2);
    assert.deepEqual(out3, await plain(model, P3, { temperature: 0, maxNewTokens: 6 }));
    // the same prompt again: all but its last token comes from the cache
    assert.deepEqual(await collect(g, P3, 6), out3);
    assert.equal(g.last?.reusedTokens, P3.length - 1);
    g.dispose();
  });
}

test('moss-a: seeded sampling with penalties == plain generate, call k uses seed + k; reuse on/off agree', async () => {
  const { model } = loadModel(join(FIXTURES, 'moss-a'));
  const s = { temperature: 0.9, topK: 10, topP: 0.95, repetitionPenalty: 1.3, presencePenalty: 0.2, frequencyPenalty: 0.1 };
  const withReuse = new ModelGenerator(model, { ...s, seed: 11 });
  const without = new ModelGenerator(model, { ...s, seed: 11, reusePrefix: false });
  let prompt = [...P1];
  for (let k = 0; k < 3; k++) {
    const a = await collect(withReuse, prompt, 7);
    const b = await collect(without, prompt, 7);
    assert.deepEqual(a, await plain(model, prompt, { ...s, seed: 11 + k, maxNewTokens: 7 }), `call ${k}`);
    assert.deepEqual(b, a, `call ${k} without reuse`);
    assert.equal(without.last?.reusedTokens, 0);
    if (k > 0) assert.ok(withReuse.last!.reusedTokens > P1.length);
    prompt = [...prompt, ...a, 3 + k];
  }
});

test('moss-a: stop ids end a call (stop id yielded); abort and early break leave a usable cache', async () => {
  const { model } = loadModel(join(FIXTURES, 'moss-a'));
  const ref = await plain(model, P1, { temperature: 0, maxNewTokens: 10 });
  const g = new ModelGenerator(model, { temperature: 0 });
  const stop = ref[3];
  const upTo = ref.slice(0, ref.indexOf(stop) + 1);
  assert.deepEqual(await collect(g, P1, 10, [stop]), upTo);
  assert.equal(g.last?.finishReason, 'stop');
  // options' own stop ids (e.g. EOS) count too
  const g2 = new ModelGenerator(model, { temperature: 0, stopIds: [stop] });
  assert.deepEqual(await collect(g2, P1, 10), upTo);

  const ac = new AbortController();
  const got: number[] = [];
  for await (const id of g.generate(P1, { stopIds: [], maxNewTokens: 10, signal: ac.signal })) {
    got.push(id);
    if (got.length === 3) ac.abort();
  }
  assert.deepEqual(got, ref.slice(0, 3));
  assert.equal(g.last?.finishReason, 'abort');
  const P2 = [...P1, ...ref.slice(0, 5)];
  assert.deepEqual(await collect(g, P2, 5), await plain(model, P2, { temperature: 0, maxNewTokens: 5 }));
  for await (const id of g.generate([7, 7, 7], { stopIds: [], maxNewTokens: 10 })) if (id >= 0) break;
  assert.deepEqual(await collect(g, P2, 5), await plain(model, P2, { temperature: 0, maxNewTokens: 5 }));
});

test('moss-a: the context bounds the generation and refuses a prompt that fills it', async () => {
  const { model } = loadModel(join(FIXTURES, 'moss-a'));
  const g = new ModelGenerator(model, { temperature: 0, maxContext: 12 });
  assert.equal((await collect(g, P1, 100)).length, 12 - P1.length);
  assert.equal(g.last?.finishReason, 'length');
  await assert.rejects(collect(g, new Array<number>(12).fill(3), 4), /fills the context of 12/);
  await assert.rejects(collect(g, [3, 99], 4), /outside the vocabulary/);
});
