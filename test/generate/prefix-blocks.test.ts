/**
 * The prefix cache and chunked prefill change no output: greedy streams of the continuous-batching
 * scheduler equal plain single-sequence `generateAll` token for token with the block prefix cache
 * on or off and with or without a per-step token budget, on the moss-a and llama-gqa fixtures; the
 * chat loop's generator reuses another generator's blocks and still equals `generateAll`. A pool
 * too small for one sequence is refused naming the minimum; a stress run with many overlapping
 * prefixes, a pool barely above that minimum and random cancellations checks after every step that
 * no block a running sequence pins was evicted and that the pool's bookkeeping is whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateAll } from '../../src/generate/index.js';
import { blockBytes, minPrefixCacheMb, PrefixCache } from '../../src/generate/prefix-blocks.js';
import { ModelGenerator } from '../../src/generate/prefix-cache.js';
import { Scheduler } from '../../src/generate/scheduler.js';
import { Generator } from '../../src/tensor/index.js';
import { loadModel } from '../../src/models/load.js';
import type { CausalLM } from '../../src/models/types.js';
import { GREEDY } from '../../src/serve/engine.js';
import { WorkerEngine } from '../../src/serve/worker-engine.js';
import type { Tokenizer } from '../../src/tokenizer/types.js';
import { FIXTURES } from '../models/helpers.js';

const CTX = 64;
const BS = 4;
const HEADER = [1, 9, 3, 17, 2, 8, 11, 5, 6, 21, 22, 23, 30]; // 13 tokens: 3 full blocks shared
/** Prompts sharing HEADER (and some a longer turn), as turns of conversations do. */
const PROMPTS = [[...HEADER, 4], [...HEADER, 4, 7, 7, 9, 12, 31, 32], [...HEADER, 33, 34, 35, 36, 37, 38, 39, 10, 11, 12, 13], [1, 9, 3, 17, 34], [...HEADER, 4, 7, 7, 9, 12, 31, 32, 3, 3]];
const BUDGETS = [9, 6, 12, 5, 10];

async function reference(model: CausalLM): Promise<number[][]> {
  return Promise.all(PROMPTS.map(async (p, i) => (await generateAll(model, [p], { ...GREEDY, maxNewTokens: BUDGETS[i] })).ids[0]));
}

function runScheduler(model: CausalLM, slots: number, o: { pool?: PrefixCache; stepTokens?: number; prefillShare?: number; batchPrefill?: boolean; fuse?: boolean }, rounds = 2): number[][] {
  const s = new Scheduler(model, slots, CTX, { prefixCache: o.pool, stepTokens: o.stepTokens, prefillShare: o.prefillShare, batchPrefill: o.batchPrefill, fuse: o.fuse });
  const out: number[][] = [];
  // the same prompts twice: the second round finds the first round's blocks
  for (let round = 0; round < rounds; round++) {
    const got: number[][] = PROMPTS.map(() => []);
    PROMPTS.forEach((p, i) => s.add({ id: i, promptIds: p, maxNewTokens: BUDGETS[i], stopIds: [], sampling: GREEDY }));
    for (let k = 0; k < 500 && !s.idle(); k++) for (const [id, t] of s.step().tokens) got[id].push(t);
    out.push(...got);
  }
  s.dispose();
  return out;
}

for (const name of ['moss-a', 'llama-gqa']) {
  test(`${name}: greedy output is the same with and without the prefix cache and chunked prefill`, async () => {
    const { model } = loadModel(join(FIXTURES, name));
    const ref = await reference(model);
    const twice = [...ref, ...ref];
    assert.deepEqual(runScheduler(model, 3, {}), twice, 'plain');
    // batched prefill (the default: rows of different cached prefixes padded to one chunk), one
    // prompt per forward, fixed budgets, and the adaptive budget (chunks sized from real timings)
    // and chunks fused into the decode forward (fuse)
    for (const [stepTokens, prefillShare, batchPrefill, fuse] of [[0, 0, true, false], [0, 0, false, false], [5, 0, true, false], [9, 0, true, false], [64, 0.6, true, false], [64, 0.05, true, false], [5, 0, true, true], [9, 0, false, true], [64, 0.05, true, true]] as const) {
      const pool = new PrefixCache(model, { mb: 1, maxTokens: CTX, blockTokens: BS });
      const what = `prefix cache, step budget ${stepTokens}, share ${prefillShare}, batchPrefill ${batchPrefill}, fuse ${fuse}`;
      assert.deepEqual(runScheduler(model, 3, { pool, stepTokens, prefillShare, batchPrefill, fuse }), twice, what);
      assert.ok(pool.hits >= 4, `${what}: the shared header was reused (${pool.hits} hits)`);
      pool.check();
      pool.dispose();
    }
    assert.deepEqual(runScheduler(model, 2, { stepTokens: 3 }), twice, 'chunked prefill alone, 1 token of prompt per step');
    assert.deepEqual(runScheduler(model, 4, { stepTokens: 64, prefillShare: 0.3 }), twice, 'adaptive budget, no prefix cache');
    assert.deepEqual(runScheduler(model, 4, { stepTokens: 7, fuse: true }), twice, 'fused chunks, no prefix cache');
    model.dispose();
  });
}

test('the chat loop generator reuses blocks another generator stored, output unchanged', async () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'));
  const pool = new PrefixCache(model, { mb: 1, maxTokens: CTX, blockTokens: BS });
  const a = new ModelGenerator(model, { temperature: 0, maxContext: CTX, prefixCache: pool });
  const b = new ModelGenerator(model, { temperature: 0, maxContext: CTX, prefixCache: pool });
  const collect = async (g: ModelGenerator, p: number[]): Promise<number[]> => {
    const out: number[] = [];
    for await (const id of g.generate(p, { stopIds: [], maxNewTokens: 8 })) out.push(id);
    return out;
  };
  const ref = async (p: number[]): Promise<number[]> => (await generateAll(model, [p], { ...GREEDY, maxNewTokens: 8 })).ids[0];
  assert.deepEqual(await collect(a, PROMPTS[1]), await ref(PROMPTS[1]));
  assert.deepEqual(await collect(b, PROMPTS[4]), await ref(PROMPTS[4]));
  assert.equal(b.last?.reusedTokens, 20, 'b found the 5 blocks of a\'s prompt');
  pool.check();
  a.dispose();
  b.dispose();
  pool.dispose();
  model.dispose();
});

test('a prefix cache too small for one sequence is refused, naming the minimum', () => {
  const { model } = loadModel(join(FIXTURES, 'moss-a'));
  const min = minPrefixCacheMb(model.info, 2048, BS);
  assert.throws(() => new PrefixCache(model, { mb: 0.01, maxTokens: 2048, blockTokens: BS }), (e: Error) => {
    assert.match(e.message, /--prefix-cache-mb 0\.01 holds \d+ blocks of 4 tokens, fewer than one sequence of 2048 tokens needs \(512\)/);
    assert.ok(e.message.includes(`give at least ${min}`), e.message);
    return true;
  });
  new PrefixCache(model, { mb: min, maxTokens: 2048, blockTokens: BS }).dispose(); // the minimum itself is enough
  model.dispose();
});

test('moss serve\'s worker refuses a too small --prefix-cache-mb at start, naming the minimum', async () => {
  const path = join(FIXTURES, 'moss-a');
  const tokenizer = {} as Tokenizer; // never used: the worker fails while loading
  await assert.rejects(WorkerEngine.start({ modelPath: path, tokenizer, modelId: 'a', slots: 2, ctx: 64, prefixCacheMb: 0.001 }), /--prefix-cache-mb 0\.001 holds 0 blocks of 32 tokens, fewer than one sequence of 64 tokens needs \(2\): give at least 1 \(or 0/);
});

test('stress: overlapping prefixes, a pool at its minimum, random cancellations: pinned blocks are never evicted', async () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'));
  const rng = new Generator(7);
  const r = (n: number): number => Math.floor(rng.uniform() * n);
  // a few trunks and branches: prompts share 0-5 blocks with each other
  const trunks = Array.from({ length: 3 }, () => Array.from({ length: 24 }, () => 3 + r(35)));
  const prompts = Array.from({ length: 60 }, () => {
    const t = trunks[r(3)];
    return [...t.slice(0, 1 + r(24)), ...Array.from({ length: r(12) }, () => 3 + r(35))];
  });
  const mb = ((CTX / BS + 0.5) * blockBytes(model.info, BS)) / 2 ** 20; // one sequence's blocks, no more
  const pool = new PrefixCache(model, { mb, maxTokens: CTX, blockTokens: BS });
  // the adaptive budget on a fake clock that jitters: chunk sizes vary from step to step
  let t = 0;
  const s = new Scheduler(model, 4, CTX, { prefixCache: pool, stepTokens: 12, prefillShare: 0.5, now: () => (t += 1 + r(4)) });
  const f = new Scheduler(model, 3, CTX, { prefixCache: pool, stepTokens: 9, fuse: true }); // a second scheduler on the same pool, fused steps
  const budgets = prompts.map(() => 2 + r(10));
  const got: number[][] = prompts.map(() => []);
  const cancelled = new Set<number>();
  let next = 0;
  const of = (id: number): Scheduler => (id % 2 ? f : s);
  for (let k = 0; k < 3000 && (next < prompts.length || !s.idle() || !f.idle()); k++) {
    while (next < prompts.length && r(3) === 0) {
      of(next).add({ id: next, promptIds: prompts[next], maxNewTokens: budgets[next], stopIds: [], sampling: GREEDY });
      next++;
    }
    if (next > 0 && r(5) === 0) {
      const id = r(next);
      if (!cancelled.has(id)) {
        cancelled.add(id);
        of(id).cancel(id);
      }
    }
    for (const x of [s, f]) for (const [id, t] of x.step().tokens) got[id].push(t);
    pool.check();
    for (const blocks of [...s.held(), ...f.held()]) for (const b of blocks) assert.ok(pool.has(b) && b.pins > 0, `a running sequence's block ${b.id} is still cached and pinned`);
  }
  assert.ok(s.idle() && f.idle());
  assert.ok(pool.evictions > 0, `the pool was under pressure (${pool.evictions} evictions)`);
  assert.ok(pool.hits > 10, `prefixes were reused (${pool.hits} hits)`);
  // sequences that ran to the end equal plain generation (a cancelled one is a prefix of it)
  for (let i = 0; i < prompts.length; i++) {
    const ref = (await generateAll(model, [prompts[i]], { ...GREEDY, maxNewTokens: budgets[i] })).ids[0];
    if (cancelled.has(i)) assert.deepEqual(got[i], ref.slice(0, got[i].length), `sequence ${i} (cancelled)`);
    else assert.deepEqual(got[i], ref, `sequence ${i}`);
  }
  s.dispose();
  f.dispose();
  pool.dispose();
  model.dispose();
});

test('n samples of one prompt: one prefill, then the others batched from its cached blocks', async () => {
  const { model } = loadModel(join(FIXTURES, 'llama-gqa'));
  const calls: number[][] = [];
  const m: CausalLM = { info: model.info, backend: model.backend, newCache: (b, n) => model.newCache(b, n), dispose: () => undefined, forward: (ids, o) => (calls.push([...ids.shape]), model.forward(ids, o)) };
  const pool = new PrefixCache(model, { mb: 1, maxTokens: CTX, blockTokens: BS });
  const s = new Scheduler(m, 5, CTX, { prefixCache: pool });
  const p = PROMPTS[1]; // 20 tokens: 4 whole blocks are reused, 4 tokens prefilled per sample
  for (let id = 0; id < 4; id++) s.add({ id, promptIds: p, maxNewTokens: 5, stopIds: [], sampling: GREEDY });
  s.add({ id: 4, promptIds: PROMPTS[3], maxNewTokens: 5, stopIds: [], sampling: GREEDY }); // shares 1 block: batched with them
  const got: number[][] = [[], [], [], [], []];
  for (let k = 0; k < 20 && !s.idle(); k++) for (const [id, t] of s.step().tokens) got[id].push(t);
  assert.deepEqual(calls.slice(0, 3), [[1, 20], [4, 4], [5, 1]], 'the first sample alone, then 3 samples + the other prompt in one forward, then the decode');
  assert.equal(s.reusedTokens, 3 * 16 + 4);
  const ref = (await generateAll(model, [p], { ...GREEDY, maxNewTokens: 5 })).ids[0];
  assert.deepEqual(got, [ref, ref, ref, ref, (await generateAll(model, [PROMPTS[3]], { ...GREEDY, maxNewTokens: 5 })).ids[0]]);
  pool.check();
  s.dispose();
  pool.dispose();
  model.dispose();
});
