/**
 * The prefix cache: keys/values of fixed-size token blocks (vLLM's automatic prefix caching, SGLang's
 * radix cache at block granularity), shared by every request and sequence of one model. A block is
 * found by its tokens AND everything before it: its key is its parent block's id plus its own ids, so
 * a lookup walks a prompt block by block from the start and stops at the first miss (no hash
 * collisions can ever return the wrong keys/values: the Map compares the whole key). The pool is
 * bounded in MB, allocated once; a full pool evicts the least recently used block that is neither
 * pinned nor the parent of another block.
 *
 * Pins: a running sequence pins the blocks it matched and stored (`acquire` / `release`), so its
 * prefix stays resident until it finishes (its next turn will want it) and eviction never takes a
 * block a running sequence holds; a pool whose every block is pinned simply stores nothing more.
 *
 * Deliberately copy-in / copy-out: a hit copies the blocks' keys/values into the sequence's own row
 * of its KV cache (memcpy of ~45 KB per token for a 1B model, against a forward over that token), and
 * attention keeps reading one contiguous row per sequence. Not here: paged attention over shared
 * blocks, partial (unfilled) blocks, or any notion of text. Legend: Hkv kv heads, D head dim, N blocks.
 */
import type { KVCache } from '../models/kv-cache.js';
import type { CausalLM } from '../models/types.js';
import { Tensor, tidy } from '../tensor/index.js';

/** Tokens per block unless told otherwise (vLLM uses 16; larger blocks mean fewer copies). */
export const PREFIX_BLOCK = 32;

export interface PrefixCacheOptions {
  /** Pool size in MiB (the `--prefix-cache-mb` flag). */
  readonly mb: number;
  /** The longest sequence (prompt + reply) the cache must be able to hold: the error bound. */
  readonly maxTokens: number;
  /** Tokens per block (default PREFIX_BLOCK). */
  readonly blockTokens?: number;
}

/** One cached block (internal; exposed as an opaque handle). */
export interface Block {
  readonly id: number;
  readonly key: string;
  readonly parent: Block | null;
  readonly slot: number;
  pins: number;
  children: number;
  used: number;
}

/** Bytes of one block of `bs` tokens: keys and values of every layer in f32. */
export function blockBytes(info: { nLayers: number; nKvHeads: number; headDim: number }, bs: number): number {
  return 2 * info.nLayers * info.nKvHeads * bs * info.headDim * 4;
}

/** The smallest `--prefix-cache-mb` that holds one sequence of `maxTokens` tokens. */
export function minPrefixCacheMb(info: { nLayers: number; nKvHeads: number; headDim: number }, maxTokens: number, bs = PREFIX_BLOCK): number {
  return Math.ceil((Math.ceil(maxTokens / bs) * blockBytes(info, bs)) / 2 ** 20);
}

export class PrefixCache {
  readonly blockTokens: number;
  readonly nBlocks: number;
  /** Per layer (N, Hkv, bs, D). */
  private readonly k: Tensor[] = [];
  private readonly v: Tensor[] = [];
  private readonly byKey = new Map<string, Block>();
  private readonly free: number[] = [];
  private nextId = 1;
  private clock = 0;
  /** Counters for stats and tests. */
  hits = 0;
  lookups = 0;
  evictions = 0;

  constructor(readonly model: CausalLM, o: PrefixCacheOptions) {
    const bs = (this.blockTokens = o.blockTokens ?? PREFIX_BLOCK);
    const info = model.info;
    this.nBlocks = Math.floor((o.mb * 2 ** 20) / blockBytes(info, bs));
    const need = Math.ceil(o.maxTokens / bs);
    if (!(this.nBlocks >= need)) {
      throw new Error(`--prefix-cache-mb ${o.mb} holds ${this.nBlocks} blocks of ${bs} tokens, fewer than one sequence of ${o.maxTokens} tokens needs (${need}): give at least ${minPrefixCacheMb(info, o.maxTokens, bs)} (or 0 to turn the prefix cache off)`);
    }
    for (let l = 0; l < info.nLayers; l++) {
      this.k.push(Tensor.empty(model.backend, 'f32', [this.nBlocks, info.nKvHeads, bs, info.headDim]).keep());
      this.v.push(Tensor.empty(model.backend, 'f32', [this.nBlocks, info.nKvHeads, bs, info.headDim]).keep());
    }
    for (let s = this.nBlocks - 1; s >= 0; s--) this.free.push(s);
  }

  /** Blocks in use (cached). */
  get size(): number {
    return this.byKey.size;
  }

  private keyOf(parent: Block | null, ids: readonly number[], i: number): string {
    return `${parent?.id ?? 0}|${ids.slice(i * this.blockTokens, (i + 1) * this.blockTokens).join(',')}`;
  }

  /** The cached blocks that start `ids`, at most `maxTokens` tokens' worth, in order (touched as used). */
  match(ids: readonly number[], maxTokens = ids.length): Block[] {
    const out: Block[] = [];
    const n = Math.floor(Math.min(maxTokens, ids.length) / this.blockTokens);
    this.lookups++;
    let parent: Block | null = null;
    for (let i = 0; i < n; i++) {
      const b = this.byKey.get(this.keyOf(parent, ids, i));
      if (!b) break;
      b.used = ++this.clock;
      out.push(b);
      parent = b;
    }
    if (out.length) this.hits++;
    return out;
  }

  /** Tokens `match` would find now, without touching anything (no counters, no LRU use). */
  matchLength(ids: readonly number[], maxTokens = ids.length): number {
    const n = Math.floor(Math.min(maxTokens, ids.length) / this.blockTokens);
    let parent: Block | null = null, i = 0;
    for (; i < n; i++) {
      const b = this.byKey.get(this.keyOf(parent, ids, i));
      if (!b) break;
      parent = b;
    }
    return i * this.blockTokens;
  }

  /** Pins blocks (a running sequence holds them). */
  acquire(blocks: readonly Block[]): void {
    for (const b of blocks) b.pins++;
  }

  /** Unpins blocks acquired before. */
  release(blocks: readonly Block[]): void {
    for (const b of blocks) {
      if (b.pins <= 0) throw new Error(`prefix cache: block ${b.id} released more often than acquired`);
      b.pins--;
    }
  }

  /** Copies `blocks` (a chain from position 0) into row `row` of `cache` and sets its length. */
  load(blocks: readonly Block[], cache: KVCache, row: number): void {
    const bs = this.blockTokens;
    tidy(() => {
      for (let l = 0; l < this.k.length; l++) {
        blocks.forEach((b, i) => {
          for (const [pool, dst] of [[this.k[l], cache.k[l]], [this.v[l], cache.v[l]]]) {
            dst.backend.copy(dst.slice(0, row, row + 1).slice(2, i * bs, (i + 1) * bs), pool.slice(0, b.slot, b.slot + 1));
          }
        });
      }
      return [];
    });
    cache.lens[row] = blocks.length * bs;
  }

  /**
   * Stores the full blocks of `ids` whose keys/values sit in row `row` of `cache` (positions
   * 0..cache.lens[row]) and are not cached yet. Returns the chain of blocks now cached for `ids`
   * (the existing ones touched), which stops early when the pool has no evictable block left.
   */
  store(ids: readonly number[], cache: KVCache, row: number): Block[] {
    const bs = this.blockTokens;
    const n = Math.floor(Math.min(ids.length, cache.lens[row]) / bs);
    const chain: Block[] = [];
    let parent: Block | null = null;
    for (let i = 0; i < n; i++) {
      const key = this.keyOf(parent, ids, i);
      let b = this.byKey.get(key);
      if (!b) {
        // the chain itself is pinned while it grows, so eviction cannot take its own parent
        this.acquire(chain);
        const slot = this.take();
        this.release(chain);
        if (slot < 0) break;
        b = { id: this.nextId++, key, parent, slot, pins: 0, children: 0, used: 0 };
        this.byKey.set(key, b);
        if (parent) parent.children++;
        tidy(() => {
          for (let l = 0; l < this.k.length; l++) {
            for (const [pool, src] of [[this.k[l], cache.k[l]], [this.v[l], cache.v[l]]]) {
              pool.backend.copy(pool.slice(0, slot, slot + 1), src.slice(0, row, row + 1).slice(2, i * bs, (i + 1) * bs));
            }
          }
          return [];
        });
      }
      b.used = ++this.clock;
      chain.push(b);
      parent = b;
    }
    return chain;
  }

  /** A free slot, evicting the least recently used unpinned leaf when none is free; -1 if none can go. */
  private take(): number {
    if (this.free.length) return this.free.pop()!;
    let victim: Block | null = null;
    for (const b of this.byKey.values()) if (b.pins === 0 && b.children === 0 && (!victim || b.used < victim.used)) victim = b;
    if (!victim) return -1;
    this.byKey.delete(victim.key);
    if (victim.parent) victim.parent.children--;
    this.evictions++;
    return victim.slot;
  }

  /** Checks the pool's bookkeeping (tests): slots unique, parents present, child counts right. */
  check(): void {
    const slots = new Set<number>(this.free);
    const kids = new Map<Block, number>();
    for (const b of this.byKey.values()) {
      if (slots.has(b.slot)) throw new Error(`prefix cache: slot ${b.slot} used twice`);
      slots.add(b.slot);
      if (b.pins < 0) throw new Error(`prefix cache: block ${b.id} has ${b.pins} pins`);
      if (b.parent) {
        if (this.byKey.get(b.parent.key) !== b.parent) throw new Error(`prefix cache: block ${b.id} lost its parent`);
        kids.set(b.parent, (kids.get(b.parent) ?? 0) + 1);
      }
    }
    for (const b of this.byKey.values()) if ((kids.get(b) ?? 0) !== b.children) throw new Error(`prefix cache: block ${b.id} counts ${b.children} children, has ${kids.get(b) ?? 0}`);
    if (slots.size !== this.nBlocks) throw new Error(`prefix cache: ${this.nBlocks - slots.size} slots lost`);
  }

  /** Whether `b` is still cached (tests: a pinned block must be). */
  has(b: Block): boolean {
    return this.byKey.get(b.key) === b;
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.byKey.clear();
  }
}

/** The default pool: room for two sequences of `maxTokens` (one conversation plus its neighbour),
 *  at most 1 GiB unless one sequence alone needs more. */
export function defaultPrefixCacheMb(info: { nLayers: number; nKvHeads: number; headDim: number }, maxTokens: number): number {
  const min = minPrefixCacheMb(info, maxTokens);
  return Math.max(min, Math.min(2 * min, 1024));
}

/** The pool for `--prefix-cache-mb` (undefined: the default size; 0: none). */
export function createPrefixCache(model: CausalLM, mb: number | undefined, maxTokens: number): PrefixCache | null {
  const size = mb ?? defaultPrefixCacheMb(model.info, maxTokens);
  return size > 0 ? new PrefixCache(model, { mb: size, maxTokens }) : null;
}
