/**
 * Continuous batching over one preallocated KV cache of `slots` rows (vLLM / llama.cpp server
 * style, without paging): active sequences occupy rows 0..n-1; between decode steps waiting
 * sequences are admitted (prefilled alone in their row), then ONE batched decode step runs over
 * rows 0..n-1 through a row-range view of the cache. A finished or cancelled sequence frees its
 * row by moving the last row's keys/values into it, so the batch stays dense.
 * Each sequence is a `Sequence` of ./sequence.ts (the one generation step: seeded sampling,
 * penalties, stop ids). Runs wherever the model lives (the server's worker thread); it is
 * synchronous per step and knows nothing of messages or HTTP.
 * Deliberately no prefix caching, no chunked prefill and no preemption.
 * Legend: B active rows, T chunk, V vocab, S cache capacity.
 */
import { KVCache } from '../models/kv-cache.js';
import type { CausalLM } from '../models/types.js';
import { tensor, tidy } from '../tensor/index.js';
import type { TokenConstraint } from './constrain/mask.js';
import type { SamplingOptions } from './sampler.js';
import { Sequence } from './sequence.js';

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
}

interface Seq extends SeqRequest {
  seq: Sequence;
}

/** What one step produced: new tokens and finished sequences. */
export interface StepResult {
  readonly tokens: [id: number, token: number][];
  readonly finished: [id: number, reason: FinishReason][];
  /** Rows in the batched decode (0 when only prefill ran). */
  readonly batch: number;
}

export class Scheduler {
  readonly cache: KVCache;
  private rows: Seq[] = [];
  private waiting: Seq[] = [];
  private cancelled = new Set<number>();
  private _row0: KVCache | null = null;
  promptTokens = 0;

  constructor(readonly model: CausalLM, readonly slots: number, capacity: number) {
    this.cache = model.newCache(slots, Math.min(capacity, model.info.maxPositions));
  }

  get capacity(): number {
    return this.cache.capacity;
  }
  get active(): number {
    return this.rows.length;
  }
  get queued(): number {
    return this.waiting.length;
  }
  idle(): boolean {
    return !this.rows.length && !this.waiting.length;
  }

  add(r: SeqRequest): void {
    if (r.promptIds.length < 1 || r.promptIds.length >= this.capacity) throw new Error(`prompt of ${r.promptIds.length} tokens does not fit the context of ${this.capacity}`);
    this.waiting.push({ ...r, seq: new Sequence(r.promptIds, { ...r.sampling, maxNewTokens: r.maxNewTokens, stopIds: r.stopIds, constraint: r.constraint }) });
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

  /** The lasting view of row 0: one sequence alone decodes through its decode plan (recorded once),
   *  the common case of a local server with one user. */
  private row0(): KVCache {
    if (!this._row0) {
      const c = this.cache;
      const v = Object.create(KVCache.prototype) as KVCache;
      Object.assign(v, {
        k: c.k.map((t) => t.slice(0, 0, 1).keep()), v: c.v.map((t) => t.slice(0, 0, 1).keep()), lens: [0],
        nLayers: c.nLayers, batch: 1, nKvHeads: c.nKvHeads, capacity: c.capacity, headDim: c.headDim, planable: true,
      });
      this._row0 = v;
    }
    this._row0.lens[0] = this.cache.lens[0];
    return this._row0;
  }

  /** Logits (rows, V) for `ids` (rows, T) appended to cache rows [r0, r1). */
  private forward(r0: number, r1: number, ids: number[], T: number): Float32Array {
    const out = tidy(() => {
      const v = r0 === 0 && r1 === 1 ? this.row0() : this.view(r0, r1);
      const t = this.model.forward(tensor(ids, [r1 - r0, T], { dtype: 'i32', backend: this.model.backend }), { cache: v, logits: 'last' });
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

  /** Frees row `i` by moving the last active row into it. */
  private free(i: number): void {
    const last = this.rows.length - 1;
    if (i !== last) {
      const len = this.cache.lens[last];
      tidy(() => {
        for (const t of [...this.cache.k, ...this.cache.v]) t.backend.copy(t.slice(0, i, i + 1).slice(2, 0, len), t.slice(0, last, last + 1).slice(2, 0, len));
        return [];
      });
      this.cache.lens[i] = len;
      this.rows[i] = this.rows[last];
    }
    this.cache.lens[last] = 0;
    this.rows.pop();
  }

  /** Admits waiting sequences into free rows (one prefill each), then runs one batched decode step. */
  step(): StepResult {
    const tokens: [number, number][] = [];
    const finished: [number, FinishReason][] = [];
    const finish = (i: number, reason: FinishReason): void => {
      finished.push([this.rows[i].id, reason]);
      this.free(i);
    };
    this.waiting = this.waiting.filter((s) => !this.cancelled.has(s.id) || (finished.push([s.id, 'cancelled']), false));
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.cancelled.has(this.rows[i].id)) finish(i, 'cancelled');
    this.cancelled.clear();
    while (this.rows.length < this.slots && this.waiting.length) {
      const s = this.waiting.shift()!;
      const r = this.rows.length;
      this.rows.push(s);
      this.cache.lens[r] = 0;
      const logits = this.forward(r, r + 1, [...s.promptIds], s.promptIds.length);
      this.promptTokens += s.promptIds.length;
      tokens.push([s.id, s.seq.pick(logits)]);
      const why = this.doneReason(s, r);
      if (why) finish(r, why);
    }
    // every active row decodes its last token (a row admitted just now gets its second token here)
    const B = this.rows.length;
    if (B === 0) return { tokens, finished, batch: 0 };
    const V = this.model.info.vocabSize;
    const logits = this.forward(0, B, this.rows.map((s) => s.seq.last), 1);
    // downwards, so the row that free() moves into b was already handled
    for (let b = B - 1; b >= 0; b--) {
      const s = this.rows[b];
      tokens.push([s.id, s.seq.pick(logits.subarray(b * V, (b + 1) * V))]);
      const why = this.doneReason(s, b);
      if (why) finish(b, why);
    }
    return { tokens, finished, batch: B };
  }

  /** Drops every sequence (after a failed step); returns their ids. */
  abortAll(): number[] {
    const ids = [...this.rows, ...this.waiting].map((x) => x.id);
    this.rows = [];
    this.waiting = [];
    this.cancelled.clear();
    this.cache.reset();
    return ids;
  }

  dispose(): void {
    this._row0?.dispose(); // its plan and its slices (the storage stays with the cache)
    this._row0 = null;
    this.cache.dispose();
  }
}
