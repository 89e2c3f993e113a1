/**
 * Optimizer base: parameter groups (each with its own lr / weight decay), zeroGrad, and a state
 * dict (step + per-parameter tensors by index) for checkpoints. Updates write into parameter
 * storage in place, outside autograd.
 */
import type { Tensor } from '../../tensor/index.js';

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  weightDecay: number;
}

export type ParamsInput = Tensor[] | { params: Tensor[]; lr?: number; weightDecay?: number }[];

export abstract class Optimizer {
  readonly groups: ParamGroup[];
  stepCount = 0;

  constructor(params: ParamsInput, defaults: { lr: number; weightDecay: number }) {
    const list = params.length && 'params' in (params[0] as object) ? (params as { params: Tensor[]; lr?: number; weightDecay?: number }[]) : [{ params: params as Tensor[] }];
    this.groups = list.map((g) => ({ params: g.params, lr: g.lr ?? defaults.lr, weightDecay: g.weightDecay ?? defaults.weightDecay }));
    for (const g of this.groups) {
      for (const p of g.params) if (!p.requiresGrad) throw new Error(`optimizer: parameter ${p.name ?? ''} [${p.shape}] does not require grad`);
    }
  }

  /** Sets the learning rate of every group (schedulers call this). */
  setLr(lr: number): void {
    for (const g of this.groups) g.lr = lr;
  }

  zeroGrad(): void {
    for (const g of this.groups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  abstract step(): void;

  /** Per-parameter state tensors, named `<group>.<index>.<slot>`. */
  abstract stateTensors(): Map<string, Tensor>;
}
