/**
 * Continuous batching equals one-sequence-at-a-time generation token for token: sequences of
 * different prompt lengths join and leave a shared cache at different steps (rows are moved when
 * one finishes), greedy and seeded sampling both. Reference: src/generate's `generateAll` on each
 * prompt alone, on the moss-a fixture model (test/fixtures/models, made by dev/moss_reference.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAll } from '../../src/generate/index.js';
import { loadModel } from '../../src/models/load.js';
import { GREEDY } from '../../src/serve/engine.js';
import { MAX_FORWARD_TOKENS, Scheduler } from '../../src/generate/scheduler.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const { model } = loadModel(join(root, 'test/fixtures/models/moss-a'));

const prompts = [[1, 5, 9, 3], [1, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [4, 4, 4], [1, 30, 31]];
const budgets = [12, 5, 9, 15, 7];

function runScheduler(sampling: typeof GREEDY, slots: number): number[][] {
  const s = new Scheduler(model, slots, 64);
  const out: number[][] = prompts.map(() => []);
  // admit two now, the rest while others decode
  s.add({ id: 0, promptIds: prompts[0], maxNewTokens: budgets[0], stopIds: [], sampling });
  s.add({ id: 1, promptIds: prompts[1], maxNewTokens: budgets[1], stopIds: [], sampling });
  let next = 2;
  for (let step = 0; step < 200 && (next < prompts.length || !s.idle()); step++) {
    if (step % 3 === 2 && next < prompts.length) { s.add({ id: next, promptIds: prompts[next], maxNewTokens: budgets[next], stopIds: [], sampling }); next++; }
    const r = s.step();
    assert.ok(r.batch <= slots);
    for (const [id, t] of r.tokens) out[id].push(t);
  }
  s.dispose();
  return out;
}

test('batched greedy decode equals single-sequence generate', async () => {
  const ref = await Promise.all(prompts.map(async (p, i) => (await generateAll(model, [p], { maxNewTokens: budgets[i] })).ids[0]));
  assert.deepEqual(runScheduler(GREEDY, 3), ref);
  assert.deepEqual(runScheduler(GREEDY, 8), ref);
});

test('seeded sampling per sequence does not depend on batch neighbours', () => {
  const sampling = { ...GREEDY, temperature: 0.9, topK: 20, topP: 0.95, seed: 42, repetitionPenalty: 1.1 };
  const a = runScheduler(sampling, 2);
  const b = runScheduler(sampling, 5);
  assert.deepEqual(a, b);
  assert.ok(a.every((x, i) => x.length === budgets[i]));
});

test('stop ids and cancellation free rows', () => {
  const s = new Scheduler(model, 2, 64);
  s.add({ id: 0, promptIds: [1, 5], maxNewTokens: 50, stopIds: [], sampling: GREEDY });
  s.add({ id: 1, promptIds: [1, 6], maxNewTokens: 50, stopIds: [], sampling: GREEDY });
  s.add({ id: 2, promptIds: [1, 7], maxNewTokens: 3, stopIds: [], sampling: GREEDY });
  s.step();
  assert.equal(s.active, 2);
  assert.equal(s.queued, 1);
  s.cancel(0);
  const r = s.step();
  assert.deepEqual(r.finished, [[0, 'cancelled']]);
  assert.equal(s.active, 2); // id 2 took the freed row
  const first = r.tokens.find(([id]) => id === 1)![1];
  const t = new Scheduler(model, 1, 64);
  t.add({ id: 9, promptIds: [1, 6], maxNewTokens: 50, stopIds: [first], sampling: GREEDY });
  const fins: unknown[] = [];
  for (let i = 0; i < 3; i++) fins.push(...t.step().finished);
  assert.deepEqual(fins, [[9, 'stop']]);
  s.dispose();
  t.dispose();
});

test('decode plans: one per batch size, recorded once and replayed; batched plan output equals generate', async (t) => {
  const be = model.backend as { plan?: () => { run(p: unknown): void } };
  if (!be.plan) return t.skip('backend records no decode plans');
  const ref = (await generateAll(model, [[1, 5, 9]], { maxNewTokens: 10 })).ids[0];
  const orig = be.plan;
  let made = 0, runs = 0;
  be.plan = () => {
    made++;
    const p = orig.call(be);
    const run = p.run.bind(p);
    p.run = (x: unknown) => (runs++, run(x));
    return p;
  };
  try {
    const s = new Scheduler(model, 3, 64);
    s.add({ id: 0, promptIds: [1, 5, 9], maxNewTokens: 10, stopIds: [], sampling: GREEDY });
    const alone: number[] = [];
    for (let i = 0; i < 12 && !s.idle(); i++) for (const [, tok] of s.step().tokens) alone.push(tok);
    assert.equal(made, 1, 'the one-row plan is recorded once and reused');
    assert.ok(runs >= 7, `it replayed the later steps (${runs} runs)`);
    assert.deepEqual(alone, ref);
    // three rows together, then two, then one: plans of 3 and 2 rows (1 exists), each replayed
    s.add({ id: 1, promptIds: [1, 7], maxNewTokens: 9, stopIds: [], sampling: GREEDY });
    s.add({ id: 2, promptIds: [1, 8], maxNewTokens: 6, stopIds: [], sampling: GREEDY });
    s.add({ id: 3, promptIds: [1, 9, 4], maxNewTokens: 8, stopIds: [], sampling: GREEDY });
    const got = new Map<number, number[]>([[1, []], [2, []], [3, []]]);
    const before = runs;
    for (let i = 0; i < 20 && !s.idle(); i++) for (const [id, tok] of s.step().tokens) got.get(id)!.push(tok);
    assert.equal(made, 3, 'plans for 3 and 2 rows (1 row exists)');
    assert.ok(runs - before >= 5, `batched steps replayed their plans (${runs - before} runs)`);
    for (const [id, p, n] of [[1, [1, 7], 9], [2, [1, 8], 6], [3, [1, 9, 4], 8]] as const) {
      assert.deepEqual(got.get(id), (await generateAll(model, [[...p]], { maxNewTokens: n })).ids[0], `sequence ${id}`);
    }
    s.dispose();
  } finally {
    be.plan = orig as typeof be.plan;
  }
});

test('logprobs: prompt log-probabilities (chunked prefill beside a decoding row) and the first pick equal log-softmax of the PyTorch logits', async () => {
  const { readFileSync } = await import('node:fs');
  const e = JSON.parse(readFileSync(join(root, 'test/fixtures/models/moss-a/expected.json'), 'utf8')) as { input_ids: number[][]; logits: number[]; shape: number[] };
  const [, T, V] = e.shape;
  const ref = (b: number, t: number, id: number): number => {
    const row = e.logits.slice((b * T + t) * V, (b * T + t + 1) * V);
    const m = Math.max(...row);
    return row[id] - m - Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  const s = new Scheduler(model, 2, 64, { stepTokens: 3 }); // 1 decoding row + 2-token prompt chunks
  s.add({ id: 9, promptIds: [1, 2], maxNewTokens: 30, stopIds: [], sampling: GREEDY });
  s.step();
  s.add({ id: 0, promptIds: e.input_ids[0], maxNewTokens: 2, stopIds: [], sampling: GREEDY, logprobs: 3, promptLogprobs: true });
  let prompt: unknown[] | undefined;
  const picks: [number, { logprob: number; top: readonly (readonly [number, number])[] }][] = [];
  for (let i = 0; i < 20 && picks.length < 2; i++) {
    const r = s.step();
    for (const [id, lps] of r.prompts ?? []) if (id === 0) prompt = lps;
    for (const [id, t, lp] of r.tokens) if (id === 0) picks.push([t, lp!]);
    assert.ok(r.tokens.every(([id, , lp]) => (id === 0) === (lp !== undefined)), 'only the sequence that asked gets logprobs');
  }
  s.dispose();
  const lps = prompt as ({ logprob: number; top: [number, number][] } | null)[];
  assert.equal(lps.length, T);
  assert.equal(lps[0], null);
  for (let t = 1; t < T; t++) {
    assert.ok(Math.abs(lps[t]!.logprob - ref(0, t - 1, e.input_ids[0][t])) < 1e-4, `prompt position ${t}`);
    assert.equal(lps[t]!.top.length, 3);
  }
  const [first, lp] = picks[0];
  assert.ok(Math.abs(lp.logprob - ref(0, T - 1, first)) < 1e-4);
  assert.equal(lp.top[0][0], first, 'greedy picks the top entry');
});

/** The model, its forward calls' shapes recorded and, with `clock`, each call's cost added to clock.t. */
function recorded(clock?: { t: number; cost: (B: number, T: number) => number }): { m: typeof model; calls: number[][] } {
  const calls: number[][] = [];
  const m: typeof model = {
    info: model.info,
    backend: model.backend,
    newCache: (b, n) => model.newCache(b, n),
    dispose: () => undefined,
    forward: (ids, o) => {
      const [B, T] = ids.shape;
      calls.push([B, T]);
      if (clock) clock.t += clock.cost(B, T);
      return model.forward(ids, o);
    },
  };
  return { m, calls };
}

test('waiting prompts are prefilled in one batched forward, padded to the longest within the padding bound; outputs unchanged', async () => {
  const ps = [[1, 5, 9, 3], [1, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [4, 4, 4]];
  const long = Array.from({ length: 60 }, (_, i) => 3 + ((i * 7) % 40));
  const ref = await Promise.all([...ps, long].map(async (p) => (await generateAll(model, [p], { maxNewTokens: 3 })).ids[0]));
  for (const batchPrefill of [true, false]) {
    const { m, calls } = recorded();
    const s = new Scheduler(m, 5, 64, { batchPrefill });
    [...ps, long].forEach((p, id) => s.add({ id, promptIds: p, maxNewTokens: 3, stopIds: [], sampling: GREEDY }));
    const out: number[][] = ps.map(() => []);
    out.push([]);
    const first = s.step();
    for (const [id, t] of first.tokens) out[id].push(t);
    for (let i = 0; i < 10 && !s.idle(); i++) for (const [id, t] of s.step().tokens) out[id].push(t);
    s.dispose();
    // the four short prompts (4, 2, 11, 3 tokens: 44 padded for 20 real) share a forward, and the
    // 60-token one joins it with its first 11 tokens as the last row (55 rows: within
    // MAX_FORWARD_TOKENS and the padding bound; whole it would pad them to 300 rows for 80); its
    // other 49 tokens get a forward of their own; then one decode step
    assert.deepEqual(calls.slice(0, batchPrefill ? 3 : 6), batchPrefill ? [[5, 11], [1, 49], [5, 1]] : [[1, 4], [1, 2], [1, 11], [1, 3], [1, 60], [5, 1]], `batchPrefill ${batchPrefill}`);
    assert.equal(first.prefilled, batchPrefill ? 55 + 49 : 20 + 60);
    assert.deepEqual(out, ref, `batchPrefill ${batchPrefill}`);
  }
});

for (const fuse of [true, false]) {
  test(`adaptive budget (${fuse ? 'fused into the decode forward' : 'separate prompt forwards'}): chunks beside running streams grow from MIN_CHUNK to what fits the share of a decode step, never past it`, async () => {
    // a fake clock: a forward of B x T tokens costs 4 + B ms when T is 1, else 1 + 0.25 B T ms; so a
    // decode step of 3 rows costs 7 ms; a fused step with a chunk of T tokens 7 + T ms (target: T <= 7
    // at share 1), a separate chunk forward 1 + 0.25 T ms (target: T <= 24)
    const clock = { t: 0, cost: (B: number, T: number) => (T === 1 ? 4 + B : 1 + 0.25 * B * T) };
    const bound = fuse ? 7 : 24;
    const { m } = recorded(clock);
    const s = new Scheduler(m, 4, 64, { stepTokens: 64, prefillShare: 1, now: () => clock.t, fuse });
    const ps = [[1, 5, 9, 3], [1, 7], [4, 4, 4]];
    const long = Array.from({ length: 56 }, (_, i) => 3 + ((i * 11) % 40));
    ps.forEach((p, id) => s.add({ id, promptIds: p, maxNewTokens: 40, stopIds: [], sampling: GREEDY }));
    const out: number[][] = [[], [], [], []];
    for (let i = 0; i < 3; i++) for (const [id, t] of s.step().tokens) out[id].push(t);
    s.add({ id: 3, promptIds: long, maxNewTokens: 4, stopIds: [], sampling: GREEDY });
    const chunks: number[] = [];
    for (let i = 0; i < 200 && !s.idle(); i++) {
      const r = s.step();
      if (r.prefilled && out[3].length === 0) chunks.push(r.prefilled);
      for (const [id, t] of r.tokens) out[id].push(t);
    }
    s.dispose();
    assert.equal(chunks[0], 4, `the first chunk is MIN_CHUNK: ${chunks}`);
    assert.ok(chunks.every((c) => c <= bound), `every chunk fits the share: ${chunks}`);
    assert.ok(chunks.slice(0, -1).every((c, i) => i === 0 || c >= chunks[i - 1]), `chunks grow: ${chunks}`);
    assert.ok(Math.max(...chunks) >= (fuse ? 7 : 16), `chunks reach near the bound: ${chunks}`);
    assert.equal(chunks.reduce((a, b) => a + b, 0), long.length);
    for (const [id, p, n] of [[0, ps[0], 40], [1, ps[1], 40], [2, ps[2], 40], [3, long, 4]] as const) {
      assert.deepEqual(out[id], (await generateAll(model, [[...p]], { maxNewTokens: n })).ids[0], `sequence ${id}`);
    }
  });
}

test('fused step: decode rows and prompt chunks (several prompts, the last part-way) in one forward of one token per row; outputs unchanged', async () => {
  const { m, calls } = recorded();
  const s = new Scheduler(m, 5, 64, { stepTokens: 10, fuse: true }); // 2 decoding rows leave 8 prompt tokens a step
  const ps = [[1, 5, 9, 3], [1, 7], [4, 4, 4], [1, 30, 31], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]];
  const out: number[][] = ps.map(() => []);
  s.add({ id: 0, promptIds: ps[0], maxNewTokens: 12, stopIds: [], sampling: GREEDY });
  s.add({ id: 1, promptIds: ps[1], maxNewTokens: 12, stopIds: [], sampling: GREEDY });
  for (const [id, t] of s.step().tokens) out[id].push(t);
  calls.length = 0;
  for (const id of [2, 3, 4]) s.add({ id, promptIds: ps[id], maxNewTokens: 5, stopIds: [], sampling: GREEDY });
  const r = s.step();
  for (const [id, t] of r.tokens) out[id].push(t);
  // 2 decode tokens + 3 + 3 whole prompts + 2 of the 11-token one: one forward of 10 rows
  assert.deepEqual(calls, [[10, 1]]);
  assert.equal(r.prefilled, 8);
  assert.deepEqual(r.tokens.map(([id]) => id).sort(), [0, 1, 2, 3]);
  assert.equal(s.active, 5);
  for (let i = 0; i < 30 && !s.idle(); i++) for (const [id, t] of s.step().tokens) out[id].push(t);
  s.dispose();
  for (let id = 0; id < ps.length; id++) assert.deepEqual(out[id], (await generateAll(model, [ps[id]], { maxNewTokens: id < 2 ? 12 : 5 })).ids[0], `sequence ${id}`);
});

test('a prompt longer than the forward cap (MAX_FORWARD_TOKENS) is prefilled in forwards of at most that many, in one step; outputs unchanged', async () => {
  assert.equal(MAX_FORWARD_TOKENS, 64);
  const long = Array.from({ length: 40 }, (_, i) => 3 + ((i * 13) % 40));
  const { m, calls } = recorded();
  const s = new Scheduler(m, 2, 64, { maxForwardTokens: 16 });
  s.add({ id: 0, promptIds: long, maxNewTokens: 4, stopIds: [], sampling: GREEDY });
  const out: number[] = [];
  const first = s.step();
  assert.deepEqual(calls, [[1, 16], [1, 16], [1, 8], [1, 1]], 'three prefill forwards, then the decode');
  assert.equal(first.prefilled, 40);
  for (const [, t] of first.tokens) out.push(t);
  for (let i = 0; i < 10 && !s.idle(); i++) for (const [, t] of s.step().tokens) out.push(t);
  s.dispose();
  assert.deepEqual(out, (await generateAll(model, [long], { maxNewTokens: 4 })).ids[0]);
});
