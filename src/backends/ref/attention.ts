/**
 * Scaled dot-product attention for the reference backend (inference, no grad):
 * q (B, H, Tq, D), k/v (B, Hkv, Tk, D), out (B, H, Tq, D); head h reads kv head
 * floor(h / (H / Hkv)) (GQA/MQA). Key j is visible to query i of batch row b when
 * j < kvLen[b] and, if causal, j <= pastLen[b] + i. A query that sees no key gets zeros.
 * Softmax is max-subtracted in double. Not here: dropout, alibi, sliding windows.
 */
import type { AttentionParams, View } from '../backend.js';
import { readF32, write } from './strided.js';

export function attention(out: View, q: View, k: View, v: View, p: AttentionParams): void {
  const [B, H, Tq, D] = q.shape;
  const Hkv = k.shape[1];
  const Tk = k.shape[2];
  const group = H / Hkv;
  const qs = readF32(q);
  const ks = readF32(k);
  const vs = readF32(v);
  const y = new Float64Array(B * H * Tq * D);
  const s = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    const kvLen = Math.min(p.kvLen[b], Tk);
    for (let h = 0; h < H; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * Tk * D;
      for (let i = 0; i < Tq; i++) {
        const qo = ((b * H + h) * Tq + i) * D;
        const n = p.causal ? Math.min(kvLen, p.pastLen[b] + i + 1) : kvLen;
        if (n <= 0) continue;
        let max = -Infinity;
        for (let j = 0; j < n; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qs[qo + d] * ks[kvBase + j * D + d];
          s[j] = dot * p.scale;
          max = Math.max(max, s[j]);
        }
        let sum = 0;
        for (let j = 0; j < n; j++) {
          s[j] = Math.exp(s[j] - max);
          sum += s[j];
        }
        for (let j = 0; j < n; j++) {
          const w = s[j] / sum;
          for (let d = 0; d < D; d++) y[qo + d] += w * vs[kvBase + j * D + d];
        }
      }
    }
  }
  write(out, y);
}
