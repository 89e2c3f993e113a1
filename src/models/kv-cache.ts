/**
 * A preallocated key/value cache: per layer one K and one V tensor (B, Hkv, S, D), written in place
 * as tokens arrive, plus the number of cached tokens per batch row. Rows may hold different
 * lengths (batched prompts of different sizes): attention reads each row up to its own length.
 * Follows llama.cpp's unified cache and HF's StaticCache. Not here: paging, eviction, sliding
 * windows, quantized caches.
 * Legend: B batch, Hkv key/value heads, S capacity, T chunk length, D head dim.
 */
import type { Backend } from '../backends/backend.js';
import { Tensor } from '../tensor/index.js';

export class KVCache {
  /** Per layer (B, Hkv, S, D) f32. */
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  /** Cached tokens per batch row. */
  readonly lens: number[];
  /** The decode plan recorded against this cache (decode-plan.ts), disposed with it. */
  plan?: { readonly owner: object; readonly step: unknown; dispose(): void };
  /** A cache whose batch rows are not one strided view (the scheduler's fused step: decode rows plus
   *  prompt tokens, each token a row of its own over its sequence's cache row) writes this chunk's
   *  keys/values (B, Hkv, T, D) and attends q (B, H, T, D) itself; causalAttention calls it instead of
   *  write + sdpa over `k`/`v`. Absent for ordinary caches. */
  attend?: (layer: number, q: Tensor, k: Tensor, v: Tensor, starts: readonly number[], window: number) => Tensor;
  /** false for short-lived views of another cache (their plan would be recorded per call and
   *  never disposed): such caches always decode op by op. */
  planable = true;

  constructor(
    backend: Backend,
    readonly nLayers: number,
    readonly batch: number,
    readonly nKvHeads: number,
    readonly capacity: number,
    readonly headDim: number,
  ) {
    if (capacity < 1) throw new Error(`KVCache: capacity must be positive, got ${capacity}`);
    for (let l = 0; l < nLayers; l++) {
      this.k.push(Tensor.empty(backend, 'f32', [batch, nKvHeads, capacity, headDim]).keep());
      this.v.push(Tensor.empty(backend, 'f32', [batch, nKvHeads, capacity, headDim]).keep());
    }
    this.lens = new Array<number>(batch).fill(0);
  }

  /** Checks that a chunk of T tokens fits every row and returns the start positions. */
  starts(T: number): number[] {
    for (let b = 0; b < this.batch; b++) {
      if (this.lens[b] + T > this.capacity) {
        throw new Error(`KV cache full: row ${b} holds ${this.lens[b]} tokens, ${T} more exceed its capacity ${this.capacity}`);
      }
    }
    return [...this.lens];
  }

  /**
   * Writes k/v (B, Hkv, T, D) (any strides) of layer `layer` at each row's start position.
   * Copies straight into the cache storage; nothing else is allocated beyond small views.
   */
  write(layer: number, k: Tensor, v: Tensor, starts: readonly number[]): void {
    const T = k.shape[2];
    const put = (dst: Tensor, src: Tensor): void => {
      if (starts.every((s) => s === starts[0])) {
        const view = dst.slice(2, starts[0], starts[0] + T);
        dst.backend.copy(view, src);
        view.dispose();
        return;
      }
      for (let b = 0; b < this.batch; b++) {
        const row = dst.slice(0, b, b + 1);
        const view = row.slice(2, starts[b], starts[b] + T);
        const s = src.slice(0, b, b + 1);
        dst.backend.copy(view, s);
        for (const t of [row, view, s]) t.dispose();
      }
    };
    put(this.k[layer], k);
    put(this.v[layer], v);
  }

  /** Advances each row by its number of valid tokens (after every layer was written). */
  advance(lengths: readonly number[]): void {
    for (let b = 0; b < this.batch; b++) this.lens[b] += lengths[b];
  }

  /** Forgets everything (keeps the memory). */
  reset(): void {
    this.lens.fill(0);
  }

  /** Drops row `b` back to `len` tokens (e.g. to rewind after a stop string). */
  truncate(b: number, len: number): void {
    if (len < 0 || len > this.lens[b]) throw new Error(`KVCache.truncate: ${len} not in [0, ${this.lens[b]}]`);
    this.lens[b] = len;
  }

  dispose(): void {
    this.plan?.dispose();
    this.plan = undefined;
    for (const t of [...this.k, ...this.v]) t.dispose();
  }
}
