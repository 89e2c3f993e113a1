/**
 * Attention plumbing shared by the model files: a forward's chunk bookkeeping (starts, lengths,
 * positions; cache advance and each row's last valid hidden state), causal attention with or
 * without the KV cache. The model files keep the parts that differ (projections, head split, rope
 * flavour).
 * Legend: B batch, T chunk, H query heads, Hkv kv heads, D head dim, C channels.
 */
import { ops, tensor, type Tensor } from '../tensor/index.js';
import type { KVCache } from './kv-cache.js';
import type { ForwardOptions } from './types.js';

/**
 * The bookkeeping of a forward over ids (B, T): each row's start (its cache length; 0 without a
 * cache), its valid lengths (o.lengths, default all T; checked, none past `maxPositions`) and the
 * positions (B, T) i32, row b holding starts[b] .. starts[b] + T - 1.
 */
export function beginChunk(ids: Tensor, o: ForwardOptions, maxPositions: number): { starts: number[]; lengths: number[]; positions: Tensor } {
  if (ids.ndim !== 2) throw new Error(`forward: ids must be (B, T), got [${ids.shape}]`);
  if (ids.dtype !== 'i32' && ids.dtype !== 'i64') throw new Error(`forward: ids must be i32 or i64, got ${ids.dtype}`);
  const [B, T] = ids.shape;
  const starts = o.cache ? o.cache.starts(T) : new Array<number>(B).fill(0);
  const lens = o.lengths ? [...o.lengths] : new Array<number>(B).fill(T);
  if (lens.length !== B || lens.some((n) => !Number.isInteger(n) || n < 1 || n > T)) throw new Error(`forward: lengths [${lens}] must be ${B} values in [1, ${T}]`);
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    if (starts[b] + lens[b] > maxPositions) throw new Error(`forward: row ${b} reaches position ${starts[b] + lens[b]}, beyond the model's ${maxPositions} positions`);
    for (let t = 0; t < T; t++) pos[b * T + t] = starts[b] + t;
  }
  return { starts, lengths: lens, positions: tensor(pos, [B, T], { dtype: 'i32', backend: ids.backend }) };
}

/**
 * Causal attention of q (B, T, H, D) over k, v (B, T, Hkv, D) (this chunk) and, with a cache, every
 * earlier token of each row (only the last `window` positions, itself included, under a sliding
 * window > 0); writes this chunk's k, v into the cache. Returns (B, T, H * D).
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, cache: KVCache | undefined, layer: number, starts: readonly number[],
  window = 0): Tensor {
  const [B, T, H, D] = q.shape;
  const qh = q.transpose(1, 2); // (B, H, T, D)
  const kh = k.transpose(1, 2); // (B, Hkv, T, D)
  const vh = v.transpose(1, 2);
  const w = window ? { window } : {};
  let out: Tensor;
  if (!cache) out = ops.sdpa(qh, kh, vh, { causal: true, ...w });
  else if (cache.attend) out = cache.attend(layer, qh, kh, vh, starts, window); // a cache of virtual rows (kv-cache.ts)
  else {
    cache.write(layer, kh, vh, starts);
    // the whole preallocated cache goes in (contiguous, no copy); kvLen stops each row at its end
    out = ops.sdpa(qh, cache.k[layer], cache.v[layer], { causal: true, pastLen: starts, kvLen: starts.map((s) => s + T), ...w });
  }
  return out.transpose(1, 2).reshape(B, T, H * D);
}

/**
 * Ends a forward's chunk: advances the cache past it and returns the hidden states the logits come
 * from: x (B, T, C), or with `logits: 'last'` each row's last valid one (lengths[b] - 1), (B, C).
 */
export function endChunk(x: Tensor, o: ForwardOptions, lengths: readonly number[]): Tensor {
  if (o.cache) o.cache.advance(lengths);
  if (o.logits !== 'last') return x;
  const [B, T, C] = x.shape;
  if (T === 1) return x.reshape(B, C);
  const idx = tensor(lengths.map((n, b) => b * T + n - 1), [B], { dtype: 'i32', backend: x.backend });
  return ops.indexSelect(x.reshape(B * T, C), 0, idx);
}
