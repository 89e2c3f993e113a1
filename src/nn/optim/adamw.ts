/**
 * AdamW (Loshchilov & Hutter) with PyTorch's semantics: decoupled weight decay p -= lr*wd*p,
 * then bias-corrected Adam. Uses the backend's fused kernel on contiguous f32 parameters, and a
 * composed update otherwise (bf16/f16 parameters keep f32 moments).
 */
import { noGrad, ops, zeros, type Tensor } from '../../tensor/index.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private m = new Map<Tensor, Tensor>();
  private v = new Map<Tensor, Tensor>();

  constructor(params: ParamsInput, o: AdamWOptions = {}) {
    super(params, { lr: o.lr ?? 1e-3, weightDecay: o.weightDecay ?? 1e-2 });
    [this.beta1, this.beta2] = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
  }

  step(): void {
    this.stepCount++;
    const t = this.stepCount;
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          const m = this.slot(this.m, p);
          const v = this.slot(this.v, p);
          const be = p.backend;
          if (p.dtype === 'f32' && p.isContiguous() && p.grad.isContiguous() && be.supports('adamw')) {
            be.adamw!(p, p.grad, m, v, { lr: g.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: g.weightDecay, step: t });
            continue;
          }
          this.composed(p, m, v, g.lr, g.weightDecay, t);
        }
      }
    });
  }

  private composed(p: Tensor, m: Tensor, v: Tensor, lr: number, wd: number, t: number): void {
    const grad = ops.to(p.grad!, 'f32');
    const pf = ops.to(p, 'f32');
    const m2 = ops.add(ops.mul(m, this.beta1), ops.mul(grad, 1 - this.beta1));
    const v2 = ops.add(ops.mul(v, this.beta2), ops.mul(ops.mul(grad, grad), 1 - this.beta2));
    const mhat = ops.div(m2, 1 - this.beta1 ** t);
    const vhat = ops.div(v2, 1 - this.beta2 ** t);
    const decayed = ops.mul(pf, 1 - lr * wd);
    const next = ops.sub(decayed, ops.mul(ops.div(mhat, ops.add(ops.sqrt(vhat), this.eps)), lr));
    p.backend.copy(m, m2);
    p.backend.copy(v, v2);
    p.backend.copy(p, next);
    for (const x of [grad, pf, m2, v2, mhat, vhat, decayed, next]) x.dispose();
  }

  private slot(map: Map<Tensor, Tensor>, p: Tensor): Tensor {
    let s = map.get(p);
    if (!s) {
      s = zeros(p.shape, { backend: p.backend, dtype: 'f32' }).keep();
      map.set(p, s);
    }
    return s;
  }

  /** Frees the moment estimates (the optimizer is not used afterwards). */
  dispose(): void {
    for (const map of [this.m, this.v]) {
      for (const t of map.values()) t.dispose();
      map.clear();
    }
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.groups.forEach((g, gi) =>
      g.params.forEach((p, pi) => {
        out.set(`${gi}.${pi}.exp_avg`, this.slot(this.m, p));
        out.set(`${gi}.${pi}.exp_avg_sq`, this.slot(this.v, p));
      }),
    );
    return out;
  }
}
