/**
 * Layers built around tensors that already exist (loaded weights), as nn Modules so that
 * `stateDict()` / `namedParameters()` see the checkpoint names. nn's Linear/LayerNorm allocate and
 * initialise their own weights in the constructor, which a 16B-parameter load cannot afford; these
 * adopt the loaded tensors instead. Not here: initialisation (training builds nn layers).
 */
import { engineOptions } from '../backends/options.js';
import { Module } from '../nn/index.js';
import { ops, type Tensor } from '../tensor/index.js';
import type { WeightLoader } from './weights.js';

/** y = x @ weight^T (+ bias); weight (out, in). */
export class Dense extends Module {
  constructor(public weight: Tensor, public bias: Tensor | null = null) {
    super();
  }

  static load(w: WeightLoader, prefix: string, out: number, inp: number, bias: boolean): Dense {
    const weight = w.take(`${prefix}.weight`, [out, inp], { allowQuant: true });
    if (engineOptions().repack) weight.backend.prepareWeight?.(weight); // e.g. q4_0 repacked for the native kernels
    return new Dense(weight, bias ? w.take(`${prefix}.bias`, [out]) : null);
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias);
  }
}

export class LayerNormW extends Module {
  constructor(public weight: Tensor, public bias: Tensor, private readonly _eps: number) {
    super();
  }

  get eps(): number {
    return this._eps;
  }

  static load(w: WeightLoader, prefix: string, dim: number, eps: number): LayerNormW {
    return new LayerNormW(w.take(`${prefix}.weight`, [dim]), w.take(`${prefix}.bias`, [dim]), eps);
  }

  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this._eps);
  }
}

export class RMSNormW extends Module {
  constructor(public weight: Tensor, private readonly _eps: number) {
    super();
  }

  get eps(): number {
    return this._eps;
  }

  static load(w: WeightLoader, prefix: string, dim: number, eps: number): RMSNormW {
    return new RMSNormW(w.take(`${prefix}.weight`, [dim]), eps);
  }

  forward(x: Tensor): Tensor {
    return ops.rmsNorm(x, this.weight, this._eps);
  }
}

export class EmbeddingW extends Module {
  constructor(public weight: Tensor) {
    super();
  }

  forward(ids: Tensor): Tensor {
    return ops.embedding(ids, this.weight);
  }
}
