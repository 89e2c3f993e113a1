/**
 * Basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout. Field names follow PyTorch
 * (weight, bias) so state dicts map one to one. Initialisation follows PyTorch's defaults unless
 * an `init` option says otherwise, from a seeded Generator so runs are reproducible.
 */
import type { Backend } from '../backends/backend.js';
import type { DType } from '../backends/dtype.js';
import { defaultGenerator, full, ops, rand, randn, type Generator, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export interface InitOptions {
  backend?: Backend;
  dtype?: DType;
  generator?: Generator;
  /** Normal(0, std) for weights instead of PyTorch's default. */
  std?: number;
}

/** y = x @ W^T + b, W (out, in). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, o: InitOptions & { bias?: boolean } = {}) {
    super();
    const gen = o.generator ?? defaultGenerator;
    const bound = 1 / Math.sqrt(inFeatures);
    const common = { backend: o.backend, dtype: o.dtype, generator: gen, requiresGrad: true };
    this.weight = (o.std !== undefined ? randn([outFeatures, inFeatures], { ...common, std: o.std }) : rand([outFeatures, inFeatures], { ...common, low: -bound, high: bound })).keep();
    this.bias = o.bias === false ? null : (o.std !== undefined ? full([outFeatures], 0, common) : rand([outFeatures], { ...common, low: -bound, high: bound })).keep();
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias);
  }
}

/** Rows of a (num, dim) table by id. */
export class Embedding extends Module {
  weight: Tensor;

  constructor(readonly num: number, readonly dim: number, o: InitOptions = {}) {
    super();
    this.weight = randn([num, dim], { backend: o.backend, dtype: o.dtype, generator: o.generator, std: o.std ?? 1, requiresGrad: true }).keep();
  }

  forward(ids: Tensor): Tensor {
    return ops.embedding(ids, this.weight);
  }
}

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor;

  constructor(readonly dim: number, readonly eps = 1e-5, o: InitOptions = {}) {
    super();
    this.weight = full([dim], 1, { backend: o.backend, dtype: o.dtype, requiresGrad: true }).keep();
    this.bias = full([dim], 0, { backend: o.backend, dtype: o.dtype, requiresGrad: true }).keep();
  }

  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;

  constructor(readonly dim: number, readonly eps = 1e-6, o: InitOptions = {}) {
    super();
    this.weight = full([dim], 1, { backend: o.backend, dtype: o.dtype, requiresGrad: true }).keep();
  }

  forward(x: Tensor): Tensor {
    return ops.rmsNorm(x, this.weight, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number, private readonly _gen: Generator = defaultGenerator) {
    super();
  }

  forward(x: Tensor): Tensor {
    return ops.dropout(x, this.p, this.training, this._gen);
  }
}
