/**
 * Log-probabilities of tokens, for the OpenAI `logprobs` / `top_logprobs` fields: log-softmax of
 * one row of logits (f64 accumulation), the picked id's value and the `top` most likely ids.
 * The distribution is the model's own (raw logits, restricted to the tokenizer's vocabulary) — not
 * the one temperature, penalties, top-k/p or a grammar mask sampled from: vLLM's default
 * (`logprobs_mode = raw_logprobs`) and what lm-evaluation-harness's log-likelihood scoring
 * expects, and independent of the sampling settings of the request.
 * Deliberately no text here: ids only (the serve routes turn them into token strings).
 */

/** One token's log-probability and the most likely alternatives at its position, best first. */
export interface TokenLogprob {
  readonly logprob: number;
  readonly top: readonly (readonly [id: number, logprob: number])[];
}

/** log(sum(exp(row))) computed stably in f64. */
export function logSumExp(row: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > m) m = row[i];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - m);
  return m + Math.log(s);
}

/** The `n` largest entries of `row` as [index, value], largest first (first index on ties, as torch.topk). */
export function topEntries(row: Float32Array, n: number): [number, number][] {
  const out: [number, number][] = [];
  if (n <= 0) return out;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (out.length === n && !(v > out[n - 1][1])) continue;
    let j = out.length < n ? out.length : n - 1;
    while (j > 0 && v > out[j - 1][1]) j--;
    out.splice(j, 0, [i, v]);
    if (out.length > n) out.pop();
  }
  return out;
}

/** The log-probability of `id` under softmax(`row`) and the `top` most likely ids. */
export function tokenLogprob(row: Float32Array, id: number, top: number): TokenLogprob {
  const lse = logSumExp(row);
  return { logprob: row[id] - lse, top: topEntries(row, top).map(([i, v]) => [i, v - lse] as const) };
}

/**
 * Prompt log-probabilities from all-position logits `rows` (T, V) of the ids `next` that follow
 * each position (`next[t]` is the id at position t + 1).
 */
export function nextLogprobs(rows: Float32Array, V: number, next: readonly number[], top: number, vocab = V): TokenLogprob[] {
  return next.map((id, t) => tokenLogprob(rows.subarray(t * V, t * V + vocab), id, top));
}
