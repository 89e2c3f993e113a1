/** Learning-rate schedules as plain functions of the step (0-based). */

export interface CosineSchedule {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor at the end of the decay (default 0.1 * lr). */
  minLr?: number;
}

/** Linear warmup from lr/warmupSteps to lr, then cosine decay to minLr at totalSteps. */
export function cosineWithWarmup(step: number, s: CosineSchedule): number {
  const minLr = s.minLr ?? 0.1 * s.lr;
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return minLr;
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
