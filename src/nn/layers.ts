/**
 * The one layer family: Linear, Embedding, LayerNorm, RMSNorm, Dropout. A layer is built around
 * tensors that already exist (`new Linear(weight, bias)`: loaded checkpoint weights, adopted without
 * a copy, as a 16B-parameter load requires; models/layers.ts reads them by checkpoint name) or from an
 * initialiser (`Linear.init(in, out)`: PyTorch's default initialisation, or Normal(0, std), from a
 * seeded Generator so runs are reproducible). Field names follow PyTorch (weight, bias) so state
 * dicts map one to one.
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
  /**
   * null, or (act-order GPTQ weights stored with their in-features permuted; models/gptq.ts) i32 (in):
   * in-feature j of the weight multiplies x[..., _inputOrder[j]]. Not a parameter.
   */
  _inputOrder: Tensor | null = null;

  constructor(public weight: Tensor, public bias: Tensor | null = null) {
    super();
  }

  /** A trainable layer: U(-1/sqrt(in), 1/sqrt(in)) weight and bias as PyTorch, or N(0, std) and zero bias. */
  static init(inFeatures: number, outFeatures: number, o: InitOptions & { bias?: boolean } = {}): Linear {
    const gen = o.generator ?? defaultGenerator;
    const bound = 1 / Math.sqrt(inFeatures);
    const common = { backend: o.backend, dtype: o.dtype, generator: gen, requiresGrad: true };
    const weight = (o.std !== undefined ? randn([outFeatures, inFeatures], { ...common, std: o.std }) : rand([outFeatures, inFeatures], { ...common, low: -bound, high: bound })).keep();
    const bias = o.bias === false ? null : (o.std !== undefined ? full([outFeatures], 0, common) : rand([outFeatures], { ...common, low: -bound, high: bound })).keep();
    return new Linear(weight, bias);
  }

  get inFeatures(): number {
    return this.weight.shape[1];
  }

  get outFeatures(): number {
    return this.weight.shape[0];
  }

  forward(x: Tensor): Tensor {
    return ops.linear(this._inputOrder ? ops.indexSelect(x, -1, this._inputOrder) : x, this.weight, this.bias);
  }

  /** The input order is not a state-dict field: Module.dispose frees it through this hook. */
  protected override disposeExtras(): void {
    this._inputOrder?.dispose();
    this._inputOrder = null;
  }
}

/** Rows of a (num, dim) table by id. */
export class Embedding extends Module {
  constructor(public weight: Tensor) {
    super();
  }

  /** A trainable table, N(0, std) (default std 1, as PyTorch). */
  static init(num: number, dim: number, o: InitOptions = {}): Embedding {
    return new Embedding(randn([num, dim], { backend: o.backend, dtype: o.dtype, generator: o.generator, std: o.std ?? 1, requiresGrad: true }).keep());
  }

  forward(ids: Tensor): Tensor {
    return ops.embedding(ids, this.weight);
  }
}

/** (x - mean) / sqrt(var + eps) * weight + bias over the last axis. */
export class LayerNorm extends Module {
  constructor(public weight: Tensor, public bias: Tensor, readonly eps = 1e-5) {
    super();
  }

  /** weight 1, bias 0. */
  static init(dim: number, eps = 1e-5, o: InitOptions = {}): LayerNorm {
    const opt = { backend: o.backend, dtype: o.dtype, requiresGrad: true };
    return new LayerNorm(full([dim], 1, opt).keep(), full([dim], 0, opt).keep(), eps);
  }

  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** x / sqrt(mean(x^2) + eps) * weight over the last axis. */
export class RMSNorm extends Module {
  constructor(public weight: Tensor, readonly eps = 1e-6) {
    super();
  }

  /** weight 1. */
  static init(dim: number, eps = 1e-6, o: InitOptions = {}): RMSNorm {
    return new RMSNorm(full([dim], 1, { backend: o.backend, dtype: o.dtype, requiresGrad: true }).keep(), eps);
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
