/**
 * The shared training loop: a tiny model overfits a batch; a run killed between checkpoints and
 * resumed follows the uninterrupted loss curve exactly; bf16 trains; metrics and loss.png appear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '../../src/tensor/index.js';
import { LOOP_DEFAULTS, trainLoop, type LoopConfig } from '../../src/train/loop.js';
import { packDocuments, type Row } from '../../src/train/data.js';
import { readMetrics } from '../../src/train/metrics.js';
import { crc32 } from '../../src/train/png.js';
import { TinyLM } from './tiny-lm.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'moss-train-'));

function rows(n: number, T: number, seed: number): Row[] {
  const g = new Generator(seed);
  // a learnable pattern: each doc counts up mod 17 from a random start
  const docs = Array.from({ length: n }, () => {
    const s = g.int(17);
    return Array.from({ length: T }, (_, i) => (s + i) % 16);
  });
  return packDocuments(docs, T, 16);
}

function cfg(outDir: string, o: Partial<LoopConfig> = {}): LoopConfig {
  return { ...LOOP_DEFAULTS, outDir, steps: 10, batchSize: 2, lr: 1e-2, minLr: 1e-3, warmupSteps: 2, evalEvery: 0, ckptEvery: 0, logEvery: 1, ...o };
}

test('a tiny model overfits one batch', () => {
  const train = rows(2, 8, 1).slice(0, 2);
  const r = trainLoop({ model: new TinyLM(), train, cfg: cfg(tmp(), { steps: 60, lr: 3e-2, weightDecay: 0 }), config: {}, log: () => {} });
  assert.ok(r.losses[0].loss > 2, `first loss ${r.losses[0].loss}`);
  assert.ok(r.losses[59].loss < 0.3, `last loss ${r.losses[59].loss}`);
});

test('killed mid-way and resumed: the loss curve equals the uninterrupted run exactly', () => {
  const train = rows(12, 8, 2);
  const evalRows = rows(3, 8, 3);
  const c = { steps: 10, ckptEvery: 3, gradAccum: 2, evalEvery: 4 };
  const dropout = 0.1; // the dropout RNG must be restored too
  const a = trainLoop({ model: new TinyLM(17, 16, 2, 7, 'f32', dropout), train, eval: evalRows, cfg: cfg(tmp(), c), config: {}, log: () => {} });
  const dir = tmp();
  const b1 = trainLoop({ model: new TinyLM(17, 16, 2, 7, 'f32', dropout), train, eval: evalRows, cfg: cfg(dir, c), config: {}, haltAfter: 7, log: () => {} });
  assert.equal(b1.step, 7);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('step-')).sort(), ['step-00000003', 'step-00000006']);
  // a fresh process would start with other RNG state and another model init: resume must overwrite both
  const b2 = trainLoop({ model: new TinyLM(17, 16, 2, 99, 'f32', dropout), train, eval: evalRows, cfg: cfg(dir, c), config: {}, resume: true, log: () => {} });
  assert.deepEqual(b2.losses.map((l) => l.step), [7, 8, 9, 10]);
  for (const l of b2.losses) assert.equal(l.loss, a.losses[l.step - 1].loss, `step ${l.step}`);
  assert.deepEqual(b2.evals.at(-1), a.evals.at(-1));
  // the metrics file reads as one curve: steps 1..10 once each
  const steps = readMetrics(join(dir, 'metrics.jsonl')).filter((m) => 'loss' in m).map((m) => m.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('bf16 weights train through f32 master weights; metrics and a valid loss.png are written', () => {
  const dir = tmp();
  const train = rows(4, 8, 4);
  const r = trainLoop({ model: new TinyLM(17, 16, 2, 5, 'bf16'), train, eval: train, cfg: cfg(dir, { steps: 40, dtype: 'bf16', lr: 3e-2 }), config: { hello: 1 }, log: () => {} });
  assert.ok(r.losses[39].loss < r.losses[0].loss - 1, `${r.losses[0].loss} -> ${r.losses[39].loss}`);
  assert.ok(r.evals.length === 1 && r.evals[0].acc > 0.3);
  const png = readFileSync(join(dir, 'loss.png'));
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const ihdrLen = png.readUInt32BE(8);
  assert.equal(png.readUInt32BE(16 + ihdrLen), crc32(png.subarray(12, 16 + ihdrLen)));
  assert.ok(existsSync(join(dir, 'step-00000040', 'config.json')));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'step-00000040', 'config.json'), 'utf8')), { hello: 1 });
});

test('training steps leave no tensors behind: live allocations stay flat from step 10 to step 40 (f32, bf16, clipping)', () => {
  for (const dtype of ['f32', 'bf16'] as const) {
    const model = new TinyLM(17, 16, 2, 7, dtype);
    const be = model.parameters()[0].backend;
    const live = new Set<object>();
    const { alloc, free } = be;
    const counts: number[] = [];
    be.alloc = (n: number) => {
      const s = alloc.call(be, n);
      live.add(s);
      return s;
    };
    be.free = (s) => {
      live.delete(s);
      free.call(be, s);
    };
    try {
      const train = rows(4, 8, 5);
      for (const steps of [10, 40]) {
        trainLoop({ model, train, cfg: cfg(tmp(), { steps, dtype, clip: 1.0 }), config: {}, log: () => {} });
        counts.push(live.size);
      }
    } finally {
      be.alloc = alloc;
      be.free = free;
    }
    // a second run of 4x the steps on the same model must not hold more memory than the first
    assert.ok(counts[1] <= counts[0], `${dtype}: ${counts[0]} live allocations after 10 steps, ${counts[1]} after 40 more`);
  }
});
