/**
 * The chat loop's model (a `TokenGenerator` of src/chat/loop.ts) over a real model: one KV cache
 * kept across calls, so that a prompt that extends the previous call's prompt + output (the plugin
 * loop re-sends the whole conversation at every step) only prefills its new tokens. A thin driver
 * of the one generation step (./sequence.ts: same samplers, same seeded draws), so its ids equal
 * `generate(model, prompt, { seed })` token for token; the cache only saves work.
 * Follows llama.cpp server's prompt-prefix cache reuse (`cache_prompt`). With a shared block
 * prefix cache (./prefix-blocks.ts, `prefixCache`) a prompt whose start was seen by an earlier call
 * of any generator on that pool (another conversation, the same few-shot header) copies those keys
 * and values in instead of prefilling them, and each call stores its blocks there when it ends.
 * Deliberately not here: batching several conversations, text, stop strings (the loop stops on ids).
 */
import type { CausalLM } from '../models/types.js';
import type { KVCache } from '../models/kv-cache.js';
import { tensor, tidy } from '../tensor/index.js';
import type { Block, PrefixCache } from './prefix-blocks.js';
import type { SamplingOptions } from './sampler.js';
import { Sequence } from './sequence.js';

export interface AdapterOptions extends SamplingOptions {
  /** Base seed: call k (from 0) samples with seed + k. Default: a random seed per call. */
  readonly seed?: number;
  /** Ids that always end a generation (e.g. the model's EOS), besides the loop's stop ids. */
  readonly stopIds?: readonly number[];
  /** Cache capacity in tokens (default the model's maxPositions). */
  readonly maxContext?: number;
  /** Reuse the cached prefix across calls (default true; false = prefill every prompt afresh). */
  readonly reusePrefix?: boolean;
  /** A block prefix cache shared with other generators of the same model (see ./prefix-blocks.ts). */
  readonly prefixCache?: PrefixCache | null;
}

/** What the last call did (for tests and `--verbose`). */
export interface AdapterCallStats {
  promptTokens: number;
  /** Prompt tokens whose keys/values came from the cache. */
  reusedTokens: number;
  completionTokens: number;
  seed: number;
  finishReason: 'stop' | 'length' | 'abort';
}

/** Length of the common prefix of two id lists. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * @example
 * const gen = new ModelGenerator(model, { ...model.info.sampling, stopIds: model.info.eosIds });
 * const turn = await chatTurn(history, 'hi', { model: gen, tokenizer, plugins, switches });
 */
export class ModelGenerator {
  private cache: KVCache | null = null;
  /** The ids whose keys/values are in the cache, in order (cache.lens[0] === ids.length). */
  private cached: number[] = [];
  private calls = 0;
  private busy = false;
  readonly capacity: number;
  last: AdapterCallStats | null = null;

  constructor(readonly model: CausalLM, readonly options: AdapterOptions = {}) {
    this.capacity = Math.min(options.maxContext ?? model.info.maxPositions, model.info.maxPositions);
    if (!(this.capacity >= 2)) throw new Error(`ModelGenerator: context ${this.capacity} is too small`);
  }

  /** Forgets the cached prefix (keeps the memory). */
  reset(): void {
    this.cache?.reset();
    this.cached = [];
  }

  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
    this.cached = [];
  }

  /** Logits (V) after feeding `ids` (appended to the cache). */
  private feed(ids: readonly number[]): Float32Array {
    const cache = (this.cache ??= this.model.newCache(1, this.capacity));
    const before = this.cached;
    this.cached = []; // a forward that throws half-way leaves the cache unknown
    const t = tidy(() => this.model.forward(tensor([...ids], [1, ids.length], { dtype: 'i32', backend: this.model.backend }), { cache, logits: 'last' }));
    const v = t.toFloat32Array();
    t.dispose();
    this.cached = before.concat(ids);
    return v;
  }

  async *generate(promptIds: readonly number[], opts: { stopIds: readonly number[]; maxNewTokens: number; signal?: AbortSignal }): AsyncGenerator<number, void> {
    if (this.busy) throw new Error('ModelGenerator: one generation at a time');
    const T = promptIds.length;
    const V = this.model.info.vocabSize;
    if (T === 0) throw new Error('generate: the prompt is empty');
    for (const id of promptIds) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`generate: prompt id ${id} is outside the vocabulary [0, ${V})`);
    if (T >= this.capacity) throw new Error(`generate: the prompt (${T} tokens) fills the context of ${this.capacity}`);
    const o = this.options;
    const maxNew = Math.min(opts.maxNewTokens, this.capacity - T);
    const seed = o.seed !== undefined ? o.seed + this.calls : Math.floor(Math.random() * 2 ** 32);
    this.calls++;
    const seq = new Sequence(promptIds, { ...o, seed, maxNewTokens: maxNew, stopIds: [...opts.stopIds, ...(o.stopIds ?? [])] });
    // Keep at least one prompt token to feed: its logits pick the first new token.
    let reuse = o.reusePrefix === false ? 0 : Math.min(commonPrefix(this.cached, promptIds), T - 1);
    const pool = o.reusePrefix === false ? null : (o.prefixCache ?? null);
    const blocks: Block[] = pool ? pool.match(promptIds, T - 1) : [];
    if (pool && blocks.length * pool.blockTokens > reuse && !opts.signal?.aborted && !seq.done) {
      const cache = (this.cache ??= this.model.newCache(1, this.capacity));
      this.cached = [];
      pool.load(blocks, cache, 0);
      reuse = blocks.length * pool.blockTokens;
      this.cached = promptIds.slice(0, reuse);
    }
    const stats: AdapterCallStats = { promptTokens: T, reusedTokens: reuse, completionTokens: 0, seed, finishReason: 'length' };
    this.last = stats;
    if (opts.signal?.aborted) {
      stats.finishReason = 'abort'; // cancelled before it started: no prefill, nothing yielded
      return;
    }
    if (seq.done) return;
    this.busy = true;
    pool?.acquire(blocks);
    try {
      if (this.cache) this.cache.truncate(0, reuse);
      this.cached = this.cached.slice(0, reuse);
      let logits = this.feed(promptIds.slice(reuse));
      for (;;) {
        const id = seq.pick(logits);
        stats.completionTokens++;
        yield id;
        if (seq.done === 'stop') {
          stats.finishReason = 'stop';
          return;
        }
        if (seq.done) break;
        if (opts.signal?.aborted) {
          stats.finishReason = 'abort';
          return;
        }
        await new Promise((res) => setImmediate(res)); // let Ctrl-C and other I/O run between steps
        if (opts.signal?.aborted) {
          stats.finishReason = 'abort';
          return;
        }
        logits = this.feed([id]);
      }
    } finally {
      this.busy = false;
      if (pool && this.cache) {
        pool.store(this.cached, this.cache, 0);
        pool.release(blocks);
      }
    }
  }
}
