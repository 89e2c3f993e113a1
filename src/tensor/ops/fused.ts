/**
 * Fused neural-network ops: softmax, log_softmax, layer_norm, rms_norm, rope, scaled-dot-product
 * attention (causal, KV-cache aware, GQA), cross_entropy, dropout; vjps sit beside.
 * Contract with the backend (`supports(op)`):
 * - softmax, logSoftmax and sdpa use the fused kernel when the backend has it and are composed from
 *   primitives otherwise (attention: the fused forward + logsumexp and fused backward when the
 *   backend has both, else matmul + mask + softmax).
 * - layerNorm, rmsNorm, rope and crossEntropy NEED the fused kernel (both backends here have them):
 *   on a backend without it they throw "<op>: backend <name> has no fused kernel for it".
 * dropout is composed (a host-drawn mask, so runs are identical on every backend).
 */
import type { AttentionParams, RopeParams } from '../../backends/backend.js';
import { Tensor } from '../tensor.js';
import { needsGrad } from '../autograd.js';
import { empty, record, requireFloat, requireInt, same } from './core.js';
import { div, exp, mul, sub, to, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { max, sum } from './reduce.js';
import { contiguous, expand, normAxis, reshape, transpose } from './shape.js';
import { tensor } from '../create.js';
import { defaultGenerator, type Generator } from '../random.js';

/** Moves `axis` last (contiguous), runs `fn` on rows, and moves it back. */
function onLastAxis(x: Tensor, axis: number, fn: (rows: Tensor) => Tensor): Tensor {
  const ax = normAxis(axis, x.ndim, 'softmax');
  if (ax === x.ndim - 1) return fn(contiguous(x));
  const t = contiguous(transpose(x, ax, -1));
  return transpose(fn(t), ax, -1);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  requireFloat('softmax', x);
  return onLastAxis(x, axis, (r) => {
    if (!r.backend.supports('softmax')) {
      const e = exp(sub(r, max(r, -1, true).detach()));
      return div(e, sum(e, -1, true));
    }
    const y = empty(r, r.dtype, r.shape);
    r.backend.softmax!(y, r);
    return record(y, 'softmax', [r], (g) => [mul(y, sub(g, sum(mul(g, y), -1, true)))]);
  });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat('log_softmax', x);
  return onLastAxis(x, axis, (r) => {
    if (!r.backend.supports('logSoftmax')) {
      const m = max(r, -1, true).detach();
      const s = sub(r, m);
      return sub(s, exp(s).sum(-1, true).log());
    }
    const y = empty(r, r.dtype, r.shape);
    r.backend.logSoftmax!(y, r);
    return record(y, 'log_softmax', [r], (g) => [sub(g, mul(exp(y), sum(g, -1, true)))]);
  });
}

function rowsOf(x: Tensor): number[] {
  return x.shape.slice(0, -1);
}

/** The ops with no composed fallback (see the header): they need the backend's kernel. */
function requireFused(x: Tensor, op: 'layerNorm' | 'rmsNorm' | 'rope' | 'crossEntropy'): void {
  if (!x.backend.supports(op)) throw new Error(`${op}: backend ${x.backend.name} has no fused kernel for it`);
}

function checkParam(op: string, x: Tensor, p: Tensor | null | undefined): void {
  if (!p) return;
  same(op, x, p);
  const C = x.shape[x.ndim - 1];
  if (p.ndim !== 1 || p.shape[0] !== C) throw new Error(`${op}: parameter shape [${p.shape}] != [${C}]`);
}

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * w + b. */
export function layerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps = 1e-5): Tensor {
  requireFloat('layer_norm', x);
  checkParam('layer_norm', x, w);
  checkParam('layer_norm', x, b);
  requireFused(x, 'layerNorm');
  const xc = contiguous(x);
  const y = empty(x, x.dtype, x.shape);
  const mean = empty(x, 'f32', rowsOf(x));
  const rstd = empty(x, 'f32', rowsOf(x));
  x.backend.layerNorm!(y, mean, rstd, xc, w ? contiguous(w) : null, b ? contiguous(b) : null, eps);
  const inputs = [x, w, b].filter((t): t is Tensor => !!t);
  return record(y, 'layer_norm', inputs, (g) => {
    const dx = empty(x, x.dtype, x.shape);
    const dw = w ? empty(w, w.dtype, w.shape) : null;
    const db = b ? empty(b, b.dtype, b.shape) : null;
    x.backend.layerNormBackward!(dx, dw, db, contiguous(g), xc, mean, rstd, w ? contiguous(w) : null);
    return [dx, ...(w ? [dw] : []), ...(b ? [db] : [])];
  });
}

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * w. */
export function rmsNorm(x: Tensor, w: Tensor | null, eps = 1e-6): Tensor {
  requireFloat('rms_norm', x);
  checkParam('rms_norm', x, w);
  requireFused(x, 'rmsNorm');
  const xc = contiguous(x);
  const y = empty(x, x.dtype, x.shape);
  const rstd = empty(x, 'f32', rowsOf(x));
  x.backend.rmsNorm!(y, rstd, xc, w ? contiguous(w) : null, eps);
  return record(y, 'rms_norm', w ? [x, w] : [x], (g) => {
    const dx = empty(x, x.dtype, x.shape);
    const dw = w ? empty(w, w.dtype, w.shape) : null;
    x.backend.rmsNormBackward!(dx, dw, contiguous(g), xc, rstd, w ? contiguous(w) : null);
    return w ? [dx, dw] : [dx];
  });
}

/**
 * Rotary position embedding on x (B, T, H, D) at integer positions (B, T) (or (T), shared).
 * `interleaved`: GPT-J/MOSS pairs (2i, 2i+1); otherwise LLaMA half-split pairs.
 */
export function rope(x: Tensor, positions: Tensor, p: RopeParams): Tensor {
  requireFloat('rope', x);
  requireInt('rope', positions);
  requireFused(x, 'rope');
  if (x.ndim !== 4) throw new Error(`rope: x must be (B, T, H, D), got [${x.shape}]`);
  const [B, T, , D] = x.shape;
  if (p.rotaryDim > D || p.rotaryDim % 2 !== 0) throw new Error(`rope: rotaryDim ${p.rotaryDim} must be even and <= head dim ${D}`);
  const pos = positions.ndim === 1 ? expand(positions, [B, T]) : positions;
  if (pos.ndim !== 2 || pos.shape[0] !== B || pos.shape[1] !== T) throw new Error(`rope: positions must be (B, T) = (${B}, ${T}), got [${positions.shape}]`);
  const posc = pos.dtype === 'i32' ? contiguous(pos) : to(pos, 'i32');
  const xc = contiguous(x);
  const y = empty(x, x.dtype, x.shape);
  x.backend.rope!(y, xc, posc, p);
  return record(y, 'rope', [x], (g) => {
    const gx = empty(g, g.dtype, g.shape);
    g.backend.rope!(gx, contiguous(g), posc, { ...p, inverse: !p.inverse });
    return [gx];
  });
}

export interface SdpaOptions {
  causal?: boolean;
  /** Default 1/sqrt(D). */
  scale?: number;
  /** Keys cached before this chunk, per batch row (default: Tk - Tq, i.e. the chunk is last). */
  pastLen?: readonly number[];
  /** Valid keys per batch row (default: Tk). */
  kvLen?: readonly number[];
  /** Causal sliding window: query i sees only keys j > pastLen + i - window (default: none). */
  window?: number;
}

/**
 * Scaled dot-product attention: q (B, H, Tq, D), k/v (B, Hkv, Tk, D), H % Hkv == 0 (GQA).
 * Query i (absolute position pastLen + i) sees keys j <= pastLen + i when causal, j < kvLen, and
 * j > pastLen + i - window under a causal sliding window.
 */
export function sdpa(q: Tensor, k: Tensor, v: Tensor, o: SdpaOptions = {}): Tensor {
  same('attention', q, k, v);
  requireFloat('attention', q);
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new Error('attention: q, k, v must be 4-d (B, H, T, D)');
  const [B, H, Tq, D] = q.shape;
  const [Bk, Hkv, Tk, Dk] = k.shape;
  if (Bk !== B || Dk !== D || v.shape[0] !== B || v.shape[1] !== Hkv || v.shape[2] !== Tk) {
    throw new Error(`attention: shapes q [${q.shape}] k [${k.shape}] v [${v.shape}] disagree`);
  }
  if (H % Hkv !== 0) throw new Error(`attention: ${H} query heads are not a multiple of ${Hkv} kv heads`);
  const p: AttentionParams = {
    scale: o.scale ?? 1 / Math.sqrt(D),
    causal: o.causal ?? true,
    pastLen: o.pastLen ?? new Array(B).fill(Tk - Tq),
    kvLen: o.kvLen ?? new Array(B).fill(Tk),
    ...(o.window ? { window: o.window } : {}),
  };
  if (o.window !== undefined && (!Number.isInteger(o.window) || o.window < 0)) throw new Error(`attention: window must be a non-negative integer, got ${o.window}`);
  for (let b = 0; b < B; b++) {
    if (p.kvLen[b] > Tk || p.kvLen[b] < 1 || p.pastLen[b] < 0) throw new Error(`attention: bad pastLen/kvLen for batch row ${b}`);
  }
  const be = q.backend;
  const grad = needsGrad([q, k, v]);
  // windowed attention with grads takes the composed path (the fused backwards have no window)
  if (be.supports('attention') && (!grad || (be.supports('attentionBackward') && !p.window))) {
    // fused: the kernels take strided views (no copies of transposed q/k/v); with grads the
    // forward keeps the row logsumexp and the backward recomputes P from it (flash-attention-2)
    const out = empty(q, q.dtype, [B, H, Tq, v.shape[3]]);
    const lse = grad ? empty(q, 'f32', [B, H, Tq]) : null;
    be.attention!(out, q, k, v, p, lse);
    return record(out, 'sdpa', [q, k, v], (g) => {
      const dq = empty(q, q.dtype, q.shape);
      const dk = empty(k, k.dtype, k.shape);
      const dv = empty(v, v.dtype, v.shape);
      be.attentionBackward!(dq, dk, dv, g, q, k, v, out, lse!, p);
      return [dq, dk, dv];
    });
  }
  // composed path (differentiable; backends without the fused kernels)
  const rep = H / Hkv;
  const kk = rep === 1 ? k : reshape(expand(k.unsqueeze(2), [B, Hkv, rep, Tk, D]), [B, H, Tk, D]);
  const vv = rep === 1 ? v : reshape(expand(v.unsqueeze(2), [B, Hkv, rep, Tk, v.shape[3]]), [B, H, Tk, v.shape[3]]);
  const scores = mul(matmul(q, transpose(kk, -2, -1)), p.scale);
  const mask = new Uint8Array(B * Tq * Tk);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      for (let j = 0; j < Tk; j++) {
        const inWindow = !p.causal || !p.window || j > p.pastLen[b] + i - p.window;
        mask[(b * Tq + i) * Tk + j] = j < p.kvLen[b] && (!p.causal || j <= p.pastLen[b] + i) && inWindow ? 1 : 0;
      }
    }
  }
  const m = tensor(mask, [B, 1, Tq, Tk], { dtype: 'bool', backend: q.backend });
  const masked = where(m, scores, -Infinity);
  return matmul(softmax(masked, -1), vv);
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/** Cross-entropy of logits (N, V) against targets (N); rows whose target is ignoreIndex count 0. */
export function crossEntropy(logits: Tensor, targets: Tensor, o: CrossEntropyOptions = {}): Tensor {
  same('cross_entropy', logits, targets);
  requireFloat('cross_entropy', logits);
  requireInt('cross_entropy', targets);
  if (logits.ndim !== 2 || targets.ndim !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`cross_entropy: expected logits (N, V) and targets (N), got [${logits.shape}] and [${targets.shape}]`);
  }
  const ignore = o.ignoreIndex ?? -100;
  const reduction = o.reduction ?? 'mean';
  const [N, V] = logits.shape;
  const ids = targets.toInt32Array();
  let valid = 0;
  for (let i = 0; i < N; i++) {
    if (ids[i] === ignore) continue;
    if (ids[i] < 0 || ids[i] >= V) throw new Error(`cross_entropy: target ${ids[i]} out of range [0, ${V})`);
    valid++;
  }
  requireFused(logits, 'crossEntropy');
  const lc = contiguous(logits);
  const loss = empty(logits, 'f32', [N]);
  const wantGrad = needsGrad([logits]);
  const gscale = reduction === 'mean' ? 1 / Math.max(valid, 1) : 1;
  const dl = wantGrad ? empty(logits, logits.dtype, [N, V]) : null;
  const tc = contiguous(targets);
  logits.backend.crossEntropy!(loss, dl, lc, tc, ignore, gscale);
  const out = reduction === 'none' ? loss : div(sum(loss), reduction === 'mean' ? Math.max(valid, 1) : 1);
  return record(out, 'cross_entropy', [logits], (g) => {
    const gf = g.dtype === dl!.dtype ? g : to(g, dl!.dtype);
    return [reduction === 'none' ? mul(dl!, reshape(gf, [N, 1])) : mul(dl!, gf)];
  });
}

/** Inverted dropout: zeroes with probability p, scales the rest by 1/(1-p); identity when !training. */
export function dropout(x: Tensor, p: number, training: boolean, gen: Generator = defaultGenerator): Tensor {
  if (p < 0 || p >= 1) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return record(x.detach(), 'dropout', [x], (g) => [g.detach()]);
  const n = x.numel;
  const keep = new Float32Array(n);
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) keep[i] = gen.uniform() >= p ? scale : 0;
  const m = tensor(keep, x.shape, { dtype: x.dtype, backend: x.backend });
  return mul(x, m);
}

