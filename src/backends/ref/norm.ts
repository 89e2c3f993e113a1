/**
 * LayerNorm and RMSNorm over the last axis, forward and backward, for the reference backend.
 * Follows torch.nn.functional.layer_norm (biased variance, rstd = 1/sqrt(var + eps)) and the
 * LLaMA RMSNorm (rstd = 1/sqrt(mean(x^2) + eps), y = x * rstd * w). mean/rstd are written as f32,
 * one per row. Backward: dx is written; dw/db ACCUMULATE (+=) into what they hold, for both norms.
 * Math in double, one rounding on store.
 */
import type { View } from '../backend.js';
import { readF32, readNum, write } from './strided.js';

function lastDim(x: View): number {
  return x.shape[x.shape.length - 1];
}

export function layerNorm(y: View, mean: View, rstd: View, x: View, w: View | null, b: View | null, eps: number): void {
  const xs = readF32(x);
  const D = lastDim(x);
  const R = D ? xs.length / D : 0;
  const ws = w ? readF32(w) : null;
  const bs = b ? readF32(b) : null;
  const out = new Float64Array(xs.length);
  const mu = new Float64Array(R);
  const rs = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const o = r * D;
    let s = 0;
    for (let i = 0; i < D; i++) s += xs[o + i];
    const m = s / D;
    let v = 0;
    for (let i = 0; i < D; i++) v += (xs[o + i] - m) ** 2;
    const rstdv = 1 / Math.sqrt(v / D + eps);
    mu[r] = m;
    rs[r] = rstdv;
    for (let i = 0; i < D; i++) out[o + i] = (xs[o + i] - m) * rstdv * (ws ? ws[i] : 1) + (bs ? bs[i] : 0);
  }
  write(y, out);
  write(mean, mu);
  write(rstd, rs);
}

export function layerNormBackward(
  dx: View, dw: View | null, db: View | null, dy: View, x: View, mean: View, rstd: View, w: View | null,
): void {
  const xs = readF32(x);
  const g = readF32(dy);
  const mu = readF32(mean);
  const rs = readF32(rstd);
  const D = lastDim(x);
  const R = D ? xs.length / D : 0;
  const ws = w ? readF32(w) : null;
  const gx = new Float64Array(xs.length);
  const gw = dw ? readNum(dw) : null;
  const gb = db ? readNum(db) : null;
  for (let r = 0; r < R; r++) {
    const o = r * D;
    let sg = 0; // sum of dxhat
    let sgx = 0; // sum of dxhat * xhat
    for (let i = 0; i < D; i++) {
      const xh = (xs[o + i] - mu[r]) * rs[r];
      const gh = g[o + i] * (ws ? ws[i] : 1);
      sg += gh;
      sgx += gh * xh;
      if (gw) gw[i] += g[o + i] * xh;
      if (gb) gb[i] += g[o + i];
    }
    for (let i = 0; i < D; i++) {
      const xh = (xs[o + i] - mu[r]) * rs[r];
      const gh = g[o + i] * (ws ? ws[i] : 1);
      gx[o + i] = rs[r] * (gh - sg / D - (xh * sgx) / D);
    }
  }
  write(dx, gx);
  if (dw && gw) write(dw, gw);
  if (db && gb) write(db, gb);
}

export function rmsNorm(y: View, rstd: View, x: View, w: View | null, eps: number): void {
  const xs = readF32(x);
  const D = lastDim(x);
  const R = D ? xs.length / D : 0;
  const ws = w ? readF32(w) : null;
  const out = new Float64Array(xs.length);
  const rs = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const o = r * D;
    let s = 0;
    for (let i = 0; i < D; i++) s += xs[o + i] * xs[o + i];
    const rstdv = 1 / Math.sqrt(s / D + eps);
    rs[r] = rstdv;
    for (let i = 0; i < D; i++) out[o + i] = xs[o + i] * rstdv * (ws ? ws[i] : 1);
  }
  write(y, out);
  write(rstd, rs);
}

export function rmsNormBackward(dx: View, dw: View | null, dy: View, x: View, rstd: View, w: View | null): void {
  const xs = readF32(x);
  const g = readF32(dy);
  const rs = readF32(rstd);
  const D = lastDim(x);
  const R = D ? xs.length / D : 0;
  const ws = w ? readF32(w) : null;
  const gx = new Float64Array(xs.length);
  const gw = dw ? readNum(dw) : null;
  for (let r = 0; r < R; r++) {
    const o = r * D;
    let sgx = 0;
    for (let i = 0; i < D; i++) {
      const xh = xs[o + i] * rs[r];
      sgx += g[o + i] * (ws ? ws[i] : 1) * xh;
      if (gw) gw[i] += g[o + i] * xh;
    }
    for (let i = 0; i < D; i++) {
      const xh = xs[o + i] * rs[r];
      gx[o + i] = rs[r] * (g[o + i] * (ws ? ws[i] : 1) - (xh * sgx) / D);
    }
  }
  write(dx, gx);
  if (dw && gw) write(dw, gw);
}
