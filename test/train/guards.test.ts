/**
 * The loop guards its results: NaN/Inf losses stop the run naming the step (after --nan-tolerance
 * skipped steps) and never become a checkpoint; checkpoints carry checksums; a corrupted, all-NaN
 * or garbage checkpoint is refused on resume with the file named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, ops, tensor } from '../../src/tensor/index.js';
import { LOOP_DEFAULTS, trainLoop, type LoopConfig } from '../../src/train/loop.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { packDocuments, type Row } from '../../src/train/data.js';
import type { View } from '../../src/backends/backend.js';
import { TinyLM } from './tiny-lm.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'moss-guard-'));
const rows = (): Row[] => {
  const g = new Generator(3);
  return packDocuments(Array.from({ length: 8 }, () => Array.from({ length: 8 }, (_, i) => (g.int(16) + i) % 16)), 8, 16);
};
const cfg = (outDir: string, o: Partial<LoopConfig> = {}): LoopConfig =>
  ({ ...LOOP_DEFAULTS, outDir, steps: 8, batchSize: 2, lr: 1e-2, minLr: 1e-3, warmupSteps: 1, evalEvery: 0, ckptEvery: 2, logEvery: 1, ...o });

/** The default LM loss, made NaN on the given (1-based) steps. */
function nanOn(model: TinyLM, steps: Set<number>) {
  let calls = 0;
  return (batch: Row[]) => {
    calls++;
    const ids = tensor(Int32Array.from(batch.flatMap((r) => [...r.input])), [batch.length, 8], { dtype: 'i32' });
    const tg = tensor(Int32Array.from(batch.flatMap((r) => [...r.target])), [batch.length * 8], { dtype: 'i32' });
    const loss = ops.crossEntropy(model.forward(ids).reshape(-1, 17), tg);
    return { loss: steps.has(calls) ? ops.mul(loss, NaN) : loss };
  };
}

test('a NaN loss stops the run naming the step; no NaN checkpoint is written or rotated in', () => {
  const dir = tmp();
  const model = new TinyLM();
  assert.throws(
    () => trainLoop({ model, train: rows(), cfg: cfg(dir, { keepLast: 1 }), config: {}, lossFn: nanOn(model, new Set([5, 6, 7, 8])), log: () => {} }),
    /^Error: step 5: loss NaN, gradient norm NaN: 1 non-finite step\(s\) in a row, more than --nan-tolerance 0; training stopped, no checkpoint written \(the last good one: .*step-00000004\)/,
  );
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('step-')), ['step-00000004']);
  loadCheckpoint(dir); // finite and intact
});

test('--nan-tolerance N: up to N bad steps in a row are skipped without an update, N+1 stop the run', () => {
  const lines: string[] = [];
  const model = new TinyLM();
  const r = trainLoop({ model, train: rows(), cfg: cfg(tmp(), { nanTolerance: 2 }), config: {}, lossFn: nanOn(model, new Set([3, 4, 6, 7])), log: (l) => lines.push(l) });
  assert.equal(r.step, 8);
  assert.equal(lines.filter((l) => /not finite, update skipped/.test(l)).length, 4);
  assert.ok(Number.isFinite(r.losses[7].loss));
  const m2 = new TinyLM();
  assert.throws(() => trainLoop({ model: m2, train: rows(), cfg: cfg(tmp(), { nanTolerance: 2 }), config: {}, lossFn: nanOn(m2, new Set([2, 3, 4])), log: () => {} }), /^Error: step 4: .*3 non-finite step\(s\) in a row, more than --nan-tolerance 2/);
});

test('an exploding learning rate (lr 1e6) ends in an error, never in "done" with NaN weights saved', () => {
  const dir = tmp();
  assert.throws(() => trainLoop({ model: new TinyLM(), train: rows(), cfg: cfg(dir, { lr: 1e6, minLr: 1e6, steps: 30, clip: 0 }), config: {}, log: () => {} }), /^Error: step \d+: (loss|.* is not finite)/);
  for (const n of readdirSync(dir).filter((x) => x.startsWith('step-'))) loadCheckpoint(join(dir, n)); // whatever was saved is finite
});

test('checkpoints carry checksums; a corrupted file, all-NaN weights or a garbage state.json are refused naming the file', () => {
  const dir = tmp();
  trainLoop({ model: new TinyLM(), train: rows(), cfg: cfg(dir, { steps: 2 }), config: {}, log: () => {} });
  const ck = join(dir, 'step-00000002');
  const sums = JSON.parse(readFileSync(join(ck, 'checksums.json'), 'utf8')) as { sha256: Record<string, string> };
  assert.deepEqual(Object.keys(sums.sha256).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors']);
  // one flipped byte in the weights
  const f = join(ck, 'model.safetensors');
  const good = readFileSync(f);
  const bad = Buffer.from(good);
  bad[bad.length - 3] ^= 0x40;
  writeFileSync(f, bad);
  const resume = () => trainLoop({ model: new TinyLM(), train: rows(), cfg: cfg(dir, { steps: 4 }), config: {}, resume: true, log: () => {} });
  assert.throws(resume, new RegExp(`^Error: ${f.replace(/[.]/g, '\\.')}: checksum mismatch`));
  writeFileSync(f, good);
  // garbage state.json
  const st = join(ck, 'state.json');
  const state = readFileSync(st);
  writeFileSync(st, '{"step": 2, "rng": [');
  assert.throws(resume, new RegExp(`^Error: ${st.replace(/[.]/g, '\\.')}: not valid JSON`));
  writeFileSync(st, state);
  resume();
  // an all-NaN checkpoint written with valid checksums (e.g. by an older version) is still refused
  const nanDir = tmp();
  const nan = tensor(new Float32Array(4).fill(NaN), [2, 2]);
  saveCheckpoint(nanDir, 1, { model: new Map<string, View>([['w', nan]]), optimizer: new Map(), state: { step: 1 }, config: {} });
  assert.throws(() => loadCheckpoint(nanDir), /step-00000001[/\\]model\.safetensors: not finite: w \(4 of 4 values NaN\/Inf\); refusing to load it/);
});
