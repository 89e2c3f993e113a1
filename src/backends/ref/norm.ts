/**
 * LayerNorm and RMSNorm over the last axis, forward and backward, for the reference backend.
 * Follows torch.nn.functional.layer_norm (biased variance, rstd = 1/sqrt(var + eps)) and the
 * LLaMA RMSNorm (rstd = 1/sqrt(mean(x^2) + eps), y = x * rstd * w). mean/rstd are written as f32,
 * one per row. Backward: dx is written; dw/db ACCUMULATE (+=) into what they hold, for both norms.
 * One row walk serves both: LayerNorm centres each row on its mean, RMSNorm on 0 (mean is null).
 * Math in double, one rounding on store.
 */
import type { View } from '../backend.js';
import { readF32, readNum, write } from './strided.js';

function rows(x: View, w: View | null): { xs: Float32Array; D: number; R: number; ws: Float32Array | null } {
  const xs = readF32(x);
  const D = x.shape[x.shape.length - 1];
  return { xs, D, R: D ? xs.length / D : 0, ws: w ? readF32(w) : null };
}

function norm(y: View, mean: View | null, rstd: View, x: View, w: View | null, b: View | null, eps: number): void {
  const { xs, D, R, ws } = rows(x, w);
  const bs = b ? readF32(b) : null;
  const out = new Float64Array(xs.length);
  const mu = new Float64Array(R);
  const rs = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const o = r * D;
    let m = 0;
    if (mean) {
      for (let i = 0; i < D; i++) m += xs[o + i];
      m /= D;
    }
    let v = 0;
    for (let i = 0; i < D; i++) v += (xs[o + i] - m) * (xs[o + i] - m);
    const rstdv = 1 / Math.sqrt(v / D + eps);
    mu[r] = m;
    rs[r] = rstdv;
    for (let i = 0; i < D; i++) out[o + i] = (xs[o + i] - m) * rstdv * (ws ? ws[i] : 1) + (bs ? bs[i] : 0);
  }
  write(y, out);
  if (mean) write(mean, mu);
  write(rstd, rs);
}

function normBackward(dx: View, dw: View | null, db: View | null, dy: View, x: View, mean: View | null, rstd: View, w: View | null): void {
  const { xs, D, R, ws } = rows(x, w);
  const g = readF32(dy);
  const mu = mean ? readF32(mean) : null;
  const rs = readF32(rstd);
  const gx = new Float64Array(xs.length);
  const gw = dw ? readNum(dw) : null;
  const gb = db ? readNum(db) : null;
  for (let r = 0; r < R; r++) {
    const o = r * D;
    const m = mu ? mu[r] : 0;
    let sg = 0; // sum of dxhat (LayerNorm only: RMSNorm's rows are not centred)
    let sgx = 0; // sum of dxhat * xhat
    for (let i = 0; i < D; i++) {
      const xh = (xs[o + i] - m) * rs[r];
      const gh = g[o + i] * (ws ? ws[i] : 1);
      if (mu) sg += gh;
      sgx += gh * xh;
      if (gw) gw[i] += g[o + i] * xh;
      if (gb) gb[i] += g[o + i];
    }
    for (let i = 0; i < D; i++) {
      const xh = (xs[o + i] - m) * rs[r];
      gx[o + i] = rs[r] * (g[o + i] * (ws ? ws[i] : 1) - sg / D - (xh * sgx) / D);
    }
  }
  write(dx, gx);
  if (dw && gw) write(dw, gw);
  if (db && gb) write(db, gb);
}

export function layerNorm(y: View, mean: View, rstd: View, x: View, w: View | null, b: View | null, eps: number): void {
  norm(y, mean, rstd, x, w, b, eps);
}

export function layerNormBackward(
  dx: View, dw: View | null, db: View | null, dy: View, x: View, mean: View, rstd: View, w: View | null,
): void {
  normBackward(dx, dw, db, dy, x, mean, rstd, w);
}

export function rmsNorm(y: View, rstd: View, x: View, w: View | null, eps: number): void {
  norm(y, null, rstd, x, w, null, eps);
}

export function rmsNormBackward(dx: View, dw: View | null, dy: View, x: View, rstd: View, w: View | null): void {
  normBackward(dx, dw, null, dy, x, null, rstd, w);
}
