/**
 * Fused cross-entropy for the reference backend: logits (N, V), targets i32/i64 (N).
 * loss[n] = logsumexp(logits[n]) - logits[n, t] (f32; 0 where t == ignoreIndex), and optionally
 * dlogits = (softmax - onehot(t)) * gscale for kept rows, 0 for ignored rows. The caller folds the
 * mean (1 / number of kept rows) and the upstream gradient into gscale.
 * Not here: label smoothing, class weights.
 */
import type { View } from '../backend.js';
import { readF32, readNum, write } from './strided.js';

export function crossEntropy(
  loss: View, dlogits: View | null, logits: View, targets: View, ignoreIndex: number, gscale: number,
): void {
  const x = readF32(logits);
  const t = readNum(targets);
  const N = t.length;
  const V = logits.shape[logits.shape.length - 1];
  const l = new Float64Array(N);
  const g = dlogits ? new Float64Array(N * V) : null;
  for (let n = 0; n < N; n++) {
    if (t[n] === ignoreIndex) continue;
    const o = n * V;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, x[o + i]);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(x[o + i] - max);
    const lse = max + Math.log(sum);
    l[n] = lse - x[o + t[n]];
    if (g) {
      for (let i = 0; i < V; i++) g[o + i] = Math.exp(x[o + i] - lse) * gscale;
      g[o + t[n]] -= gscale;
    }
  }
  write(loss, l);
  if (dlogits && g) write(dlogits, g);
}
