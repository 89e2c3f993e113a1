/**
 * `moss train dpo`: direct preference optimisation of a policy on preference pairs, with TRL's
 * losses and logged metric names (src/train/losses.ts): `sigmoid` (DPO), `ipo`, `simpo`, `orpo`
 * and `kto` (pairs read as unpaired desirable / undesirable examples). Completion log-probs are
 * summed over completion tokens only, with the SFT label mask (no loss on the prompt, the meta
 * instruction or plugin result bodies). The reference (sigmoid, ipo, kto) is precomputed once into
 * `<out>/ref-logps.json` (./reference.ts): from the initial policy itself, before LoRA adapters are
 * added, or from `--ref <model>` (same tokenizer required). Full fine-tuning or LoRA; the result is
 * an HF folder like SFT's (LoRA merged). Reads top to bottom like nanoGPT's train.py.
 * Not here: online sampling (RLHF/PPO), reference models kept in memory during training.
 */
import { join } from 'node:path';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { Batcher } from './data.js';
import { LOOP_DEFAULTS, trainLoop, type EvalOutput, type LoopConfig, type LoopResult } from './loop.js';
import { DPO_LOSSES, dpoLoss, needsReference, type DpoLossType, type Metrics } from './losses.js';
import { addLora, exportFinal, loadTrainableMoss, startRecipe, type LoraSettings } from './model-io.js';
import { readPairSplits, type PairItem } from './pairs.js';
import { logpsOf } from './pref-batch.js';
import { checkSameTokenizer, logpsAll, referenceLogps } from './reference.js';

// --- defaults ---
export interface DpoConfig extends LoopConfig, LoraSettings {
  data: string[];
  evalData: string[];
  /** Policy folder (HF layout) or checkpoint to start from. */
  init: string;
  /** Reference model folder (default: the initial policy). */
  ref: string | null;
  tokenizer: string | null;
  loss: DpoLossType;
  beta: number;
  /** SimPO's margin γ. */
  gamma: number;
  context: number;
  evalFraction: number;
  resume: boolean;
}

export const DPO_DEFAULTS: Omit<DpoConfig, 'outDir' | 'data' | 'init'> = {
  ...LOOP_DEFAULTS, steps: 200, batchSize: 8, lr: 5e-6, minLr: 5e-7, warmupSteps: 10, weightDecay: 0, evalEvery: 50, evalBatches: 16,
  ckptEvery: 100, evalData: [], ref: null, tokenizer: null, loss: 'sigmoid', beta: 0.1, gamma: 0.5, context: 512, evalFraction: 0.1,
  loraRank: 0, loraAlpha: 16, loraDropout: 0, loraTargets: ['qkv_proj', 'out_proj'], resume: false,
};

/** A pair with its reference log-probs (NaN when the loss needs none). */
export type DpoItem = PairItem & { refChosen: number; refRejected: number };

export function trainDpo(cfg: DpoConfig, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`), hooks: { haltAfter?: number } = {}): LoopResult {
  if (!DPO_LOSSES.includes(cfg.loss)) throw new Error(`--loss ${String(cfg.loss)}: expected one of ${DPO_LOSSES.join(', ')}`);
  const { tokDir, tok } = startRecipe(cfg, log);
  const pad = tok.encode('<eom>', { special: 'allow' })[0];
  // --- data ---
  const { train, held } = readPairSplits(cfg, tok, log);
  // --- policy, and reference log-probs computed once (before any adapter exists) ---
  const { model, configJson } = loadTrainableMoss(cfg.init, cfg.seed);
  const withRef = (items: PairItem[], ref: { chosen: Float32Array; rejected: Float32Array } | null, off: number): DpoItem[] =>
    items.map((p, i) => ({ ...p, refChosen: ref ? ref.chosen[off + i] : NaN, refRejected: ref ? ref.rejected[off + i] : NaN }));
  const trainItems = withRef(train, null, 0);
  let heldItems = withRef(held, null, 0);
  if (needsReference(cfg.loss)) {
    // only the pairs this run will draw (the batch order is a function of the seed) and the held-out ones
    const order = new Batcher(train.map((_, i) => i), cfg.batchSize, cfg.seed);
    const used = new Set<number>();
    for (let s = 0; s < cfg.steps * cfg.gradAccum && used.size < train.length; s++) for (const i of order.next()) used.add(i);
    const visit = [...used].sort((a, b) => a - b);
    const refModel = cfg.ref ? loadTrainableMoss(cfg.ref, cfg.seed).model : model;
    if (cfg.ref) checkSameTokenizer(tok, tokDir, loadTokenizer(cfg.ref), cfg.ref);
    const ref = referenceLogps(cfg.outDir, refModel, [...visit.map((i) => train[i]), ...held], pad, cfg.loss, cfg.batchSize);
    if (refModel !== model) refModel.dispose();
    log(`reference log-probs for ${visit.length + held.length} pairs ${ref.cached ? 'read from' : 'written to'} ${join(cfg.outDir, 'ref-logps.json')}`);
    visit.forEach((i, k) => (trainItems[i] = { ...train[i], refChosen: ref.chosen[k], refRejected: ref.rejected[k] }));
    heldItems = withRef(held, ref, visit.length);
  }
  const params = addLora(model, cfg, log);
  log(`model: ${model.numParameters()} parameters; loss ${cfg.loss}, beta ${cfg.beta}`);
  // --- one micro-batch: chosen rows then rejected rows in one forward ---
  const opts = { loss: cfg.loss, beta: cfg.beta, gamma: cfg.gamma };
  const batchLoss = (batch: DpoItem[]) => {
    const P = batch.length;
    const { logps, nll } = logpsOf(model, [...batch.map((b) => b.chosen), ...batch.map((b) => b.rejected)], pad, cfg.loss, cfg.loss === 'orpo' ? P : 0);
    return dpoLoss({
      chosen: logps.slice(0, 0, P), rejected: logps.slice(0, P, 2 * P), nllChosen: nll,
      refChosen: Float32Array.from(batch, (b) => b.refChosen), refRejected: Float32Array.from(batch, (b) => b.refRejected),
    }, opts);
  };
  const lossFn = (batch: DpoItem[]) => ({ ...batchLoss(batch), tokens: batch.reduce((s, b) => s + b.chosen.ids.length + b.rejected.ids.length, 0) });
  const evalFn = (items: readonly DpoItem[]): EvalOutput => evaluateDpo(items, (seqs) => logpsAll(model, seqs, pad, cfg.loss, cfg.batchSize), opts);
  // --- train ---
  const res = trainLoop({ model, train: trainItems, eval: heldItems, lossFn, evalFn, cfg, config: { ...cfg, model: configJson, role: 'policy' }, params, saveTrainableOnly: cfg.loraRank > 0, resume: cfg.resume, haltAfter: hooks.haltAfter, log, progress: true });
  if (hooks.haltAfter !== undefined && res.step >= hooks.haltAfter) return res; // test hook: a killed run
  const last = res.evals.at(-1);
  if (last) log(`held-out rewards/accuracies ${(100 * last.acc).toFixed(1)}%, rewards/margins ${last['rewards/margins'].toFixed(4)}`);
  // --- export: LoRA merged into the base ---
  const final = exportFinal(cfg.outDir, model, configJson, tokDir, { eos_token_id: pad, max_new_tokens: 256 });
  log(`done: step ${res.step}; model in ${final}`);
  return res;
}

/**
 * DPO metrics over a whole held-out set: the loss and TRL's metrics computed on all pairs at once
 * (`acc` = rewards/accuracies). `logps` scores sequences without grad. ORPO's NLL is left out here.
 */
export function evaluateDpo(items: readonly DpoItem[], logps: (seqs: PairItem['chosen'][]) => Float32Array, o: { loss: DpoLossType; beta: number; gamma: number }): EvalOutput {
  const c = logps(items.map((p) => p.chosen));
  const r = logps(items.map((p) => p.rejected));
  const { beta } = o;
  const ref = needsReference(o.loss);
  const rc = Float64Array.from(c, (v, i) => beta * (ref ? v - items[i].refChosen : v));
  const rr = Float64Array.from(r, (v, i) => beta * (ref ? v - items[i].refRejected : v));
  const n = Math.max(items.length, 1);
  let loss = 0;
  const m: Metrics = { 'rewards/chosen': 0, 'rewards/rejected': 0, 'rewards/accuracies': 0, 'rewards/margins': 0, 'logps/chosen': 0, 'logps/rejected': 0 };
  rc.forEach((v, i) => {
    const d = v - rr[i];
    const z = o.loss === 'simpo' ? d - o.gamma : d;
    loss += o.loss === 'ipo' ? (d / beta - 1 / (2 * beta)) ** 2 : Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
    m['rewards/chosen'] += v / n;
    m['rewards/rejected'] += rr[i] / n;
    m['rewards/accuracies'] += (v > rr[i] ? 1 : 0) / n;
    m['rewards/margins'] += d / n;
    m['logps/chosen'] += c[i] / n;
    m['logps/rejected'] += r[i] / n;
  });
  return { ...m, loss: loss / n, acc: m['rewards/accuracies'] };
}
