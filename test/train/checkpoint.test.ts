/** Checkpoints: atomic writes (a failed or interrupted write leaves no visible checkpoint), keep-last-N, round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, zeros } from '../../src/tensor/index.js';
import { copyInto, latestCheckpoint, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import type { View } from '../../src/backends/backend.js';

const parts = (v: number) => ({
  model: new Map<string, View>([['w', tensor([v, v + 1, v + 2, v + 3], [2, 2])]]),
  optimizer: new Map<string, View>([['0.0.exp_avg', tensor([v], [1])]]),
  state: { step: v },
  config: { v },
});

test('save, list, load and copy back; only the last N are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-ckpt-'));
  for (const s of [1, 2, 3, 4]) saveCheckpoint(dir, s, parts(s), 2);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [3, 4]);
  const ck = loadCheckpoint(dir);
  assert.deepEqual(ck.state, { step: 4 });
  const w = zeros([2, 2]);
  copyInto(new Map([['w', w]]), ck.model, 'test');
  assert.deepEqual(w.toArray(), [4, 5, 6, 7]);
  assert.throws(() => copyInto(new Map([['w', zeros([4])]]), ck.model, 'test'), /shape \[2,2\] in the checkpoint, \[4\] here/);
});

test('a write that fails half-way leaves the previous checkpoint as the latest and no debris', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-ckpt-'));
  saveCheckpoint(dir, 1, parts(1));
  const bad = parts(2);
  // q8_0 cannot be stored in safetensors: model.safetensors is written, optimizer.safetensors then fails
  bad.optimizer.set('x', { ...tensor([0], [1]), dtype: 'q8_0' } as View);
  assert.throws(() => saveCheckpoint(dir, 2, bad), /cannot be stored/);
  assert.deepEqual(readdirSync(dir), ['step-00000001']);
  assert.equal(latestCheckpoint(dir), join(dir, 'step-00000001'));
});

test('debris of a killed writer (temp folder, folder without state.json) is never taken for a checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-ckpt-'));
  saveCheckpoint(dir, 5, parts(5));
  mkdirSync(join(dir, '.tmp-step-00000009-123'));
  writeFileSync(join(dir, '.tmp-step-00000009-123', 'model.safetensors'), 'partial');
  mkdirSync(join(dir, 'step-00000010'));
  assert.equal(latestCheckpoint(dir), join(dir, 'step-00000005'));
  assert.equal(loadCheckpoint(dir).state.step, 5);
});
