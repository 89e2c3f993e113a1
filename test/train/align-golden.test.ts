/**
 * Preference losses against PyTorch goldens (test/fixtures/align/golden.json, made by
 * dev/align_reference.py with TRL's formulas written out): on a tiny MOSS with padded, uneven
 * batches (three pairs, prompt labels -100, a masked plugin-result span, pad == eos), the PM loss,
 * pooled rewards and gradients, and DPO sigmoid / IPO / SimPO / ORPO / KTO losses, every logged
 * metric and the gradients agree within 1e-5 (f32).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Linear } from '../../src/nn/index.js';
import { tensor, tidy } from '../../src/tensor/index.js';
import { dpoLoss, lastTokenIndex, pmLoss, type DpoLossType } from '../../src/train/losses.js';
import { loadTrainableMoss } from '../../src/train/model-io.js';
import type { PairItem } from '../../src/train/pairs.js';
import { logpsOf, padIds, rewardsOf } from '../../src/train/pref-batch.js';
import { logpsAll } from '../../src/train/reference.js';
import { ROOT } from '../models/helpers.js';

const DIR = join(ROOT, 'test', 'fixtures', 'align');
interface Golden {
  eos: number;
  pairs: PairItem[];
  score_weight: number[];
  grad_names: string[];
  pm: { center: number; loss: number; rewards: number[]; accuracy: number; margin: number; grads: Record<string, number[]>; grad_sq_sum: number; mask_index: number[]; hf_index_pad_eq_eos: number[]; hf_index_pad_ne_eos: number[]; mask_index_pad_ne_eos: number[] }[];
  dpo: { loss_type: DpoLossType; beta: number; gamma: number; loss: number; metrics: Record<string, number>; policy_logps: number[]; ref_logps: number[]; grads: Record<string, number[]>; grad_sq_sum: number }[];
}
const G = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as Golden;
const TOL = 1e-5;

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  assert.ok(worst <= tol, `${what}: max error ${worst.toExponential(2)} > ${tol}`);
}

const seqs = () => [...G.pairs.map((p) => p.chosen), ...G.pairs.map((p) => p.rejected)];

function gradsMatch(named: Map<string, { grad: { toFloat32Array(): Float32Array } | null }>, want: Record<string, number[]>, sq: number, what: string): void {
  for (const [n, g] of Object.entries(want)) close(named.get(n)!.grad!.toFloat32Array(), g, `${what} grad ${n}`);
  let total = 0;
  for (const [, p] of named) for (const v of p.grad?.toFloat32Array() ?? []) total += v * v;
  close([total], [sq], `${what} sum of squared gradients`);
}

test('pooled reward index: from the attention mask (last real token), equal to HF when pad != eos and still right when pad == eos', () => {
  const pm = G.pm[0];
  const s = seqs();
  assert.deepEqual(lastTokenIndex(padIds(s, G.eos).mask), pm.mask_index);
  assert.deepEqual(lastTokenIndex(padIds(s, 0).mask), pm.hf_index_pad_ne_eos);
  assert.deepEqual(pm.mask_index_pad_ne_eos, pm.hf_index_pad_ne_eos);
  assert.notDeepEqual(pm.hf_index_pad_eq_eos, pm.mask_index, 'the golden shows HF pooling before the final eos when pad == eos');
  for (const [i, q] of s.entries()) assert.equal(q.ids[pm.mask_index[i]], G.eos, 'the reward is read at the final eos');
});

for (const [ci, pm] of G.pm.entries()) {
  test(`PM loss, rewards, accuracy and gradients equal PyTorch (center ${pm.center})`, () => {
    const { model } = loadTrainableMoss(join(DIR, 'policy'));
    model.lm_head.dispose();
    model.lm_head = new Linear(tensor(G.score_weight, [1, G.score_weight.length], { requiresGrad: true }).keep(), null);
    tidy(() => {
      const P = G.pairs.length;
      const r = rewardsOf(model, seqs(), G.eos);
      close(r.toFloat32Array(), pm.rewards, 'rewards');
      const { loss, metrics } = pmLoss(r.slice(0, 0, P), r.slice(0, P, 2 * P), { margin: G.pairs.map((p) => p.margin), center: pm.center });
      close([loss.item()], [pm.loss], 'loss');
      close([metrics.accuracy, metrics.margin], [pm.accuracy, pm.margin], 'accuracy, margin');
      loss.backward();
    });
    const named = new Map(model.namedParameters().map(([n, p]) => [n === 'lm_head.weight' ? 'score.weight' : n, p]));
    gradsMatch(named, pm.grads, pm.grad_sq_sum, `pm ${ci}`);
    model.dispose();
  });
}

for (const c of G.dpo) {
  test(`DPO ${c.loss_type}: loss, TRL metrics and gradients equal PyTorch (reference model from its own folder)`, () => {
    const { model } = loadTrainableMoss(join(DIR, 'policy'));
    const { model: ref } = loadTrainableMoss(join(DIR, 'reference'));
    const ref1 = logpsAll(ref, seqs(), G.eos, c.loss_type, 4); // batches of 4: other padding than the policy's batch of 6
    close(ref1, c.ref_logps, 'reference logps');
    const P = G.pairs.length;
    tidy(() => {
      const { logps, nll } = logpsOf(model, seqs(), G.eos, c.loss_type, c.loss_type === 'orpo' ? P : 0);
      close(logps.toFloat32Array(), c.policy_logps, 'policy logps');
      const { loss, metrics } = dpoLoss({
        chosen: logps.slice(0, 0, P), rejected: logps.slice(0, P, 2 * P), nllChosen: nll,
        refChosen: ref1.slice(0, P), refRejected: ref1.slice(P),
      }, { loss: c.loss_type, beta: c.beta, gamma: c.gamma });
      close([loss.item()], [c.loss], 'loss');
      assert.deepEqual(Object.keys(metrics).sort(), Object.keys(c.metrics).sort());
      for (const [k, v] of Object.entries(c.metrics)) close([metrics[k]], [v], `metric ${k}`);
      loss.backward();
    });
    gradsMatch(new Map(model.namedParameters()), c.grads, c.grad_sq_sum, c.loss_type);
    model.dispose();
    ref.dispose();
  });
}
