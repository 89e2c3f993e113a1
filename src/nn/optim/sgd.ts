/** SGD with momentum and (coupled) weight decay, as torch.optim.SGD (dampening 0, no Nesterov). */
import { noGrad, ops, zeros, type Tensor } from '../../tensor/index.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export class SGD extends Optimizer {
  private buf = new Map<Tensor, Tensor>();
  readonly momentum: number;

  constructor(params: ParamsInput, o: { lr?: number; momentum?: number; weightDecay?: number } = {}) {
    super(params, { lr: o.lr ?? 1e-2, weightDecay: o.weightDecay ?? 0 });
    this.momentum = o.momentum ?? 0;
  }

  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          let d = g.weightDecay ? ops.add(p.grad, ops.mul(p, g.weightDecay)) : p.grad.detach();
          if (this.momentum) {
            let b = this.buf.get(p);
            if (!b) {
              b = zeros(p.shape, { backend: p.backend, dtype: p.dtype }).keep();
              p.backend.copy(b, d);
            } else {
              const nb = ops.add(ops.mul(b, this.momentum), d);
              p.backend.copy(b, nb);
              nb.dispose();
            }
            this.buf.set(p, b);
            d.dispose();
            d = b.detach();
          }
          const next = ops.sub(p, ops.mul(d, g.lr));
          p.backend.copy(p, next);
          next.dispose();
          d.dispose();
        }
      }
    });
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.groups.forEach((g, gi) => g.params.forEach((p, pi) => this.buf.has(p) && out.set(`${gi}.${pi}.momentum_buffer`, this.buf.get(p)!)));
    return out;
  }
}
