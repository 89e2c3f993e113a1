/**
 * Reference log-probabilities for DPO-style training, computed once before the first step and
 * cached in the run folder (`ref-logps.json`), keyed by a hash of the rendered data, of the
 * reference model's weights and of the reduction (sum or average) — TRL's
 * `precompute_ref_log_probs`, which also means no second model in memory while training. The
 * reference is the initial policy itself (computed before LoRA adapters exist, i.e. "the same model
 * with adapters disabled"), or another folder (`--ref`), which must share the policy's tokenizer.
 * Not here: the losses (./losses.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/index.js';
import type { Module } from '../nn/index.js';
import { noGrad, tidy } from '../tensor/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { averaged, type DpoLossType } from './losses.js';
import type { PairItem, Seq } from './pairs.js';
import { logpsOf, type SeqModel } from './pref-batch.js';

/** sha256 over a model's tensors (names, shapes and f32 values). */
export function weightsHash(model: Module): string {
  const h = createHash('sha256');
  for (const [name, t] of model.stateDict()) {
    h.update(`${name}:${t.shape.join('x')};`);
    const a = t.toFloat32Array();
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

/** sha256 over rendered sequences (ids and labels). */
export function dataHash(seqs: readonly Seq[]): string {
  const h = createHash('sha256');
  for (const s of seqs) h.update(`${s.ids.join(',')}|${s.labels.join(',')}|${s.promptLen};`);
  return h.digest('hex');
}

/** A tokenizer's identity: every token string and whether it is special. */
export function tokenizerHash(tok: Tokenizer): string {
  const h = createHash('sha256');
  for (let i = 0; i < tok.vocabSize; i++) h.update(`${tok.idToToken(i) ?? ''}${tok.isSpecial(i) ? '*' : ''}\u0000`);
  return h.digest('hex');
}

/** Refuses a reference whose tokenizer is not the policy's. */
export function checkSameTokenizer(policy: Tokenizer, policyDir: string, ref: Tokenizer, refDir: string): void {
  if (policy.vocabSize !== ref.vocabSize || tokenizerHash(policy) !== tokenizerHash(ref)) {
    throw new Error(`--ref ${refDir}: its tokenizer differs from the policy's (${policyDir}: ${policy.vocabSize} tokens, ${refDir}: ${ref.vocabSize} tokens); a reference must score the same token ids`);
  }
}

/** Sequence log-probs of every sequence under `model`, without grad, in batches (order kept). */
export function logpsAll(model: SeqModel, seqs: readonly Seq[], pad: number, loss: DpoLossType, batchSize: number): Float32Array {
  const out = new Float32Array(seqs.length);
  model.eval();
  noGrad(() => {
    for (let i = 0; i < seqs.length; i += batchSize) {
      tidy(() => out.set(logpsOf(model, seqs.slice(i, i + batchSize), pad, loss).logps.toFloat32Array(), i));
    }
  });
  model.train();
  return out;
}

export interface RefLogps {
  chosen: Float32Array;
  rejected: Float32Array;
}

/**
 * Reference log-probs for `pairs`, read from `<outDir>/ref-logps.json` when its key matches, else
 * computed with `model` and written there. Returns them and whether the cache was used.
 */
export function referenceLogps(outDir: string, model: SeqModel, pairs: readonly PairItem[], pad: number, loss: DpoLossType, batchSize: number): RefLogps & { cached: boolean; key: string } {
  const seqs = pairs.flatMap((p) => [p.chosen, p.rejected]);
  const reduction = averaged(loss) ? 'mean' : 'sum';
  const key = createHash('sha256').update(`${dataHash(seqs)}|${weightsHash(model)}|${reduction}`).digest('hex');
  const file = join(outDir, 'ref-logps.json');
  if (existsSync(file)) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { key: string; chosen: number[]; rejected: number[] };
    if (c.key === key) return { chosen: Float32Array.from(c.chosen), rejected: Float32Array.from(c.rejected), cached: true, key };
  }
  const all = logpsAll(model, seqs, pad, loss, batchSize);
  const chosen = all.filter((_, i) => i % 2 === 0);
  const rejected = all.filter((_, i) => i % 2 === 1);
  writeFileAtomic(file, [new TextEncoder().encode(JSON.stringify({ key, reduction, chosen: [...chosen], rejected: [...rejected] }))]);
  return { chosen, rejected, cached: false, key };
}
