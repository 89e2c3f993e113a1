/**
 * `moss train pm`: a preference (reward) model from preference pairs, as TRL's RewardTrainer with
 * MOSS's data: the policy's backbone plus a scalar head (`Linear(C, 1, bias=False)`) read at the
 * last real token, Bradley–Terry loss `-logσ(r_c − r_r − margin)`, optional reward centering
 * (`center · mean((r_c + r_r)²)`) and LM loss on the chosen response. Prompt and plugin-result bodies carry no loss as in SFT (only
 * the reward at the final `<eom>` matters here, but the pairs are rendered by the same code as DPO).
 * Reports held-out pairwise accuracy, mean margin and reward mean/std/min/max, saved with the model.
 * Shares the loop (accumulation, bf16, eval, atomic checkpoints, resume, JSONL metrics, plot).
 * With `lmCoef` > 0 also the LM loss on the chosen response (MOSS-RLHF's option), through the
 * policy's LM head kept frozen beside the PM (not trained, not saved).
 * Reads top to bottom like nanoGPT's train.py.
 */
import { join } from 'node:path';
import { LOOP_DEFAULTS, trainLoop, type EvalOutput, type LoopConfig, type LoopResult } from './loop.js';
import { pmLoss } from './losses.js';
import { loadTrainableMoss, startRecipe } from './model-io.js';
import { readPairSplits, type PairItem } from './pairs.js';
import { rewardsAndNll, rewardsOf } from './pref-batch.js';
import { ops } from '../tensor/index.js';
import { exportRewardModel, scoreSeqs, toRewardModel, type RewardStats } from './reward-model.js';

// --- defaults ---
export interface PmConfig extends LoopConfig {
  /** Preference pair files (JSONL). */
  data: string[];
  /** Held-out pair files (default: the last `evalFraction` of the data). */
  evalData: string[];
  /** Policy folder (HF layout) or checkpoint whose backbone starts the PM. */
  init: string;
  tokenizer: string | null;
  /** Longest prompt + response kept, in tokens (longer pairs are skipped, as TRL drops them). */
  context: number;
  evalFraction: number;
  /** Reward centering coefficient (TRL center_rewards_coefficient; 0: off). */
  center: number;
  /** Weight of the LM loss on the chosen response (MOSS-RLHF; 0: off), through the policy's frozen LM head. */
  lmCoef: number;
  resume: boolean;
}

export const PM_DEFAULTS: Omit<PmConfig, 'outDir' | 'data' | 'init'> = {
  ...LOOP_DEFAULTS, steps: 200, batchSize: 8, lr: 1e-4, minLr: 1e-5, warmupSteps: 10, weightDecay: 0, evalEvery: 50, evalBatches: 16,
  ckptEvery: 100, evalData: [], tokenizer: null, context: 512, evalFraction: 0.1, center: 0, lmCoef: 0, resume: false,
};

export function trainPm(cfg: PmConfig, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`), hooks: { haltAfter?: number } = {}): LoopResult & { stats: RewardStats | null } {
  const { tokDir, tok } = startRecipe(cfg, log);
  const pad = tok.encode('<eom>', { special: 'allow' })[0]; // MOSS pads with <eom>: the reward is read from lengths, not pad ids
  // --- data ---
  const { train, held } = readPairSplits(cfg, tok, log);
  // --- model: the policy's backbone with a score head ---
  const { model, configJson } = loadTrainableMoss(cfg.init, cfg.seed);
  const lmHead = toRewardModel(model, cfg.seed, { keepLmHead: cfg.lmCoef > 0 });
  log(`model: ${model.numParameters()} parameters`);
  // --- one micro-batch: chosen rows then rejected rows in one forward ---
  const lossFn = (batch: PairItem[]) => {
    const P = batch.length;
    const seqs = [...batch.map((b) => b.chosen), ...batch.map((b) => b.rejected)];
    const tokens = batch.reduce((s, b) => s + b.chosen.ids.length + b.rejected.ids.length, 0);
    if (!lmHead) {
      const r = rewardsOf(model, seqs, pad); // (2P)
      return { ...pmLoss(r.slice(0, 0, P), r.slice(0, P, 2 * P), { margin: batch.map((b) => b.margin), center: cfg.center }), tokens };
    }
    const { rewards: r, nll } = rewardsAndNll(model, seqs, pad, lmHead, P);
    const { loss, metrics } = pmLoss(r.slice(0, 0, P), r.slice(0, P, 2 * P), { margin: batch.map((b) => b.margin), center: cfg.center });
    return { loss: ops.add(loss, ops.mul(nll, cfg.lmCoef)), metrics: { ...metrics, lm_loss: nll.item() }, tokens };
  };
  const evalFn = (items: readonly PairItem[]): EvalOutput => {
    const e = evaluatePairs(items, (seqs) => scoreSeqs(model, seqs, pad, cfg.batchSize));
    return { loss: e.loss, acc: e.accuracy, margin: e.margin };
  };
  // --- train ---
  const res = trainLoop({ model, train, eval: held, lossFn, evalFn, cfg, config: { ...cfg, model: configJson, role: 'pm' }, resume: cfg.resume, haltAfter: hooks.haltAfter, log, progress: true });
  if (hooks.haltAfter !== undefined && res.step >= hooks.haltAfter) return { ...res, stats: null }; // test hook: a killed run
  // --- reward statistics for normalisation, then export ---
  const all = scoreSeqs(model, train.slice(0, 512).flatMap((p) => [p.chosen, p.rejected]), pad, cfg.batchSize);
  const mean = all.reduce((s, v) => s + v, 0) / all.length;
  const std = Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length);
  const stats: RewardStats = { reward_mean: mean, reward_std: std, reward_min: Math.min(...all), reward_max: Math.max(...all) };
  if (held.length) stats.eval_accuracy = res.evals.at(-1)?.acc;
  log(`held-out pairwise accuracy ${stats.eval_accuracy === undefined ? 'n/a' : `${(100 * stats.eval_accuracy).toFixed(1)}%`}, margin ${res.evals.at(-1)?.margin?.toFixed(3) ?? 'n/a'}; reward mean ${mean.toFixed(3)} std ${std.toFixed(3)}`);
  const final = join(cfg.outDir, 'final');
  exportRewardModel(final, model, configJson, stats, tokDir);
  lmHead?.dispose();
  log(`done: step ${res.step}; preference model in ${final}`);
  return { ...res, stats };
}

/** Pairwise accuracy, mean margin and mean Bradley–Terry loss of a scorer over pairs (whole set). */
export function evaluatePairs(items: readonly PairItem[], score: (seqs: PairItem['chosen'][]) => number[]): { accuracy: number; margin: number; loss: number } {
  const c = score(items.map((p) => p.chosen));
  const r = score(items.map((p) => p.rejected));
  let right = 0;
  let margin = 0;
  let loss = 0;
  c.forEach((v, i) => {
    const d = v - r[i] - items[i].margin;
    if (v > r[i]) right++;
    margin += v - r[i];
    loss += Math.max(-d, 0) + Math.log1p(Math.exp(-Math.abs(d))); // -logσ(d)
  });
  const n = Math.max(items.length, 1);
  return { accuracy: right / n, margin: margin / n, loss: loss / n };
}
