/**
 * Layers read from a checkpoint by name: the nn layer family (src/nn/layers.ts) built around the
 * loaded tensors, so `stateDict()` / `namedParameters()` see the checkpoint names. Not here:
 * initialisation (nn's `Linear.init` and friends; models/moss/init.ts).
 */
import { engineOptions } from '../backends/options.js';
import { LayerNorm, Linear, RMSNorm } from '../nn/index.js';
import { tensor } from '../tensor/index.js';
import type { WeightLoader } from './weights.js';

/** `${prefix}.weight` (out, in) and, with `bias`, `${prefix}.bias` (out). */
export function loadLinear(w: WeightLoader, prefix: string, out: number, inp: number, bias: boolean): Linear {
  const weight = w.take(`${prefix}.weight`, [out, inp], { allowQuant: true });
  if (engineOptions().repack) weight.backend.prepareWeight?.(weight); // e.g. q4_0 repacked for the native kernels
  const l = new Linear(weight, bias ? w.take(`${prefix}.bias`, [out]) : null);
  // act-order GPTQ (models/gptq.ts): the weight's in-features are stored in group order
  const order = w.src.inputOrder?.(`${prefix}.weight`);
  if (order) l._inputOrder = tensor(order, [inp], { dtype: 'i32', backend: weight.backend }).keep();
  return l;
}

export function loadLayerNorm(w: WeightLoader, prefix: string, dim: number, eps: number): LayerNorm {
  return new LayerNorm(w.take(`${prefix}.weight`, [dim]), w.take(`${prefix}.bias`, [dim]), eps);
}

/** `${prefix}.weight` (dim), plus `offset` added in f32 (Gemma's 1 + w). */
export function loadRMSNorm(w: WeightLoader, prefix: string, dim: number, eps: number, offset = 0): RMSNorm {
  const weight = w.take(`${prefix}.weight`, [dim]);
  if (!offset) return new RMSNorm(weight, eps);
  const shifted = tensor(Float32Array.from(weight.toFloat32Array(), (x) => x + offset), [dim], { backend: weight.backend });
  weight.dispose();
  return new RMSNorm(shifted, eps);
}
