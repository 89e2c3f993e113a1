/**
 * A model's layers run one `tidy` scope each when nothing needs a layer's intermediates after it:
 * without it every layer's activations of a forward (a 64-token 1B prefill: ~11 MB per layer) stay
 * alive until the caller's outer scope ends, so the first forward after load takes fresh pages for
 * each layer (one minor fault per 4 KiB) instead of reusing the previous layer's freed blocks
 * (the native allocator keeps freed blocks for the next allocation of the same size class).
 * Scoped only when: no trace (it keeps intermediates), the model in eval mode, and no gradient to
 * record (grad mode off, or neither the input nor any parameter requires grad: a backward would
 * need the intermediates). Under a decode-plan capture (decode-plan.ts) frees are deferred by the
 * capture itself, so scoping changes nothing there. Follows llama.cpp's per-graph compute buffer
 * reuse, at the granularity the tensor layer has.
 */
import type { Module } from '../nn/index.js';
import { isGradEnabled, tidy, type Tensor } from '../tensor/index.js';
import type { ForwardOptions } from './types.js';

/** x after `layer(x, i)` for i = 0 .. n - 1, each layer in its own scope when that is safe (above). */
export function runLayers(model: Module, x: Tensor, o: ForwardOptions, n: number, layer: (x: Tensor, i: number) => Tensor): Tensor {
  const scoped = !o.trace && !model.training && !(isGradEnabled() && (x.requiresGrad || model.parameters().some((p) => p.requiresGrad)));
  if (!scoped) {
    for (let i = 0; i < n; i++) x = layer(x, i);
    return x;
  }
  for (let i = 0; i < n; i++) {
    const prev = x;
    x = tidy(() => layer(prev, i));
    // the previous layer's output was made by this loop (the first input is the caller's)
    if (i > 0 && prev !== x) prev.dispose();
  }
  return x;
}
