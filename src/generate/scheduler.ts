/**
 * Continuous batching over one preallocated KV cache of `slots` rows (vLLM / llama.cpp server
 * style, without paging): decoding sequences occupy rows 0..d-1 and ONE batched decode step runs
 * over them through a lasting row-range view of the cache (its decode plan replays the step: see
 * rowsView). Between decode steps a waiting sequence is
 * admitted into row d: the prefix cache (./prefix-blocks.ts) copies in the keys/values of the
 * longest cached block prefix of its prompt, and the rest is prefilled, in chunks when a per-step
 * token budget is set (chunked prefill, vLLM / Sarathi-Serve): each step spends at most `budget`
 * tokens (the d decode tokens first, the rest on one prompt chunk), so a long prompt no longer
 * stalls the running streams. A finished or cancelled sequence stores its blocks in the prefix
 * cache and frees its row by moving the last row's keys/values into it, so the batch stays dense.
 * Each sequence is a `Sequence` of ./sequence.ts (the one generation step: seeded sampling,
 * penalties, stop ids). Runs wherever the model lives (the server's worker thread); it is
 * synchronous per step and knows nothing of messages or HTTP.
 * Deliberately no preemption and one prompt in prefill at a time (FIFO).
 * Legend: B active rows, T chunk, V vocab, S cache capacity.
 */
import { KVCache } from '../models/kv-cache.js';
import type { CausalLM } from '../models/types.js';
import { tensor, tidy } from '../tensor/index.js';
import type { Block, PrefixCache } from './prefix-blocks.js';
import type { TokenConstraint } from './constrain/mask.js';
import type { SamplingOptions } from './sampler.js';
import { Sequence } from './sequence.js';
import { nextLogprobs, type TokenLogprob } from './logprobs.js';

/** Why a sequence left the scheduler. */
export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface SeqRequest {
  readonly id: number;
  readonly promptIds: readonly number[];
  readonly maxNewTokens: number;
  readonly stopIds: readonly number[];
  readonly sampling: SamplingOptions & { readonly seed?: number };
  /** A logits mask for this sequence (constrained decoding, ./constrain). */
  readonly constraint?: TokenConstraint;
  /** Log-probability of each new token with this many alternatives (./logprobs.ts); absent: off. */
  readonly logprobs?: number;
  /** Also the log-probabilities of the prompt's tokens (OpenAI `echo` + `logprobs`): its prefill computes
   *  logits at every position and skips the prefix cache. */
  readonly promptLogprobs?: boolean;
}

/** The server's default step budget: a 64-token prompt chunk costs about one batched decode step
 *  of a small model, so running streams see at most about twice their usual inter-token time. */
export const DEFAULT_STEP_TOKENS = 64;

export interface SchedulerOptions {
  /** Shared prefix cache (owned by the caller; built for this model). */
  readonly prefixCache?: PrefixCache | null;
  /** Tokens one step may spend (decode rows + one prompt chunk); 0 or absent: prefill whole prompts. */
  readonly stepTokens?: number;
}

interface Seq extends SeqRequest {
  seq: Sequence;
  /** Prompt tokens in the cache so far (prefill progress). */
  fed: number;
  /** Prefix-cache blocks this sequence pins. */
  blocks: Block[];
  /** Prompt log-probabilities so far (promptLogprobs): null for the first token. */
  promptLps?: (TokenLogprob | null)[];
}

/** What one step produced: new tokens and finished sequences. */
export interface StepResult {
  readonly tokens: [id: number, token: number, logprob?: TokenLogprob][];
  /** Prompt log-probabilities of the sequences whose prefill ended in this step (promptLogprobs). */
  readonly prompts?: [id: number, logprobs: (TokenLogprob | null)[]][];
  readonly finished: [id: number, reason: FinishReason][];
  /** Rows in the batched decode (0 when only prefill ran). */
  readonly batch: number;
}

/** Picks `s`'s next token from its logits row: [id, token] plus its log-probability when asked. */
function picked(s: Seq, row: Float32Array): StepResult['tokens'][number] {
  const t = s.seq.pick(row);
  return s.seq.lastLogprob ? [s.id, t, s.seq.lastLogprob] : [s.id, t];
}

export class Scheduler {
  readonly cache: KVCache;
  private rows: Seq[] = [];
  /** The sequence being prefilled, in row rows.length. */
  private filling: Seq | null = null;
  private waiting: Seq[] = [];
  private cancelled = new Set<number>();
  private lasting = new Map<number, KVCache>();
  private readonly prefix: PrefixCache | null;
  private readonly budget: number;
  promptTokens = 0;
  /** Prompt tokens whose keys/values came from the prefix cache. */
  reusedTokens = 0;

  constructor(readonly model: CausalLM, readonly slots: number, capacity: number, o: SchedulerOptions = {}) {
    this.cache = model.newCache(slots, Math.min(capacity, model.info.maxPositions));
    this.prefix = o.prefixCache ?? null;
    this.budget = o.stepTokens && o.stepTokens > 0 ? o.stepTokens : Infinity;
    if (this.budget < slots + 1) throw new Error(`scheduler: a step budget of ${o.stepTokens} tokens leaves no room for a prompt chunk beside ${slots} decoding rows (give at least ${slots + 1})`);
  }

  get capacity(): number {
    return this.cache.capacity;
  }
  get active(): number {
    return this.rows.length + (this.filling ? 1 : 0);
  }
  get queued(): number {
    return this.waiting.length;
  }
  idle(): boolean {
    return !this.rows.length && !this.waiting.length && !this.filling;
  }

  add(r: SeqRequest): void {
    if (r.promptIds.length < 1 || r.promptIds.length >= this.capacity) throw new Error(`prompt of ${r.promptIds.length} tokens does not fit the context of ${this.capacity}`);
    this.waiting.push({ ...r, seq: new Sequence(r.promptIds, { ...r.sampling, maxNewTokens: r.maxNewTokens, stopIds: r.stopIds, constraint: r.constraint, logprobs: r.logprobs }), fed: 0, blocks: [], ...(r.promptLogprobs ? { promptLps: [null] } : {}) });
  }

  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** A cache whose rows are base rows [r0, r1): same storage, no copy. Only valid inside a tidy
   *  (its slices are disposed there); it never records a decode plan. */
  private view(r0: number, r1: number): KVCache {
    const c = this.cache;
    const v = Object.create(KVCache.prototype) as KVCache;
    Object.assign(v, {
      k: c.k.map((t) => t.slice(0, r0, r1)), v: c.v.map((t) => t.slice(0, r0, r1)), lens: c.lens.slice(r0, r1),
      nLayers: c.nLayers, batch: r1 - r0, nKvHeads: c.nKvHeads, capacity: c.capacity, headDim: c.headDim, planable: false,
    });
    return v;
  }

  /** The lasting view of rows [0, B): the batched decode of B sequences replays one decode plan
   *  (models/decode-plan.ts: a mat-mat over the weights, attention per row), recorded on its first
   *  step; B = 1 is the common case of a local server with one user. */
  private rowsView(B: number): KVCache {
    let v = this.lasting.get(B);
    if (!v) {
      const c = this.cache;
      v = Object.create(KVCache.prototype) as KVCache;
      Object.assign(v, {
        k: c.k.map((t) => t.slice(0, 0, B).keep()), v: c.v.map((t) => t.slice(0, 0, B).keep()), lens: new Array<number>(B).fill(0),
        nLayers: c.nLayers, batch: B, nKvHeads: c.nKvHeads, capacity: c.capacity, headDim: c.headDim, planable: true,
      });
      this.lasting.set(B, v);
    }
    for (let b = 0; b < B; b++) v.lens[b] = this.cache.lens[b];
    return v;
  }

  /** Logits (rows, V) for `ids` (rows, T) appended to cache rows [r0, r1); `all`: (rows, T, V). */
  private forward(r0: number, r1: number, ids: number[], T: number, all = false): Float32Array {
    const out = tidy(() => {
      const v = r0 === 0 ? this.rowsView(r1) : this.view(r0, r1);
      const t = this.model.forward(tensor(ids, [r1 - r0, T], { dtype: 'i32', backend: this.model.backend }), { cache: v, logits: all ? 'all' : 'last' });
      for (let b = r0; b < r1; b++) this.cache.lens[b] = v.lens[b - r0];
      return t;
    });
    const a = out.toFloat32Array();
    out.dispose();
    return a;
  }

  /** Why `s` is done after its last token, or null (the context is the scheduler's own limit). */
  private doneReason(s: Seq, row: number): FinishReason | null {
    return s.seq.done ?? (this.cache.lens[row] + 1 >= this.capacity ? 'length' : null);
  }

  /** Copies row `src`'s keys/values into row `dst` (same length). */
  private move(dst: number, src: number): void {
    const len = this.cache.lens[src];
    if (len > 0) {
      tidy(() => {
        for (const t of [...this.cache.k, ...this.cache.v]) t.backend.copy(t.slice(0, dst, dst + 1).slice(2, 0, len), t.slice(0, src, src + 1).slice(2, 0, len));
        return [];
      });
    }
    this.cache.lens[dst] = len;
  }

  /** Gives a sequence's blocks back to the prefix cache: stores what its row holds, then unpins. */
  private retire(s: Seq, row: number): void {
    if (!this.prefix) return;
    const held = s.blocks;
    s.blocks = [];
    if (row >= 0 && this.cache.lens[row] > 0) this.prefix.store(s.seq.seen, this.cache, row);
    this.prefix.release(held);
  }

  /** Frees decoding row `i` by moving the last decoding row into it (and the prefill row after it). */
  private free(i: number, keep: boolean): void {
    this.retire(this.rows[i], keep ? i : -1);
    const last = this.rows.length - 1;
    if (i !== last) {
      this.move(i, last);
      this.rows[i] = this.rows[last];
    }
    this.rows.pop();
    if (this.filling) this.move(last, last + 1);
    this.cache.lens[this.rows.length + (this.filling ? 1 : 0)] = 0;
  }

  /** Starts the next waiting sequence's prefill in row rows.length, from its cached prefix. */
  private admit(): void {
    const s = this.waiting.shift()!;
    const r = this.rows.length;
    this.cache.lens[r] = 0;
    if (this.prefix && !s.promptLps) {
      // keep at least one prompt token to feed: its logits pick the first new token
      s.blocks = this.prefix.match(s.promptIds, s.promptIds.length - 1);
      this.prefix.acquire(s.blocks);
      if (s.blocks.length) this.prefix.load(s.blocks, this.cache, r);
    }
    s.fed = this.cache.lens[r];
    this.reusedTokens += s.fed;
    this.promptTokens += s.promptIds.length;
    this.filling = s;
  }

  /** Feeds up to `n` more prompt tokens of the sequence in prefill; returns the tokens spent. */
  private prefill(n: number, tokens: StepResult['tokens'], finished: [number, FinishReason][], prompts: NonNullable<StepResult['prompts']>): number {
    const s = this.filling!;
    const r = this.rows.length;
    const T = Math.min(n, s.promptIds.length - s.fed);
    let logits = this.forward(r, r + 1, s.promptIds.slice(s.fed, s.fed + T), T, !!s.promptLps);
    if (s.promptLps) {
      // position t of this chunk predicts prompt id fed + t + 1; the last position picks the first new token
      const V = this.model.info.vocabSize;
      s.promptLps.push(...nextLogprobs(logits, V, s.promptIds.slice(s.fed + 1, s.fed + T + 1), s.logprobs ?? 0, s.sampling.vocabSize ?? V));
      logits = logits.subarray((T - 1) * V, T * V);
    }
    s.fed += T;
    if (s.fed < s.promptIds.length) return T;
    if (s.promptLps) prompts.push([s.id, s.promptLps]);
    this.filling = null;
    this.rows.push(s);
    if (this.prefix) {
      const chain = this.prefix.store(s.promptIds, this.cache, r);
      this.prefix.acquire(chain);
      this.prefix.release(s.blocks);
      s.blocks = chain;
    }
    tokens.push(picked(s, logits));
    const why = this.doneReason(s, r);
    if (why) {
      finished.push([s.id, why]);
      this.free(r, true);
    }
    return T;
  }

  /** Admits and prefills within the step budget, then runs one batched decode step. */
  step(): StepResult {
    const tokens: StepResult['tokens'] = [];
    const prompts: NonNullable<StepResult['prompts']> = [];
    const finished: [number, FinishReason][] = [];
    const finish = (i: number, reason: FinishReason): void => {
      finished.push([this.rows[i].id, reason]);
      this.free(i, reason !== 'cancelled');
    };
    this.waiting = this.waiting.filter((s) => !this.cancelled.has(s.id) || (finished.push([s.id, 'cancelled']), false));
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.cancelled.has(this.rows[i].id)) finish(i, 'cancelled');
    if (this.filling && this.cancelled.has(this.filling.id)) {
      const s = this.filling;
      this.filling = null;
      this.retire(s, -1);
      finished.push([s.id, 'cancelled']);
      this.cache.lens[this.rows.length] = 0;
    }
    this.cancelled.clear();
    // the decode rows of this step come first in the budget, prompts get the rest; with nothing
    // decoding a prompt is prefilled whole (no stream to protect)
    let spent = 0;
    for (;;) {
      if (!this.filling) {
        if (!this.waiting.length || this.rows.length >= this.slots) break;
        this.admit();
      }
      const room = this.rows.length === 0 ? Infinity : this.budget - this.rows.length - spent;
      if (room <= 0) break;
      spent += this.prefill(room, tokens, finished, prompts);
    }
    // every decoding row decodes its last token (a row admitted just now gets its second token here)
    const B = this.rows.length;
    const extra = prompts.length ? { prompts } : {};
    if (B === 0) return { tokens, finished, batch: 0, ...extra };
    const V = this.model.info.vocabSize;
    const logits = this.forward(0, B, this.rows.map((s) => s.seq.last), 1);
    // downwards, so the row that free() moves into b was already handled
    for (let b = B - 1; b >= 0; b--) {
      const s = this.rows[b];
      tokens.push(picked(s, logits.subarray(b * V, (b + 1) * V)));
      const why = this.doneReason(s, b);
      if (why) finish(b, why);
    }
    return { tokens, finished, batch: B, ...extra };
  }

  /** The prefix-cache blocks each running sequence pins (tests and stats). */
  held(): (readonly Block[])[] {
    return [...this.rows, ...(this.filling ? [this.filling] : [])].map((s) => s.blocks);
  }

  /** Drops every sequence (after a failed step); returns their ids. */
  abortAll(): number[] {
    const all = [...this.rows, ...(this.filling ? [this.filling] : []), ...this.waiting];
    for (const s of all) this.retire(s, -1);
    this.rows = [];
    this.filling = null;
    this.waiting = [];
    this.cancelled.clear();
    this.cache.reset();
    return all.map((x) => x.id);
  }

  dispose(): void {
    for (const v of this.lasting.values()) v.dispose(); // their plans and slices (the storage stays with the cache)
    this.lasting.clear();
    this.cache.dispose();
  }
}
