/**
 * Preference losses on per-sequence log-probabilities and rewards, with the metric names TRL logs:
 *  - sequence log-probs: per-token log p(target) from the fused cross-entropy, zero where the label
 *    is IGNORE, summed per row (TRL DPOTrainer: selective_log_softmax, masked, summed);
 *  - Bradley–Terry reward-model loss `-logσ(r_c - r_r - margin)` (+ optional centering), as TRL's
 *    RewardTrainer; pooled reward index = last real token from the attention mask;
 *  - DPO `sigmoid` and `ipo` (TRL DPOTrainer; IPO on length-averaged log-probs), `simpo` (TRL
 *    CPOTrainer with cpo_alpha = 0: average log-probs, margin γ/β, no reference), `orpo` (TRL
 *    ORPOTrainer: NLL of chosen − β·logσ(log-odds) on average log-probs), `kto` (TRL KTOTrainer's
 *    loss with the KL term estimated from the batch itself, detached and clamped at 0).
 * Formulas and sources: ../shared/ALIGNMENT.md §1. Not here: batching, models, data.
 * Legend: N rows (chosen rows first, then rejected), T time, V vocab, P pairs.
 */
import { ops, tensor, type Tensor } from '../tensor/index.js';

/** Numerically stable log σ(x) = (x − |x|)/2 − log(1 + e^−|x|); its gradient at 0 is exactly ½ whatever abs' is there. */
export function logSigmoid(x: Tensor): Tensor {
  const a = ops.abs(x);
  return ops.sub(ops.mul(ops.sub(x, a), 0.5), ops.log(ops.add(ops.exp(ops.neg(a)), 1)));
}

/**
 * Summed log-probabilities of the target tokens per row: logits (N, T, V), targets (N*T, already
 * shifted, IGNORE = no loss). Returns logps (N) and the number of target tokens per row.
 */
export function sequenceLogps(logits: Tensor, targets: Int32Array, ignore = -100): { logps: Tensor; counts: number[] } {
  const [N, T, V] = logits.shape;
  const tg = tensor(targets, [N * T], { dtype: 'i32', backend: logits.backend });
  const nll = ops.crossEntropy(logits.reshape(N * T, V), tg, { reduction: 'none', ignoreIndex: ignore }); // (N*T), 0 where ignored
  const counts = Array.from({ length: N }, (_, n) => {
    let c = 0;
    for (let t = 0; t < T; t++) if (targets[n * T + t] !== ignore) c++;
    return c;
  });
  return { logps: ops.neg(ops.sum(nll.reshape(N, T), 1)), counts };
}

/** Index of the last real token per row from an attention mask (1 = token): mask.sum − 1, as HF with right padding. */
export function lastTokenIndex(mask: readonly (readonly number[])[]): number[] {
  return mask.map((row) => row.reduce((s, m) => s + m, 0) - 1);
}

/** Picks rewards (N, T) at one index per row → (N). */
export function pooled(scores: Tensor, index: readonly number[]): Tensor {
  const [N, T] = scores.shape;
  const ids = tensor(index.map((i, n) => n * T + i), [N], { dtype: 'i32', backend: scores.backend });
  return ops.indexSelect(scores.reshape(N * T), 0, ids);
}

export type Metrics = Record<string, number>;

const meanOf = (xs: Float32Array) => xs.reduce((s, v) => s + v, 0) / Math.max(xs.length, 1);

/** Bradley–Terry loss on chosen/rejected rewards (P each); TRL RewardTrainer's metric names. */
export function pmLoss(rc: Tensor, rr: Tensor, o: { margin?: readonly number[]; center?: number } = {}): { loss: Tensor; metrics: Metrics } {
  const P = rc.shape[0];
  let d = ops.sub(rc, rr);
  if (o.margin?.some((m) => m !== 0)) d = ops.sub(d, tensor(Float32Array.from(o.margin), [P], { backend: rc.backend }));
  let loss = ops.neg(ops.mean(logSigmoid(d)));
  if (o.center) loss = ops.add(loss, ops.mul(ops.mean(ops.square(ops.add(rc, rr))), o.center));
  const c = rc.toFloat32Array();
  const r = rr.toFloat32Array();
  const all = [...c, ...r];
  return {
    loss,
    metrics: {
      accuracy: meanOf(c.map((v, i) => (v > r[i] ? 1 : 0))),
      margin: meanOf(c.map((v, i) => v - r[i])),
      'rewards/chosen': meanOf(c), 'rewards/rejected': meanOf(r),
      'reward/min': Math.min(...all), 'reward/mean': meanOf(Float32Array.from(all)), 'reward/max': Math.max(...all),
    },
  };
}

export type DpoLossType = 'sigmoid' | 'ipo' | 'simpo' | 'orpo' | 'kto';
export const DPO_LOSSES: readonly DpoLossType[] = ['sigmoid', 'ipo', 'simpo', 'orpo', 'kto'];

export interface DpoOptions {
  loss: DpoLossType;
  beta: number;
  /** SimPO's target margin γ (the paper's 1.375 with β 2.5; TRL's simpo_gamma default 0.5). */
  gamma?: number;
  /** KTO: weights of desirable / undesirable examples (TRL defaults 1, 1). */
  desirableWeight?: number;
  undesirableWeight?: number;
}

/** True when the loss uses length-averaged log-probs (TRL: IPO, SimPO, ORPO). */
export const averaged = (loss: DpoLossType): boolean => loss === 'ipo' || loss === 'simpo' || loss === 'orpo';
/** True when the loss needs reference log-probs. */
export const needsReference = (loss: DpoLossType): boolean => loss === 'sigmoid' || loss === 'ipo' || loss === 'kto';

export interface PairLogps {
  /** Policy log-probs (P), summed (or averaged where `averaged(loss)`), with grad. */
  chosen: Tensor;
  rejected: Tensor;
  /** Reference log-probs, same reduction (needed unless SimPO / ORPO). */
  refChosen?: Float32Array;
  refRejected?: Float32Array;
  /** ORPO: the chosen rows' mean token NLL (scalar, with grad). */
  nllChosen?: Tensor;
}

/**
 * One batch of paired preference loss with TRL's logged metrics (rewards/chosen|rejected|
 * accuracies|margins, logps/chosen|rejected, plus ORPO's nll_loss, log_odds_ratio, log_odds_chosen).
 */
export function dpoLoss(x: PairLogps, o: DpoOptions): { loss: Tensor; metrics: Metrics } {
  const { beta } = o;
  const P = x.chosen.shape[0];
  const vec = (a: Float32Array) => tensor(a, [P], { backend: x.chosen.backend });
  let losses: Tensor;
  let rc: Float32Array;
  let rr: Float32Array;
  const extra: Metrics = {};
  const pc = x.chosen.toFloat32Array();
  const pr = x.rejected.toFloat32Array();
  if (o.loss === 'sigmoid' || o.loss === 'ipo') {
    if (!x.refChosen || !x.refRejected) throw new Error(`dpo ${o.loss}: reference log-probs are missing`);
    const refMargin = vec(x.refChosen.map((v, i) => v - x.refRejected![i]));
    const logits = ops.sub(ops.sub(x.chosen, x.rejected), refMargin); // (π_c − π_r) − (ref_c − ref_r)
    losses = o.loss === 'sigmoid' ? ops.neg(logSigmoid(ops.mul(logits, beta))) : ops.square(ops.sub(logits, 1 / (2 * beta)));
    rc = pc.map((v, i) => beta * (v - x.refChosen![i]));
    rr = pr.map((v, i) => beta * (v - x.refRejected![i]));
  } else if (o.loss === 'simpo') {
    const gamma = o.gamma ?? 0.5;
    const logits = ops.sub(ops.sub(x.chosen, x.rejected), gamma / beta);
    losses = ops.neg(logSigmoid(ops.mul(logits, beta)));
    rc = pc.map((v) => beta * v);
    rr = pr.map((v) => beta * v);
  } else if (o.loss === 'orpo') {
    if (!x.nllChosen) throw new Error('dpo orpo: the chosen NLL is missing');
    // log odds = (c − r) − (log(1 − e^c) − log(1 − e^r)), on average log-probs (< 0)
    const log1mexp = (t: Tensor) => ops.log(ops.sub(1, ops.exp(t)));
    const logOdds = ops.sub(ops.sub(x.chosen, x.rejected), ops.sub(log1mexp(x.chosen), log1mexp(x.rejected)));
    const ratio = logSigmoid(logOdds);
    losses = ops.sub(x.nllChosen, ops.mul(ratio, beta)); // mean over pairs gives nll − β·mean(ratio)
    rc = pc.map((v) => beta * v);
    rr = pr.map((v) => beta * v);
    extra.nll_loss = x.nllChosen.item();
    extra.log_odds_ratio = meanOf(ratio.toFloat32Array());
    extra.log_odds_chosen = meanOf(logOdds.toFloat32Array());
  } else {
    return ktoLoss(x, o);
  }
  const loss = ops.mean(losses);
  return { loss, metrics: { ...pairMetrics(rc, rr, pc, pr), ...extra } };
}

function pairMetrics(rc: Float32Array, rr: Float32Array, pc: Float32Array, pr: Float32Array): Metrics {
  return {
    'rewards/chosen': meanOf(rc), 'rewards/rejected': meanOf(rr),
    'rewards/accuracies': meanOf(rc.map((v, i) => (v > rr[i] ? 1 : 0))),
    'rewards/margins': meanOf(rc.map((v, i) => v - rr[i])),
    'logps/chosen': meanOf(pc), 'logps/rejected': meanOf(pr),
  };
}

/**
 * KTO (TRL KTOTrainer's loss): desirable 1 − σ(β(logratio − KL)), undesirable 1 − σ(β(KL − logratio)),
 * where KL = max(0, mean logratio over the batch), detached. Here the chosen rows are the desirable
 * examples and the rejected rows the undesirable ones (paired data read as unpaired).
 */
function ktoLoss(x: PairLogps, o: DpoOptions): { loss: Tensor; metrics: Metrics } {
  if (!x.refChosen || !x.refRejected) throw new Error('dpo kto: reference log-probs are missing');
  const { beta } = o;
  const P = x.chosen.shape[0];
  const vec = (a: Float32Array) => tensor(a, [P], { backend: x.chosen.backend });
  const pc = x.chosen.toFloat32Array();
  const pr = x.rejected.toFloat32Array();
  const lc = pc.map((v, i) => v - x.refChosen![i]);
  const lr = pr.map((v, i) => v - x.refRejected![i]);
  const kl = Math.max(0, (lc.reduce((s, v) => s + v, 0) + lr.reduce((s, v) => s + v, 0)) / (2 * P));
  const ratioC = ops.sub(x.chosen, vec(x.refChosen));
  const ratioR = ops.sub(x.rejected, vec(x.refRejected));
  const wd = o.desirableWeight ?? 1;
  const wu = o.undesirableWeight ?? 1;
  const lossC = ops.mul(ops.sub(1, ops.sigmoid(ops.mul(ops.sub(ratioC, kl), beta))), wd);
  const lossR = ops.mul(ops.sub(1, ops.sigmoid(ops.mul(ops.sub(kl, ratioR), beta))), wu);
  const loss = ops.div(ops.add(ops.sum(lossC), ops.sum(lossR)), 2 * P);
  const rc = lc.map((v) => beta * v);
  const rr = lr.map((v) => beta * v);
  return { loss, metrics: { ...pairMetrics(rc, rr, pc, pr), kl } };
}
