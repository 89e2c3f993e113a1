/** LoRA: starts equal to the base, trains adapters only, merge equals the adapter forward, save/load round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLora, loraParameters, mergeLora } from '../../src/nn/lora.js';
import { noGrad, tensor, Generator } from '../../src/tensor/index.js';
import { LOOP_DEFAULTS, trainLoop } from '../../src/train/loop.js';
import { packDocuments } from '../../src/train/data.js';
import { loadLora, saveLora } from '../../src/train/lora-io.js';
import { TinyLM } from './tiny-lm.js';

const ids = tensor([1, 2, 3, 4, 5, 6, 7, 8, 3, 1, 4, 1, 5, 9, 2, 6], [2, 8], { dtype: 'i32' });
const logits = (m: TinyLM) => noGrad(() => m.forward(ids).toFloat32Array());
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => Math.max(s, Math.abs(v - b[i])), 0);

test('LoRA trains adapters only; merged weights give the adapter forward; adapters save and load', () => {
  const m = new TinyLM(17, 16, 2, 3);
  const before = logits(m);
  m.requiresGrad_(false);
  assert.equal(applyLora(m, { rank: 4, alpha: 8, targets: ['qkv', 'fc'], seed: 1 }), 2);
  assert.equal(maxDiff(before, logits(m)), 0); // B = 0: starts at the base model
  const names = loraParameters(m).map(([n]) => n);
  assert.deepEqual(names, ['qkv.lora_A', 'qkv.lora_B', 'fc.lora_A', 'fc.lora_B']);
  const baseW = m.qkv.weight.toFloat32Array();
  const g = new Generator(5);
  const train = packDocuments(Array.from({ length: 8 }, () => Array.from({ length: 8 }, () => g.int(16))), 8, 16);
  trainLoop({ model: m, train, cfg: { ...LOOP_DEFAULTS, outDir: mkdtempSync(join(tmpdir(), 'lora-')), steps: 5, batchSize: 2, lr: 1e-2, warmupSteps: 1, evalEvery: 0, ckptEvery: 0, logEvery: 5 }, config: {}, params: loraParameters(m), saveTrainableOnly: true, log: () => {} });
  assert.deepEqual(m.qkv.weight.toFloat32Array(), baseW, 'base weight unchanged');
  const B = new Map(loraParameters(m)).get('qkv.lora_B')!;
  assert.ok(maxDiff(B.toFloat32Array(), new Float32Array(B.numel)) > 0, 'B trained');
  m.eval();
  const adapted = logits(m);
  assert.ok(maxDiff(adapted, before) > 1e-4);
  const file = join(mkdtempSync(join(tmpdir(), 'lora-')), 'adapter.safetensors');
  saveLora(file, m, { rank: 4, alpha: 8 });
  // a second copy of the base with fresh adapters, loaded from the file, gives the same logits
  const m2 = new TinyLM(17, 16, 2, 3);
  m2.requiresGrad_(false);
  applyLora(m2, { rank: 4, alpha: 8, targets: ['qkv', 'fc'], seed: 99 });
  loadLora(file, m2);
  m2.eval();
  assert.equal(maxDiff(adapted, logits(m2)), 0);
  mergeLora(m);
  assert.deepEqual(loraParameters(m), []);
  assert.ok(maxDiff(adapted, logits(m)) < 1e-5, `merge differs by ${maxDiff(adapted, logits(m))}`);
});
