/**
 * One AdamW step in place, for the reference backend, with torch.optim.AdamW semantics
 * (decoupled weight decay, applied first):
 *   p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * Not here: amsgrad, maximize, gradient clipping (the optimizer layer does that).
 */
import type { AdamWParams, View } from '../backend.js';
import { readNum, write } from './strided.js';

export function adamw(param: View, grad: View, m: View, v: View, p: AdamWParams): void {
  const ps = readNum(param);
  const gs = readNum(grad);
  const ms = readNum(m);
  const vs = readNum(v);
  const fr = Math.fround; // moments are stored f32 between steps; round where torch does
  const bc1 = 1 - Math.pow(p.beta1, p.step);
  const bc2 = Math.sqrt(1 - Math.pow(p.beta2, p.step));
  const stepSize = p.lr / bc1;
  const decay = 1 - p.lr * p.weightDecay;
  for (let i = 0; i < ps.length; i++) {
    const pi = fr(ps[i] * decay);
    ms[i] = fr(ms[i] * p.beta1 + (1 - p.beta1) * gs[i]);
    vs[i] = fr(vs[i] * p.beta2 + (1 - p.beta2) * gs[i] * gs[i]);
    const denom = Math.sqrt(vs[i]) / bc2 + p.eps;
    ps[i] = pi - (stepSize * ms[i]) / denom;
  }
  write(param, ps);
  write(m, ms);
  write(v, vs);
}
