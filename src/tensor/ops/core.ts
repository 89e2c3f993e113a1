/**
 * Shared plumbing for op definitions: output allocation, backend agreement checks, and recording
 * the vjp on the tape. Each op file defines forward and vjp side by side using these.
 */
import type { DType } from '../../backends/dtype.js';
import type { GradNode } from '../autograd.js';
import { needsGrad } from '../autograd.js';
import { Tensor } from '../tensor.js';

/** A fresh contiguous output on the backend of `like`. */
export function empty(like: Tensor, dtype: DType, shape: readonly number[]): Tensor {
  return Tensor.empty(like.backend, dtype, shape);
}

/** Throws unless every tensor is alive and on the same backend; returns the first. */
export function same(op: string, ...ts: Tensor[]): Tensor {
  const b = ts[0].checkAlive().backend;
  for (const t of ts) {
    t.checkAlive();
    if (t.backend !== b) throw new Error(`${op}: tensors live on different backends (${b.name} and ${t.backend.name})`);
  }
  return ts[0];
}

export function sameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) throw new Error(`${op}: dtype mismatch ${a.dtype} vs ${b.dtype} (cast one with .to())`);
}

export function requireFloat(op: string, t: Tensor): void {
  if (t.dtype !== 'f32' && t.dtype !== 'f16' && t.dtype !== 'bf16') throw new Error(`${op}: expected a float tensor, got ${t.dtype}`);
}

export function requireInt(op: string, t: Tensor): void {
  if (t.dtype !== 'i32' && t.dtype !== 'i64') throw new Error(`${op}: index tensor must be i32 or i64, got ${t.dtype}`);
}

/** Attaches a tape node to `out` when any input requires grad (and grad mode is on). */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], vjp: GradNode['vjp']): Tensor {
  if (needsGrad(inputs)) {
    out.requiresGrad = true;
    out.gradNode = { name, inputs, vjp };
  }
  return out;
}

/** Reads an index tensor and checks every value is in [0, n). */
export function checkIndexRange(op: string, index: Tensor, n: number): void {
  const ids = index.toInt32Array();
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= n) throw new Error(`${op}: index ${ids[i]} out of range [0, ${n})`);
  }
}
