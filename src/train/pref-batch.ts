/**
 * Batches of preference sequences as tensors, right-padded to the longest row of the micro-batch
 * (uneven batches, as TRL's collators): whole sequences with their lengths for a preference model
 * (the reward is read at the last real token, from the lengths — right even when the pad id is
 * `<eom>`, MOSS's pad and end token), and shifted (input, target) pairs for log-probabilities.
 * Causal attention means a row never sees its own right padding, so no attention mask is needed.
 * Not here: losses (./losses.ts), reading data (./pairs.ts).
 * Legend: N rows, T time, V vocab.
 */
import type { Module } from '../nn/index.js';
import { ops, tensor, type Tensor } from '../tensor/index.js';
import { IGNORE } from './data.js';
import { averaged, lastTokenIndex, pooled, sequenceLogps, type DpoLossType } from './losses.js';
import type { Seq } from './pairs.js';

/** A model whose forward maps ids (N, T) to per-position outputs (N, T, K): logits, or rewards with K = 1. */
export interface SeqModel extends Module {
  forward(ids: Tensor): Tensor;
}

const ids32 = (a: Int32Array, shape: number[], like: Tensor) => tensor(a, shape, { dtype: 'i32', backend: like.backend });

/** Right-padded ids (N, T) and the attention mask as row lengths. */
export function padIds(seqs: readonly Seq[], pad: number): { ids: Int32Array; T: number; mask: number[][] } {
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(seqs.length * T).fill(pad);
  seqs.forEach((s, n) => ids.set(s.ids, n * T));
  return { ids, T, mask: seqs.map((s) => Array.from({ length: T }, (_, t) => (t < s.ids.length ? 1 : 0))) };
}

/** Shifted rows: input = ids[:-1] (pad after), target = labels[1:] (IGNORE after). */
export function shiftRows(seqs: readonly Seq[], pad: number): { input: Int32Array; target: Int32Array; T: number } {
  const T = Math.max(...seqs.map((s) => s.ids.length)) - 1;
  const input = new Int32Array(seqs.length * T).fill(pad);
  const target = new Int32Array(seqs.length * T).fill(IGNORE);
  seqs.forEach((s, n) => {
    input.set(s.ids.slice(0, -1), n * T);
    target.set(s.labels.slice(1), n * T);
  });
  return { input, target, T };
}

/** Rewards (N) of a preference model, read at each row's last real token; with grad when the model has it. */
export function rewardsOf(model: SeqModel, seqs: readonly Seq[], pad: number): Tensor {
  const like = model.parameters()[0];
  const { ids, T, mask } = padIds(seqs, pad);
  const scores = model.forward(ids32(ids, [seqs.length, T], like)); // (N, T, 1)
  return pooled(scores.reshape(seqs.length, T), lastTokenIndex(mask));
}

/**
 * Rewards (N) as `rewardsOf`, plus the mean next-token NLL of the completions (labels ≠ IGNORE) of
 * the first `lmRows` rows through `lmHead` on the same backbone pass (the PM's optional LM loss on
 * the chosen response, MOSS-RLHF). Logits are computed at completion positions only.
 */
export function rewardsAndNll(model: SeqModel & { transformer: { ln_f: Module } }, seqs: readonly Seq[], pad: number, lmHead: Module, lmRows: number): { rewards: Tensor; nll: Tensor } {
  const like = model.parameters()[0];
  const { ids, T, mask } = padIds(seqs, pad);
  const trace = new Map<string, Tensor>();
  const scores = (model.forward as (ids: Tensor, o: { trace: Map<string, Tensor> }) => Tensor)(ids32(ids, [seqs.length, T], like), { trace }); // (N, T, 1)
  const last = [...trace.keys()].filter((k) => k.endsWith('.out')).at(-1)!; // the last block's output, before ln_f
  const h = trace.get(last)!; // (N, T, C)
  const C = h.shape[2];
  const at: number[] = [];
  const tg: number[] = [];
  seqs.slice(0, lmRows).forEach((s, n) => {
    for (let t = 0; t + 1 < s.ids.length; t++) if (s.labels[t + 1] !== IGNORE) { at.push(n * T + t); tg.push(s.labels[t + 1]); }
  });
  const rows = ops.indexSelect(h.reshape(seqs.length * T, C), 0, ids32(Int32Array.from(at), [at.length], like)); // (M, C)
  const logits = (lmHead as SeqModel).forward((model.transformer.ln_f as SeqModel).forward(rows)); // (M, V)
  return { rewards: pooled(scores.reshape(seqs.length, T), lastTokenIndex(mask)), nll: ops.crossEntropy(logits, ids32(Int32Array.from(tg), [tg.length], like)) };
}

/**
 * Log-probabilities (N) of each row's completion (labels ≠ IGNORE) under a causal LM: summed, or
 * averaged over completion tokens for the losses that use averages (IPO, SimPO, ORPO). Also the
 * mean token NLL of the first `nllRows` rows (ORPO's chosen NLL), when asked.
 */
export function logpsOf(model: SeqModel, seqs: readonly Seq[], pad: number, loss: DpoLossType, nllRows = 0): { logps: Tensor; counts: number[]; nll?: Tensor } {
  const like = model.parameters()[0];
  const { input, target, T } = shiftRows(seqs, pad);
  const logits = model.forward(ids32(input, [seqs.length, T], like)); // (N, T, V)
  const { logps, counts } = sequenceLogps(logits, target);
  let nll: Tensor | undefined;
  if (nllRows > 0) {
    const V = logits.shape[2];
    const tg = ids32(target.slice(0, nllRows * T), [nllRows * T], like);
    nll = ops.crossEntropy(logits.slice(0, 0, nllRows).reshape(nllRows * T, V), tg);
  }
  if (!averaged(loss)) return { logps, counts, nll };
  const inv = tensor(Float32Array.from(counts, (c) => 1 / Math.max(c, 1)), [seqs.length], { backend: like.backend });
  return { logps: ops.mul(logps, inv), counts, nll };
}
