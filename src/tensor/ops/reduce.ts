/**
 * Reductions over any set of axes with keepdim: sum, mean, max, min, argmax, argmin, logsumexp.
 * max/min send the gradient to every position equal to the extreme, split evenly (like amax).
 */
import { DTYPES } from '../../backends/dtype.js';
import { Tensor } from '../tensor.js';
import { empty, record, requireFloat, same } from './core.js';
import { div, eq, exp, log, mul, add, sub, to } from './elementwise.js';
import { expand, normAxis, reshape } from './shape.js';

type Axes = number | readonly number[] | undefined;

function axesOf(op: string, t: Tensor, axes: Axes): number[] {
  if (axes === undefined) return [...Array(t.ndim).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const norm = list.map((a) => normAxis(a, t.ndim, op));
  if (new Set(norm).size !== norm.length) throw new Error(`${op}: repeated axis in [${list}]`);
  return norm.sort((a, b) => a - b);
}

function keptShape(t: Tensor, axes: readonly number[]): number[] {
  return t.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function dropped(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

function finish(y: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  if (keepdim) return y;
  const r = reshape(y, dropped(y.shape, axes));
  return r;
}

function raw(op: 'sum' | 'max' | 'min', t: Tensor, axes: readonly number[]): Tensor {
  if (DTYPES[t.dtype].isQuant) throw new Error(`${op}: dequantize first`);
  const y = empty(t, t.dtype, keptShape(t, axes));
  if (t.numel === 0 && op !== 'sum') throw new Error(`${op}: reduction of an empty tensor`);
  t.backend.reduce(op, y, t, axes);
  return y;
}

export function sum(t: Tensor, axes?: Axes, keepdim = false): Tensor {
  same('sum', t);
  const ax = axesOf('sum', t, axes);
  const y = raw('sum', t, ax);
  record(y, 'sum', [t], (g) => [expand(g, t.shape).contiguousCopy()]);
  return finish(y, ax, keepdim);
}

export function mean(t: Tensor, axes?: Axes, keepdim = false): Tensor {
  requireFloat('mean', t);
  const ax = axesOf('mean', t, axes);
  const n = ax.reduce((p, a) => p * t.shape[a], 1);
  const s = sum(t, ax, true);
  const y = div(s, n);
  if (!y.requiresGrad) s.dispose();
  return finish(y, ax, keepdim);
}

function extreme(op: 'max' | 'min', t: Tensor, axes: Axes, keepdim: boolean): Tensor {
  same(op, t);
  const ax = axesOf(op, t, axes);
  const y = raw(op, t, ax);
  record(y, op, [t], (g) => {
    const mask = to(eq(t, y), t.dtype);
    const count = sum(mask, ax, true);
    return [mul(mask, div(g, count))];
  });
  return finish(y, ax, keepdim);
}

export const max = (t: Tensor, axes?: Axes, keepdim = false) => extreme('max', t, axes, keepdim);
export const min = (t: Tensor, axes?: Axes, keepdim = false) => extreme('min', t, axes, keepdim);

function argExtreme(op: 'argmax' | 'argmin', t: Tensor, axis: number, keepdim: boolean): Tensor {
  same(op, t);
  const ax = normAxis(axis, t.ndim, op);
  if (t.shape[ax] === 0) throw new Error(`${op}: empty axis`);
  const y = empty(t, 'i32', keptShape(t, [ax]));
  t.backend.argreduce(op, y, t, ax);
  return finish(y, [ax], keepdim);
}

/** Index of the first maximum along `axis` (i32). */
export const argmax = (t: Tensor, axis = -1, keepdim = false) => argExtreme('argmax', t, axis, keepdim);
export const argmin = (t: Tensor, axis = -1, keepdim = false) => argExtreme('argmin', t, axis, keepdim);

/** log(sum(exp(t))) over axes, stabilised by the (constant) max. */
export function logsumexp(t: Tensor, axes?: Axes, keepdim = false): Tensor {
  requireFloat('logsumexp', t);
  const ax = axesOf('logsumexp', t, axes);
  const m = raw('max', t, ax); // not recorded: the gradient does not depend on the shift
  const shifted = sub(t, m);
  const e = exp(shifted);
  const s = sum(e, ax, true);
  const y = add(log(s), m);
  return finish(y, ax, keepdim);
}

export { Tensor };
