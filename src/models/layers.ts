/**
 * Layers read from a checkpoint by name: the nn layer family (src/nn/layers.ts) built around the
 * loaded tensors, so `stateDict()` / `namedParameters()` see the checkpoint names. Not here:
 * initialisation (nn's `Linear.init` and friends; models/moss/init.ts).
 */
import { engineOptions } from '../backends/options.js';
import { LayerNorm, Linear, RMSNorm } from '../nn/index.js';
import type { WeightLoader } from './weights.js';

/** `${prefix}.weight` (out, in) and, with `bias`, `${prefix}.bias` (out). */
export function loadLinear(w: WeightLoader, prefix: string, out: number, inp: number, bias: boolean): Linear {
  const weight = w.take(`${prefix}.weight`, [out, inp], { allowQuant: true });
  if (engineOptions().repack) weight.backend.prepareWeight?.(weight); // e.g. q4_0 repacked for the native kernels
  return new Linear(weight, bias ? w.take(`${prefix}.bias`, [out]) : null);
}

export function loadLayerNorm(w: WeightLoader, prefix: string, dim: number, eps: number): LayerNorm {
  return new LayerNorm(w.take(`${prefix}.weight`, [dim]), w.take(`${prefix}.bias`, [dim]), eps);
}

export function loadRMSNorm(w: WeightLoader, prefix: string, dim: number, eps: number): RMSNorm {
  return new RMSNorm(w.take(`${prefix}.weight`, [dim]), eps);
}
