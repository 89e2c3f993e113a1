/**
 * The PM's optional LM loss on the chosen response (`moss train pm --lm-coef`): the NLL computed
 * beside the rewards in one backbone pass equals the policy's own completion log-probabilities
 * (the DPO/SFT path, `logpsOf`) before training, the rewards equal `rewardsOf`, and a run logs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { noGrad } from '../../src/tensor/index.js';
import { BadDataLog } from '../../src/train/corpus.js';
import { loadTrainableMoss } from '../../src/train/model-io.js';
import { readPairs } from '../../src/train/pairs.js';
import { PM_DEFAULTS, trainPm } from '../../src/train/pm.js';
import { logpsOf, rewardsAndNll, rewardsOf } from '../../src/train/pref-batch.js';
import { toRewardModel } from '../../src/train/reward-model.js';
import { tinyMossDir } from './pref-helpers.js';

function setup(): { dir: string; model: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'moss-pmlm-'));
  const model = tinyMossDir(join(dir, 'model'), 11);
  const data = join(dir, 'pairs.jsonl');
  const lines = Array.from({ length: 8 }, (_, i) => JSON.stringify({ context: `<|Human|>: what is ${i}+1?<eoh>\n<|MOSS|>:`, chosen: ` it is ${i + 1}.<eom>`, rejected: ` it is ${i + 2} ok.<eom>` }));
  writeFileSync(data, `${lines.join('\n')}\n`);
  return { dir, model, data };
}

test('pm LM loss on chosen: the NLL equals the policy completion log-probs; rewards unchanged', () => {
  const { model: dir, data } = setup();
  const tok = loadTokenizer(dir);
  const pad = tok.encode('<eom>', { special: 'allow' })[0];
  const pairs = readPairs([data], tok, { context: 512 }, new BadDataLog(null)).slice(0, 3);
  const { model } = loadTrainableMoss(dir, 1);
  const chosen = pairs.map((p) => p.chosen);
  const ref = noGrad(() => logpsOf(model, chosen, pad, 'sigmoid'));
  const want = -ref.logps.toFloat32Array().reduce((s, v) => s + v, 0) / ref.counts.reduce((s, v) => s + v, 0);
  const head = toRewardModel(model, 1, { keepLmHead: true });
  assert.ok(head && head.parameters().every((p) => !p.requiresGrad), 'the kept LM head is frozen');
  const seqs = [...chosen, ...pairs.map((p) => p.rejected)];
  const { rewards, nll } = noGrad(() => rewardsAndNll(model, seqs, pad, head, pairs.length));
  assert.ok(Math.abs(nll.item() - want) < 1e-5, `nll ${nll.item()} vs ${want}`);
  const plain = noGrad(() => rewardsOf(model, seqs, pad)).toFloat32Array();
  rewards.toFloat32Array().forEach((v, i) => assert.ok(Math.abs(v - plain[i]) < 1e-6, `reward ${i}`));
});

test('moss train pm with lmCoef logs lm_loss and exports a PM without the LM head', () => {
  const { dir, model, data } = setup();
  const outDir = join(dir, 'run');
  trainPm({ ...PM_DEFAULTS, outDir, init: model, data: [data], steps: 2, batchSize: 2, evalEvery: 2, logEvery: 1, ckptEvery: 100, lmCoef: 0.5 }, () => {});
  const m = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.ok(m.filter((r) => 'loss' in r).every((r) => r.lm_loss > 0));
  const cfg = JSON.parse(readFileSync(join(outDir, 'final', 'config.json'), 'utf8')) as { architectures: string[] };
  assert.deepEqual(cfg.architectures, ['MossForSequenceClassification']);
});
