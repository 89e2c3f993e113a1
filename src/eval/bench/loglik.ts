/**
 * Log-likelihood of continuations given a context, as lm-evaluation-harness computes it for a
 * causal LM (HFLM `_encode_pair` and `_loglikelihood_tokens`): trailing spaces of the context move
 * into the continuation, context and context+continuation are encoded separately and the
 * continuation is what the whole encoding has past the context's length; an empty context becomes
 * the prefix token; inputs longer than `maxLength + 1` lose tokens on the left.
 *
 * Fast path (`scoreShared`): the context is prefilled once per question (several questions share a
 * batched forward, and the prefix they share is prefilled once) and the choices are scored from its
 * KV cache: one-token continuations straight
 * from the context's last logits, longer ones in one batched forward of their tokens over copies
 * of the cached prefix. `scoreNaive` is the harness's own one-forward-per-choice path (oracle and
 * bench peer). Uses only the model's public forward/newCache/KVCache interface.
 * Not here: prompts (./prompts.ts), accuracy (./mc.ts).
 * Legend: B batch, T time, V vocab, N choices.
 */
import type { CausalLM } from '../../models/types.js';
import type { KVCache } from '../../models/kv-cache.js';
import { tensor, tidy } from '../../tensor/index.js';
import type { Tokenizer } from '../../tokenizer/types.js';

export interface Encoded {
  ctx: number[];
  /** One token list per choice. */
  conts: number[][];
}

/** The harness's `_encode_pair` for each continuation. */
export function encodeChoices(tok: Tokenizer, context: string, continuations: readonly string[], prefixId: number): Encoded {
  const n = context.length - context.trimEnd().length;
  // the harness uses Python's rstrip(); for the spaces our prompts end with the two agree
  const ctxText = n > 0 ? context.slice(0, -n) : context;
  const moved = n > 0 ? context.slice(-n) : '';
  const ctx = ctxText === '' ? [prefixId] : tok.encode(ctxText);
  const conts = continuations.map((c) => {
    const cont = moved + c;
    if (ctxText === '') return tok.encode(cont);
    return tok.encode(ctxText + cont).slice(ctx.length);
  });
  for (const [i, c] of conts.entries()) if (!c.length) throw new Error(`loglikelihood: continuation ${i} ("${continuations[i]}") encodes to no tokens after the context`);
  return { ctx, conts };
}

/** Log-softmax of one row (f64 accumulation), read at `ids`. */
function logprobsAt(row: Float32Array, ids: readonly number[]): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  return ids.map((id) => row[id] - lse);
}

export interface ScoreOptions {
  /** The harness's max_length (the model's positions). */
  maxLength: number;
  /** Questions per prefill forward. */
  batchSize?: number;
}

export interface Scored {
  /** Per choice, summed log-probability of its tokens. */
  lls: number[];
  /** Context tokens dropped on the left for at least one choice (harness truncation rule). */
  truncated: boolean;
}

/** The harness's input window for one choice: (ctx + cont)[-(maxLength+1):][:-1]. */
function window(ctx: readonly number[], cont: readonly number[], maxLength: number): { inp: number[]; truncated: boolean } {
  const all = [...ctx, ...cont];
  const keep = all.slice(-(maxLength + 1));
  return { inp: keep.slice(0, -1), truncated: keep.length < all.length };
}

/** One forward per choice over its whole window (the harness's path). */
export function scoreNaive(model: CausalLM, q: Encoded, o: ScoreOptions): Scored {
  let truncated = false;
  const V = model.info.vocabSize;
  const lls = q.conts.map((cont) => {
    const w = window(q.ctx, cont, o.maxLength);
    truncated ||= w.truncated;
    const T = w.inp.length;
    const logits = tidy(() => model.forward(tensor(w.inp, [1, T], { dtype: 'i32', backend: model.backend }), { logits: 'all' }));
    const all = logits.toFloat32Array(); // (1, T, V)
    logits.dispose();
    let s = 0;
    cont.forEach((id, j) => {
      const t = T - cont.length + j;
      s += logprobsAt(all.subarray(t * V, (t + 1) * V), [id])[0];
    });
    return s;
  });
  return { lls, truncated };
}

/** Copies row `b`'s first `len` cached tokens of `src` into every row of `dst`. */
function broadcastPrefix(src: KVCache, b: number, dst: KVCache, len: number): void {
  tidy(() => {
    for (const kv of [[src.k, dst.k], [src.v, dst.v]] as const) {
      for (let l = 0; l < src.nLayers; l++) {
        const from = kv[0][l].slice(0, b, b + 1).slice(2, 0, len);
        for (let r = 0; r < dst.batch; r++) dst.k[l].backend.copy(kv[1][l].slice(0, r, r + 1).slice(2, 0, len), from);
      }
    }
  });
  dst.lens.fill(len);
}

/** Length of the longest token prefix that every list shares. */
function commonPrefix(lists: readonly (readonly number[])[]): number {
  let n = Math.min(...lists.map((l) => l.length));
  for (const l of lists) {
    let i = 0;
    while (i < n && l[i] === lists[0][i]) i++;
    n = i;
  }
  return n;
}

/** Shared prefixes shorter than this are not worth a separate prefill. */
const MIN_SHARED = 8;

/**
 * Scores many questions with the shared-prefix path; questions whose window would be truncated go
 * through `scoreNaive` (their truncated contexts differ per choice, as in the harness). Batches of
 * `batchSize` questions are formed in order of context length (as the harness's collator sorts its
 * requests), so little of a batch is padding; the token prefix every context of a batch shares (a
 * subject's description and few-shot examples) is prefilled once and copied into every row, and
 * only the rest of each context goes through the batched forward.
 */
export function scoreShared(model: CausalLM, qs: readonly Encoded[], o: ScoreOptions): Scored[] {
  const out: Scored[] = new Array<Scored>(qs.length);
  const V = model.info.vocabSize;
  const fits = (q: Encoded): boolean => q.conts.every((c) => q.ctx.length + c.length <= o.maxLength + 1);
  const todo: number[] = [];
  qs.forEach((q, i) => (fits(q) ? todo.push(i) : (out[i] = scoreNaive(model, q, o))));
  todo.sort((a, b) => qs[b].ctx.length - qs[a].ctx.length || a - b);
  const bs = Math.max(1, o.batchSize ?? 1);
  for (let s = 0; s < todo.length; s += bs) {
    const idx = todo.slice(s, s + bs);
    const B = idx.length;
    const ctxs = idx.map((i) => qs[i].ctx);
    const P = B > 1 ? Math.min(commonPrefix(ctxs), Math.min(...ctxs.map((c) => c.length)) - 1) : 0;
    const shared = P >= MIN_SHARED ? P : 0;
    const lens = ctxs.map((c) => c.length - shared);
    const T = Math.max(...lens);
    const ids = new Array<number>(B * T).fill(0);
    ctxs.forEach((c, b) => c.slice(shared).forEach((id, t) => (ids[b * T + t] = id)));
    const multi = idx.some((i) => qs[i].conts.some((c) => c.length > 1));
    const cache = multi || shared ? model.newCache(B, shared + T) : undefined;
    try {
      if (shared) {
        const one = model.newCache(1, shared);
        try {
          tidy(() => model.forward(tensor(ctxs[0].slice(0, shared), [1, shared], { dtype: 'i32', backend: model.backend }), { cache: one, logits: 'last' })).dispose();
          broadcastPrefix(one, 0, cache!, shared);
        } finally {
          one.dispose();
        }
      }
      const last = tidy(() => model.forward(tensor(ids, [B, T], { dtype: 'i32', backend: model.backend }), { cache, lengths: lens, logits: 'last' }));
      const rows = last.toFloat32Array(); // (B, V)
      last.dispose();
      idx.forEach((i, b) => {
        const q = qs[i];
        const first = logprobsAt(rows.subarray(b * V, (b + 1) * V), q.conts.map((c) => c[0]));
        const lls = first.slice();
        if (cache && q.conts.some((c) => c.length > 1)) {
          const rest = scoreRest(model, cache, b, q);
          rest.forEach((r, j) => (lls[j] += r));
        }
        out[i] = { lls, truncated: false };
      });
    } finally {
      cache?.dispose();
    }
  }
  return out;
}

/** Tokens 1.. of every continuation, in one batched forward over copies of cached row `b`. */
function scoreRest(model: CausalLM, cache: KVCache, b: number, q: Encoded): number[] {
  const N = q.conts.length;
  const V = model.info.vocabSize;
  const L = q.ctx.length;
  const inputs = q.conts.map((c) => (c.length > 1 ? c.slice(0, -1) : [c[0]])); // a 1-token choice rides along, ignored
  const T = Math.max(...inputs.map((x) => x.length));
  const ids = new Array<number>(N * T).fill(0);
  inputs.forEach((x, r) => x.forEach((id, t) => (ids[r * T + t] = id)));
  const cn = model.newCache(N, L + T);
  try {
    broadcastPrefix(cache, b, cn, L);
    const logits = tidy(() => model.forward(tensor(ids, [N, T], { dtype: 'i32', backend: model.backend }), { cache: cn, lengths: inputs.map((x) => x.length), logits: 'all' }));
    const all = logits.toFloat32Array(); // (N, T, V)
    logits.dispose();
    return q.conts.map((c, r) => {
      let s = 0;
      for (let j = 1; j < c.length; j++) s += logprobsAt(all.subarray((r * T + j - 1) * V, (r * T + j) * V), [c[j]])[0];
      return s;
    });
  } finally {
    cn.dispose();
  }
}
