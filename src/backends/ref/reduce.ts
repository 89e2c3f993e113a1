/**
 * Reductions of the reference backend: sum/max/min over any set of axes into a keepdim-shaped
 * output, and argmax/argmin (first index of the extreme, NaN counts as the extreme like torch)
 * along one axis into an i32 keepdim output. Sums accumulate in double.
 * Not here: mean/var (the tensor layer composes them) or reductions into a non-keepdim shape.
 */
import { contiguousStrides, numel, type ReduceOp, type View } from '../backend.js';
import { offsets, read, write } from './strided.js';

export function reduce(op: ReduceOp, out: View, a: View, axes: readonly number[]): void {
  const x = read(a);
  const outShape = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const os = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const oi = offsets(a.shape, os, 0);
  const acc = new Float64Array(numel(outShape));
  if (op === 'sum') {
    for (let i = 0; i < x.length; i++) acc[oi[i]] += x[i];
  } else if (op === 'max' || op === 'min') {
    const isMax = op === 'max';
    acc.fill(isMax ? -Infinity : Infinity);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const cur = acc[oi[i]];
      if (v !== v || (isMax ? v > cur : v < cur)) acc[oi[i]] = cur !== cur ? cur : v;
    }
  } else {
    throw new Error(`ref: unknown reduce op ${String(op)}`);
  }
  write(out, acc);
}

export function argreduce(op: 'argmax' | 'argmin', out: View, a: View, axis: number): void {
  const x = read(a);
  const n = a.shape[axis];
  let inner = 1;
  for (let d = axis + 1; d < a.shape.length; d++) inner *= a.shape[d];
  const outer = n === 0 ? 0 : x.length / (n * inner);
  const isMax = op === 'argmax';
  const res = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = x[o * n * inner + j];
      let bi = 0;
      for (let k = 1; k < n && best === best; k++) {
        const v = x[(o * n + k) * inner + j];
        if (v !== v || (isMax ? v > best : v < best)) {
          best = v;
          bi = k;
        }
      }
      res[o * inner + j] = bi;
    }
  }
  write(out, res);
}
