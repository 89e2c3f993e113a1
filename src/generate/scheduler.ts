/**
 * Continuous batching over one preallocated KV cache of `slots` rows (vLLM / llama.cpp server
 * style, without paging): decoding sequences occupy rows 0..d-1 and ONE batched decode step runs
 * over them through a lasting row-range view of the cache (its decode plan replays the step: see
 * rowsView). Between decode steps a waiting sequence is
 * admitted into row d: the prefix cache (./prefix-blocks.ts) copies in the keys/values of the
 * longest cached block prefix of its prompt, and the rest is prefilled, in chunks when a per-step
 * token budget is set (chunked prefill, vLLM / Sarathi-Serve): each step spends at most `budget`
 * tokens (the d decode tokens first, the rest on prompt chunks), and with `prefillShare` the
 * prompt tokens beside running streams are further sized from measured times so that their
 * forward takes about that share of a recent decode step's (the adaptive budget), so a long
 * prompt no longer stalls the running streams. Several waiting prompts are prefilled together in
 * one batched forward (rows padded to the longest chunk, within a padding bound). A finished or
 * cancelled sequence stores its blocks in the prefix cache and frees its row by moving the last
 * row's keys/values into it, so the batch stays dense.
 * Each sequence is a `Sequence` of ./sequence.ts (the one generation step: seeded sampling,
 * penalties, stop ids). Runs wherever the model lives (the server's worker thread); it is
 * synchronous per step and knows nothing of messages or HTTP.
 * Deliberately no preemption, FIFO admission, and at most one prompt part-way through its prefill
 * between steps (it is always the last prompt row).
 * Legend: B active rows, T chunk, V vocab, S cache capacity.
 */
import { KVCache } from '../models/kv-cache.js';
import type { CausalLM } from '../models/types.js';
import { ops, tensor, tidy, type Tensor } from '../tensor/index.js';
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

/** The server's default step budget (an upper bound: the adaptive budget usually spends fewer). */
export const DEFAULT_STEP_TOKENS = 64;
/** The server's default prefill share: a step's prompt forward beside running streams takes about
 *  this share of their decode forward, so their inter-token time grows by about that much (the
 *  issue's bound is 2x their p99; the rest is margin for noise and the step's other work). */
export const DEFAULT_PREFILL_SHARE = 0.6;
/** The adaptive budget never goes below this many prompt tokens a step (progress on a slow machine). */
export const MIN_CHUNK = 4;
/** Most tokens (rows, padding included) of one prefill forward: a longer prompt, even prefilled whole
 *  with no stream running, is fed in forwards of at most this many, within one step. The quantized
 *  mat-mul streams every activation row past each weight strip (no blocking over rows), so its cost
 *  per token rises past a few dozen rows: on the shared 2-core machine a 2,000-token prompt took 149 s
 *  in one forward and 61 s in 64-token ones, and 16 32-token prompts in one forward took 25 s against
 *  14 s one by one (docs/serve.md). */
export const MAX_FORWARD_TOKENS = 64;
/** A batched prefill's padded tokens stay within this factor of its real tokens (plus one block of slack). */
const PAD_FACTOR = 1.5, PAD_SLACK = 16;

export interface SchedulerOptions {
  /** Shared prefix cache (owned by the caller; built for this model). */
  readonly prefixCache?: PrefixCache | null;
  /** Tokens one step may spend (decode rows + prompt chunks); 0 or absent: prefill whole prompts. */
  readonly stepTokens?: number;
  /** Adaptive budget: beside running streams, a step's prompt tokens are also limited so that their
   *  forward takes about this share of the median of the last decode forwards, from the measured cost
   *  per prompt token of the last prompt forwards (never below MIN_CHUNK tokens); 0 / absent: off. */
  readonly prefillShare?: number;
  /** Milliseconds clock for the adaptive budget (tests); default performance.now. */
  readonly now?: () => number;
  /** Most tokens of one prefill forward (default MAX_FORWARD_TOKENS). */
  readonly maxForwardTokens?: number;
  /** false: one prompt per prefill forward (the bench's before row); default true. */
  readonly batchPrefill?: boolean;
  /** true: with a step budget, beside running streams, one forward takes the decode tokens and the
   *  prompt chunks, each prompt token a row of its own (fusedView). Default false: a step's prompt
   *  chunks run in forwards of their own before the decode step's plan; measured on the 1B Q4_0 at
   *  load 13 the fused op-by-op forward was slower than plan + separate chunk (docs/serve.md). */
  readonly fuse?: boolean;
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
  /** Prompt tokens this step's prefill forwards computed, padding included (0 when none ran). */
  readonly prefilled?: number;
}

/** Picks `s`'s next token from its logits row: [id, token] plus its log-probability when asked. */
function picked(s: Seq, row: Float32Array): StepResult['tokens'][number] {
  const t = s.seq.pick(row);
  return s.seq.lastLogprob ? [s.id, t, s.seq.lastLogprob] : [s.id, t];
}

export class Scheduler {
  readonly cache: KVCache;
  private rows: Seq[] = [];
  /** The sequence being prefilled (admitted, possibly part-way), in row rows.length. */
  private filling: Seq | null = null;
  private waiting: Seq[] = [];
  /** Admitted into a prefill batch, not yet in `rows` or `filling` (abortAll after a failed forward). */
  private batching: Seq[] = [];
  private cancelled = new Set<number>();
  private lasting = new Map<number, KVCache>();
  private readonly prefix: PrefixCache | null;
  private readonly budget: number;
  private readonly share: number;
  private readonly now: () => number;
  private readonly batchPrefill: boolean;
  private readonly fuse: boolean;
  private readonly maxForward: number;
  /** The last decode forwards' times (ms), newest last. */
  private decodeMs: number[] = [];
  /** Measured ms per (padded) prompt token of the recent chunks beside decoding rows (EMA); null: none yet. */
  private chunkMsPerToken: number | null = null;
  /** Padded tokens of the last such chunk step. */
  private lastChunk = MIN_CHUNK;
  promptTokens = 0;
  /** Prompt tokens whose keys/values came from the prefix cache. */
  reusedTokens = 0;

  constructor(readonly model: CausalLM, readonly slots: number, capacity: number, o: SchedulerOptions = {}) {
    this.cache = model.newCache(slots, Math.min(capacity, model.info.maxPositions));
    this.prefix = o.prefixCache ?? null;
    this.budget = o.stepTokens && o.stepTokens > 0 ? o.stepTokens : Infinity;
    this.share = o.prefillShare && o.prefillShare > 0 ? o.prefillShare : 0;
    this.now = o.now ?? (() => performance.now());
    this.batchPrefill = o.batchPrefill ?? true;
    this.fuse = o.fuse ?? false;
    this.maxForward = o.maxForwardTokens ?? MAX_FORWARD_TOKENS;
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

  /** Logits (rows, V) for `ids` (rows, T) appended to cache rows [r0, r1) (row b's valid tokens:
   *  lengths[b], right padding beyond); `all`: (rows, T, V). */
  private forward(r0: number, r1: number, ids: number[], T: number, all = false, lengths?: number[]): Float32Array {
    const out = tidy(() => {
      const v = r0 === 0 ? this.rowsView(r1) : this.view(r0, r1);
      const t = this.model.forward(tensor(ids, [r1 - r0, T], { dtype: 'i32', backend: this.model.backend }), { cache: v, logits: all ? 'all' : 'last', ...(lengths ? { lengths } : {}) });
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

  /** Tokens of the whole prefix-cache blocks `a` shares with `b` (at most all of `a` but its last token). */
  private sharedBlocks(a: readonly number[], b: readonly number[]): number {
    const n = Math.min(a.length - 1, b.length);
    let i = 0;
    while (i < n && a[i] === b[i]) i++;
    const bs = this.prefix!.blockTokens;
    return Math.floor(i / bs) * bs;
  }

  /** Starts the next waiting sequence's prefill in row `r`, from its cached prefix. */
  private admit(r: number): Seq {
    const s = this.waiting.shift()!;
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
    return s;
  }

  /** Prompt tokens the prefill of a step may compute (padding included): no bound with no stream
   *  decoding; else the token budget after the decode rows and, with the adaptive budget, what fits
   *  the share of a decode step at the measured cost per prompt token of the last chunks (growing at
   *  most 2x a step, from MIN_CHUNK). */
  private prefillRoom(): number {
    if (!this.rows.length) return Infinity; // no stream to protect
    let room = this.budget - this.rows.length;
    if (this.share) {
      const ms = this.chunkMsPerToken;
      let fit = MIN_CHUNK;
      if (ms !== null && this.decodeMs.length) {
        const d = [...this.decodeMs].sort((a, b) => a - b)[this.decodeMs.length >> 1];
        fit = Math.min(2 * this.lastChunk, Math.floor((this.share * d) / ms));
      }
      room = Math.min(room, Math.max(MIN_CHUNK, fit));
    }
    return room;
  }

  /**
   * Admits and prefills within `room` prompt tokens: batches of prompts in consecutive rows from
   * rows.length, each batch one forward of its rows padded to its longest chunk. A prompt joins the
   * batch when the padded batch stays within the room, the padding bound and the cache capacity; it
   * may join with part of its prompt only as the batch's last row (it stays `filling`).
   */
  private prefillAll(tokens: StepResult['tokens'], finished: [number, FinishReason][], prompts: NonNullable<StepResult['prompts']>): number {
    let spent = 0;
    const beside = this.rows.length > 0; // running streams wait for this step's prefill
    let room = this.prefillRoom(); // once a step (Infinity until a stream decodes)
    for (;;) {
      if (!this.filling) {
        if (!this.waiting.length || this.rows.length >= this.slots) break;
        this.filling = this.admit(this.rows.length);
      }
      const r0 = this.rows.length;
      if (room === Infinity && this.rows.length) room = this.prefillRoom();
      if (room - spent <= 0) break;
      const left = Math.min(room - spent, this.maxForward);
      const first = this.filling;
      const group: [s: Seq, T: number][] = [[first, Math.min(first.promptIds.length - first.fed, left)]];
      let Tmax = group[0][1], real = Tmax, maxLen = this.cache.lens[r0];
      // others join whole-prompt batches that need no log-probabilities of the prompt
      while (this.batchPrefill && !first.promptLps && group[group.length - 1][1] === group[group.length - 1][0].promptIds.length - group[group.length - 1][0].fed && this.waiting.length && r0 + group.length < this.slots) {
        const c = this.waiting[0];
        if (c.promptLps) break;
        const cached = this.prefix ? this.prefix.matchLength(c.promptIds, c.promptIds.length - 1) : 0;
        // a prompt sharing more whole blocks with one in this batch than the cache holds waits for
        // the next batch, which finds them cached (n samples of one prompt: one prefill, not n)
        if (this.prefix && group.some(([g]) => this.sharedBlocks(c.promptIds, g.promptIds) > cached)) break;
        const rem = c.promptIds.length - cached;
        const k = group.length + 1;
        let T = rem;
        if (k * Math.max(Tmax, T) > left) T = Math.min(rem, Tmax); // part of it, as the last row
        const Tm = Math.max(Tmax, T);
        const len = Math.max(maxLen, cached);
        if (k * Tm > left || k * Tm > PAD_FACTOR * (real + T) + PAD_SLACK || len + Tm > this.capacity) break;
        group.push([this.admit(r0 + group.length), T]);
        Tmax = Tm;
        real += T;
        maxLen = len;
      }
      const t0 = this.now();
      this.batching = group.slice(1).map(([s]) => s);
      spent += this.runBatch(r0, group, Tmax, tokens, finished, prompts);
      this.batching = [];
      if (beside) {
        const per = (this.now() - t0) / (group.length * Tmax);
        this.chunkMsPerToken = this.chunkMsPerToken === null ? per : 0.5 * (this.chunkMsPerToken + per);
      }
    }
    if (beside && spent) this.lastChunk = spent;
    return spent;
  }

  /** `s`, its prompt all fed in row rows.length, joins the decoding rows; the prompt's blocks go to
   *  the prefix cache and `s` pins them in place of the cached prefix it started from. */
  private joinRows(s: Seq): void {
    const r = this.rows.length;
    this.rows.push(s);
    if (this.prefix) {
      const chain = this.prefix.store(s.promptIds, this.cache, r);
      this.prefix.acquire(chain);
      this.prefix.release(s.blocks);
      s.blocks = chain;
    }
  }

  /** One prefill forward over rows [r0, r0 + group.length): prompts that end join the decoding
   *  rows in order (a part-way last one stays `filling`); returns the padded tokens. */
  private runBatch(r0: number, group: [Seq, number][], Tmax: number, tokens: StepResult['tokens'], finished: [number, FinishReason][], prompts: NonNullable<StepResult['prompts']>): number {
    const k = group.length;
    const ids: number[] = [];
    for (const [s, T] of group) {
      ids.push(...s.promptIds.slice(s.fed, s.fed + T));
      for (let t = T; t < Tmax; t++) ids.push(s.promptIds[s.fed]); // padding (never read: beyond the row's length)
    }
    const all = k === 1 && !!group[0][0].promptLps;
    let logits = this.forward(r0, r0 + k, ids, Tmax, all, k > 1 ? group.map(([, T]) => T) : undefined);
    const V = this.model.info.vocabSize;
    if (all) {
      // position t of this chunk predicts prompt id fed + t + 1; the last position picks the first new token
      const s = group[0][0];
      s.promptLps!.push(...nextLogprobs(logits, V, s.promptIds.slice(s.fed + 1, s.fed + Tmax + 1), s.logprobs ?? 0, s.sampling.vocabSize ?? V));
      logits = logits.subarray((Tmax - 1) * V, Tmax * V);
    }
    const ended: number[] = [];
    this.filling = null;
    group.forEach(([s, T], j) => {
      s.fed += T;
      if (s.fed < s.promptIds.length) {
        this.filling = s; // the last row (prefillAll admits no one after a part-way prompt)
        return;
      }
      const r = this.rows.length;
      if (s.promptLps) prompts.push([s.id, s.promptLps]);
      this.joinRows(s);
      tokens.push(picked(s, logits.subarray(j * V, (j + 1) * V)));
      ended.push(r);
    });
    // downwards, so the row that free() moves into r was already handled
    for (let i = ended.length - 1; i >= 0; i--) {
      const r = ended[i];
      const why = this.doneReason(this.rows[r], r);
      if (why) {
        finished.push([this.rows[r].id, why]);
        this.free(r, true);
      }
    }
    return k * Tmax;
  }

  /**
   * A cache of virtual rows for one fused step: decode rows 0..B-1 as they are, then one row per
   * prompt token of each chunk, all over that prompt's cache row (a stride-0 view of it) at
   * positions fed, fed+1, ...: so each prompt token is one more row of the step's mat-muls (no
   * padding, no forward of its own) and attends causally over its prompt's keys written so far.
   * Only valid inside a tidy; never planned.
   */
  private fusedView(B: number, chunks: readonly { row: number; from: number; T: number }[]): KVCache {
    const c = this.cache;
    const lens = c.lens.slice(0, B);
    const parts: { b0: number; b1: number; row: number }[] = [{ b0: 0, b1: B, row: -1 }];
    for (const ch of chunks) {
      parts.push({ b0: lens.length, b1: lens.length + ch.T, row: ch.row });
      for (let t = 0; t < ch.T; t++) lens.push(ch.from + t);
    }
    const v = Object.create(KVCache.prototype) as KVCache;
    const attend = (layer: number, q: Tensor, k: Tensor, vv: Tensor, starts: readonly number[], window: number): Tensor => {
      if (q.shape[2] !== 1) throw new Error('scheduler: a fused step feeds one token per row');
      const outs: Tensor[] = [];
      for (const p of parts) {
        const n = p.b1 - p.b0;
        if (!n) continue;
        const [K, V] = [c.k[layer], c.v[layer]].map((t) => (p.row < 0 ? t.slice(0, 0, n) : t.slice(0, p.row, p.row + 1).expand(n, -1, -1, -1)));
        for (let b = p.b0; b < p.b1; b++) {
          for (const [dst, src] of [[K, k], [V, vv]] as const) c.k[0].backend.copy(dst.slice(0, b - p.b0, b - p.b0 + 1).slice(2, starts[b], starts[b] + 1), src.slice(0, b, b + 1));
        }
        const st = starts.slice(p.b0, p.b1);
        outs.push(ops.sdpa(q.slice(0, p.b0, p.b1), K, V, { causal: true, pastLen: st, kvLen: st.map((x) => x + 1), ...(window ? { window } : {}) }));
      }
      return outs.length === 1 ? outs[0] : ops.cat(outs, 0);
    };
    Object.assign(v, { k: [], v: [], lens, nLayers: c.nLayers, batch: lens.length, nKvHeads: c.nKvHeads, capacity: c.capacity, headDim: c.headDim, planable: false, attend });
    return v;
  }

  /**
   * A step with streams decoding and prompts to prefill, in one forward (fusedView): the decode
   * rows' tokens and prompt chunks within the step's room (the first waiting prompt part-way at
   * most, as the last). A prompt whose last token is in it picks its first token and joins the
   * decoding rows. Null when this step should take the separate path instead (a prompt wanting
   * log-probabilities of its tokens, or no decode step measured yet for the adaptive budget).
   */
  private fusedStep(tokens: StepResult['tokens'], finished: [number, FinishReason][]): number | null {
    if (this.share && !this.decodeMs.length) return null;
    if (!this.filling && this.waiting[0]?.promptLps) return null;
    if (this.filling?.promptLps) return null;
    const B = this.rows.length;
    const room = this.prefillRoom();
    const group: [s: Seq, T: number][] = [];
    let spent = 0;
    for (;;) {
      let s = group.length ? null : this.filling;
      if (!s) {
        const c = this.waiting[0];
        if (!c || c.promptLps || B + group.length >= this.slots || (group.length && !this.batchPrefill)) break;
        const cached = this.prefix ? this.prefix.matchLength(c.promptIds, c.promptIds.length - 1) : 0;
        if (this.prefix && group.some(([g]) => this.sharedBlocks(c.promptIds, g.promptIds) > cached)) break;
        s = this.admit(B + group.length);
        if (group.length) this.batching.push(s);
        else this.filling = s;
      }
      const T = Math.min(s.promptIds.length - s.fed, room - spent);
      group.push([s, T]);
      spent += T;
      if (T < s.promptIds.length - s.fed || spent >= room) break;
    }
    if (!spent) return 0;
    const ids = [...this.rows.map((s) => s.seq.last), ...group.flatMap(([s, T]) => s.promptIds.slice(s.fed, s.fed + T))];
    const t0 = this.now();
    const logits = tidy(() => {
      const v = this.fusedView(B, group.map(([s, T], j) => ({ row: B + j, from: s.fed, T })));
      const t = this.model.forward(tensor(ids, [ids.length, 1], { dtype: 'i32', backend: this.model.backend }), { cache: v, logits: 'last' });
      for (let b = 0; b < B; b++) this.cache.lens[b] = v.lens[b];
      return t;
    });
    const all = logits.toFloat32Array();
    logits.dispose();
    const ms = this.now() - t0;
    const d = [...this.decodeMs].sort((a, b) => a - b)[this.decodeMs.length >> 1] ?? 0;
    const per = Math.max(ms - d, ms / 100) / spent;
    this.chunkMsPerToken = this.chunkMsPerToken === null ? per : 0.5 * (this.chunkMsPerToken + per);
    this.lastChunk = spent;
    const V = this.model.info.vocabSize;
    // the decode rows' tokens, then each chunk's last row for a prompt that ends here
    for (let b = 0; b < B; b++) tokens.push(picked(this.rows[b], all.subarray(b * V, (b + 1) * V)));
    let at = B;
    this.filling = null;
    this.batching = [];
    for (const [s, T] of group) {
      const r = this.rows.length;
      this.cache.lens[r] = s.fed + T;
      s.fed += T;
      at += T;
      if (s.fed < s.promptIds.length) {
        this.filling = s; // the last of the group
        continue;
      }
      this.joinRows(s);
      tokens.push(picked(s, all.subarray((at - 1) * V, at * V)));
    }
    // downwards, so the row that free() moves into b was already handled
    for (let b = this.rows.length - 1; b >= 0; b--) {
      const why = this.doneReason(this.rows[b], b);
      if (why) {
        finished.push([this.rows[b].id, why]);
        this.free(b, why !== 'cancelled');
      }
    }
    return spent;
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
    // beside running streams, the decode tokens and prompt chunks in one forward (when chunked: the
    // forward computes logits for every row, which a budget keeps to a few dozen)
    if (this.fuse && this.budget < Infinity && this.rows.length && (this.filling || (this.waiting.length && this.rows.length < this.slots))) {
      const B = this.rows.length;
      const fused = this.fusedStep(tokens, finished);
      if (fused !== null && fused > 0) return { tokens, finished, batch: B, prefilled: fused };
    }
    // the decode rows of this step come first in the budget, prompts get the rest; with nothing
    // decoding prompts are prefilled whole (no stream to protect)
    const spent = this.prefillAll(tokens, finished, prompts);
    // every decoding row decodes its last token (a row admitted just now gets its second token here)
    const B = this.rows.length;
    const extra = { ...(prompts.length ? { prompts } : {}), ...(spent ? { prefilled: spent } : {}) };
    if (B === 0) return { tokens, finished, batch: 0, ...extra };
    const V = this.model.info.vocabSize;
    const t0 = this.now();
    const logits = this.forward(0, B, this.rows.map((s) => s.seq.last), 1);
    this.decodeMs.push(this.now() - t0);
    if (this.decodeMs.length > 8) this.decodeMs.shift();
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
    const all = [...this.rows, ...(this.filling ? [this.filling] : []), ...this.batching, ...this.waiting];
    for (const s of all) this.retire(s, -1);
    this.rows = [];
    this.filling = null;
    this.batching = [];
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
