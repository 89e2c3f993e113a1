/**
 * Row softmax / log-softmax over the last axis (max-subtracted, double accumulation), for the
 * reference backend. Any float dtype in and out; strides are honoured although the contract only
 * promises contiguous rows.
 */
import type { View } from '../backend.js';
import { readF32, write } from './strided.js';

function rows(out: View, a: View, log: boolean): void {
  const x = readF32(a);
  const D = a.shape[a.shape.length - 1];
  const y = new Float64Array(x.length);
  for (let r = 0; r + D <= x.length && D > 0; r += D) {
    let max = -Infinity;
    for (let i = 0; i < D; i++) max = Math.max(max, x[r + i]);
    let sum = 0;
    for (let i = 0; i < D; i++) sum += Math.exp(x[r + i] - max);
    if (log) {
      const lse = max + Math.log(sum);
      for (let i = 0; i < D; i++) y[r + i] = x[r + i] - lse;
    } else {
      for (let i = 0; i < D; i++) y[r + i] = Math.exp(x[r + i] - max) / sum;
    }
  }
  write(out, y);
}

export function softmax(out: View, a: View): void {
  rows(out, a, false);
}

export function logSoftmax(out: View, a: View): void {
  rows(out, a, true);
}
