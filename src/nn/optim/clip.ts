/** Gradient clipping by global L2 norm (torch.nn.utils.clip_grad_norm_): returns the norm before clipping. */
import { noGrad, ops, type Tensor } from '../../tensor/index.js';

export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return noGrad(() => {
    let sq = 0;
    for (const p of params) {
      if (!p.grad) continue;
      const g32 = ops.to(p.grad, 'f32');
      const s = ops.sum(ops.square(g32));
      sq += s.item();
      s.dispose();
      g32.dispose();
    }
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
