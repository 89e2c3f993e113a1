/**
 * Scaled dot-product attention for the reference backend, forward (with optional row logsumexp)
 * and backward: q (B, H, Tq, D), k (B, Hkv, Tk, D), v (B, Hkv, Tk, Dv), out (B, H, Tq, Dv); head h
 * reads kv head floor(h / (H / Hkv)) (GQA/MQA). Key j is visible to query i of batch row b when
 * j < kvLen[b] and, if causal, j <= pastLen[b] + i and, under a sliding window W, j > pastLen[b] + i - W.
 * A query that sees no key gets zeros (lse -inf).
 * Everything in f64; the backward recomputes the softmax row from scratch (it does not trust the
 * given lse/out, so it checks the fast kernels' math rather than repeating it):
 * dV_j += P_ij dO_i, dP_ij = dO_i . v_j, dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik),
 * dQ_i = scale sum_j dS_ij k_j, dK_j += scale dS_ij q_i.
 * Not here: dropout, alibi.
 */
import type { AttentionParams, View } from '../backend.js';
import { readF32, write } from './strided.js';

interface Dims { B: number; H: number; Tq: number; D: number; Hkv: number; Tk: number; Dv: number; group: number }

function dims(q: View, k: View, v: View): Dims {
  const [B, H, Tq, D] = q.shape;
  return { B, H, Tq, D, Hkv: k.shape[1], Tk: k.shape[2], Dv: v.shape[3], group: H / k.shape[1] };
}

/** fn(row, kv0, n) for each query row (b, h, i) that sees a key: it sees the n key rows from kv0 (of its kv head). */
function eachQuery({ B, H, Tq, Hkv, Tk, group }: Dims, p: AttentionParams, fn: (row: number, kv0: number, n: number) => void): void {
  for (let b = 0; b < B; b++) {
    const kvLen = Math.min(p.kvLen[b], Tk);
    for (let h = 0; h < H; h++) {
      const hk = b * Hkv + Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const end = Math.max(0, p.causal ? Math.min(kvLen, p.pastLen[b] + i + 1) : kvLen);
        const lo = p.causal && p.window ? Math.min(end, Math.max(0, p.pastLen[b] + i + 1 - p.window)) : 0;
        if (end > lo) fn((b * H + h) * Tq + i, hk * Tk + lo, end - lo);
      }
    }
  }
}

/** Softmax weights of query row qo against the n keys from kvBase; returns the logsumexp. */
function probs(w: Float64Array, qs: Float64Array | Float32Array, qo: number, ks: Float64Array | Float32Array, kvBase: number,
  n: number, D: number, scale: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += qs[qo + d] * ks[kvBase + j * D + d];
    w[j] = dot * scale;
    max = Math.max(max, w[j]);
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    w[j] = Math.exp(w[j] - max);
    sum += w[j];
  }
  for (let j = 0; j < n; j++) w[j] /= sum;
  return max + Math.log(sum);
}

export function attention(out: View, q: View, k: View, v: View, p: AttentionParams, lse?: View | null): void {
  const dm = dims(q, k, v);
  const { B, H, Tq, D, Tk, Dv } = dm;
  const qs = readF32(q);
  const ks = readF32(k);
  const vs = readF32(v);
  const y = new Float64Array(B * H * Tq * Dv);
  const l = new Float64Array(B * H * Tq).fill(-Infinity);
  const w = new Float64Array(Tk);
  eachQuery(dm, p, (row, kv0, n) => {
    l[row] = probs(w, qs, row * D, ks, kv0 * D, n, D, p.scale);
    for (let j = 0; j < n; j++) {
      for (let d = 0; d < Dv; d++) y[row * Dv + d] += w[j] * vs[(kv0 + j) * Dv + d];
    }
  });
  write(out, y);
  if (lse) write(lse, l);
}

export function attentionBackward(dq: View, dk: View, dv: View, dout: View, q: View, k: View, v: View, _out: View,
  _lse: View, p: AttentionParams): void {
  const dm = dims(q, k, v);
  const { B, H, Tq, D, Hkv, Tk, Dv } = dm;
  const qs = readF32(q);
  const ks = readF32(k);
  const vs = readF32(v);
  const gs = readF32(dout);
  const gq = new Float64Array(B * H * Tq * D);
  const gk = new Float64Array(B * Hkv * Tk * D);
  const gv = new Float64Array(B * Hkv * Tk * Dv);
  const w = new Float64Array(Tk);
  const dp = new Float64Array(Tk);
  eachQuery(dm, p, (row, kv0, n) => {
    probs(w, qs, row * D, ks, kv0 * D, n, D, p.scale);
    let rowDot = 0;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < Dv; d++) {
        s += gs[row * Dv + d] * vs[(kv0 + j) * Dv + d];
        gv[(kv0 + j) * Dv + d] += w[j] * gs[row * Dv + d];
      }
      dp[j] = s;
      rowDot += w[j] * s;
    }
    for (let j = 0; j < n; j++) {
      const ds = w[j] * (dp[j] - rowDot) * p.scale;
      for (let d = 0; d < D; d++) {
        gq[row * D + d] += ds * ks[(kv0 + j) * D + d];
        gk[(kv0 + j) * D + d] += ds * qs[row * D + d];
      }
    }
  });
  write(dq, gq);
  write(dk, gk);
  write(dv, gv);
}
