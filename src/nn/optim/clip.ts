/** Gradient clipping by global L2 norm (torch.nn.utils.clip_grad_norm_): returns the norm before clipping. */
import { noGrad, ops, tidy, type Tensor } from '../../tensor/index.js';

export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return noGrad(() => {
    let sq = 0;
    // every temporary (f32 copy, square, sum) is freed here: a training loop calls this each step
    for (const p of params) if (p.grad) sq += tidy(() => ops.sum(ops.square(ops.to(p.grad!, 'f32'))).item());
    const norm = Math.sqrt(sq);
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) {
      for (const p of params) {
        if (!p.grad) continue;
        const scaled = ops.mul(p.grad, coef);
        p.backend.copy(p.grad, scaled);
        scaled.dispose();
      }
    }
    return norm;
  });
}
