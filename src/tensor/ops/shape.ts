/**
 * Shape and view ops: reshape, permute/transpose, slice, expand, (un)squeeze, flatten are views
 * (no copy); contiguous, cat, stack copy. Also broadcasting helpers and `sumToShape`, the one
 * place where gradients are un-broadcast.
 */
import { contiguousStrides, numel } from '../../backends/backend.js';
import { DTYPES } from '../../backends/dtype.js';
import { Tensor } from '../tensor.js';
import { empty, record, same } from './core.js';
import { sum } from './reduce.js';

export function normAxis(axis: number, ndim: number, op: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= ndim) throw new Error(`${op}: axis ${axis} out of range for ${ndim}-d tensor`);
  return a;
}

export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`${op}: shapes [${a}] and [${b}] do not broadcast`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Sums `g` over broadcast axes so it has `shape` (gradient un-broadcasting). Returns a new tensor. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g.detach();
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = sum(g, axes, true);
  const r = reshape(s, shape);
  s.dispose();
  return r;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Strides for viewing `t` as `shape` without a copy, or null if impossible (PyTorch's computeStride). */
function viewStrides(t: Tensor, shape: readonly number[]): number[] | null {
  if (t.isContiguous() || t.numel === 0) return contiguousStrides(shape);
  if (t.ndim === 0) return shape.map(() => 1);
  const os = t.shape;
  const ost = t.strides;
  const ns = new Array<number>(shape.length);
  let vd = shape.length - 1;
  let base = ost[os.length - 1];
  let tn = 1;
  let vn = 1;
  for (let td = os.length - 1; td >= 0; td--) {
    tn *= os[td];
    if (td === 0 || (os[td - 1] !== 1 && ost[td - 1] !== tn * base)) {
      while (vd >= 0 && (vn < tn || shape[vd] === 1)) {
        ns[vd] = vn * base;
        vn *= shape[vd];
        vd--;
      }
      if (vn !== tn) return null;
      if (td > 0) {
        base = ost[td - 1];
        tn = 1;
        vn = 1;
      }
    }
  }
  return vd === -1 ? ns : null;
}

export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  same('reshape', t);
  const n = t.numel;
  const s = [...shape];
  const infer = s.indexOf(-1);
  if (infer >= 0) {
    const rest = s.reduce((p, d, i) => (i === infer ? p : p * d), 1);
    if (rest === 0 || n % rest !== 0) throw new Error(`reshape: cannot infer -1 in [${shape}] for ${n} elements`);
    s[infer] = n / rest;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || numel(s) !== n) {
    throw new Error(`reshape: shape [${shape}] is invalid for a tensor of shape [${t.shape}]`);
  }
  const strides = viewStrides(t, s);
  let out: Tensor;
  if (strides) out = t.viewAs(s, strides, t.offset);
  else {
    const c = t.contiguousCopy();
    out = c.viewAs(s, contiguousStrides(s), 0);
    c.dispose();
  }
  return record(out, 'reshape', [t], (g) => [reshape(g, t.shape)]);
}

export function permute(t: Tensor, dims: readonly number[]): Tensor {
  same('permute', t);
  if (dims.length !== t.ndim) throw new Error(`permute: got ${dims.length} dims for a ${t.ndim}-d tensor`);
  const d = dims.map((x) => normAxis(x, t.ndim, 'permute'));
  if (new Set(d).size !== d.length) throw new Error(`permute: repeated dim in [${dims}]`);
  // (quant) the one permutation a quantized tensor allows: w.T of a whole 2-d ggml weight (N, K),
  // which is how matmul takes it (see linalg.ts); blocks stay whole because they run along K.
  const weightT = t.ndim === 2 && d[0] === 1 && t.strides[1] === 1 && t.strides[0] === t.shape[1];
  if (DTYPES[t.dtype].isQuant && d.some((x, i) => x !== i) && !weightT) throw new Error('permute: quantized tensors cannot be permuted');
  const out = t.viewAs(d.map((i) => t.shape[i]), d.map((i) => t.strides[i]), t.offset);
  const inv = new Array<number>(d.length);
  d.forEach((x, i) => (inv[x] = i));
  return record(out, 'permute', [t], (g) => [permute(g, inv)]);
}

export function transpose(t: Tensor, a: number, b: number): Tensor {
  const dims = [...Array(t.ndim).keys()];
  const x = normAxis(a, t.ndim, 'transpose');
  const y = normAxis(b, t.ndim, 'transpose');
  [dims[x], dims[y]] = [dims[y], dims[x]];
  return permute(t, dims);
}

/** t[..., start:end:step, ...] along `dim` (negative start/end count from the end). */
export function slice(t: Tensor, dim: number, start: number, end?: number, step = 1): Tensor {
  same('slice', t);
  const ax = normAxis(dim, t.ndim, 'slice');
  const n = t.shape[ax];
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  let s = start < 0 ? start + n : start;
  let e = end === undefined ? n : end < 0 ? end + n : end;
  s = Math.min(Math.max(s, 0), n);
  e = Math.min(Math.max(e, s), n);
  const len = Math.ceil((e - s) / step);
  if (DTYPES[t.dtype].isQuant && (ax !== 0 || step !== 1)) throw new Error('slice: quantized tensors can only be sliced along dim 0');
  const shape = [...t.shape];
  shape[ax] = len;
  const strides = [...t.strides];
  strides[ax] = t.strides[ax] * step;
  const out = t.viewAs(shape, strides, t.offset + s * t.strides[ax]);
  return record(out, 'slice', [t], (g) => {
    const gx = empty(g, g.dtype, t.shape);
    const region = gx.viewAs(shape, contiguousStrides(t.shape).map((st, i) => (i === ax ? st * step : st)), s * contiguousStrides(t.shape)[ax]);
    g.backend.copy(region, g);
    region.dispose();
    return [gx];
  });
}

/** Broadcast view to `shape` (size-1 dims and new leading dims get stride 0). -1 keeps a dim. */
export function expand(t: Tensor, shape: readonly number[]): Tensor {
  same('expand', t);
  const lead = shape.length - t.ndim;
  if (lead < 0) throw new Error(`expand: cannot expand [${t.shape}] to fewer dims [${shape}]`);
  const outShape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const src = i < lead ? 1 : t.shape[i - lead];
    const want = shape[i] === -1 ? src : shape[i];
    if (src !== want && src !== 1) throw new Error(`expand: cannot expand [${t.shape}] to [${shape}]`);
    outShape.push(want);
    strides.push(i < lead || (src === 1 && want !== 1) ? 0 : t.strides[i - lead]);
  }
  if (sameShape(outShape, t.shape)) return record(t.detach(), 'expand', [t], (g) => [g.detach()]);
  const out = t.viewAs(outShape, strides, t.offset);
  return record(out, 'expand', [t], (g) => [sumToShape(g, t.shape)]);
}

export function unsqueeze(t: Tensor, dim: number): Tensor {
  const ax = normAxis(dim, t.ndim + 1, 'unsqueeze');
  const shape = [...t.shape];
  shape.splice(ax, 0, 1);
  return reshape(t, shape);
}

export function squeeze(t: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(t, t.shape.filter((d) => d !== 1));
  const ax = normAxis(dim, t.ndim, 'squeeze');
  if (t.shape[ax] !== 1) return reshape(t, t.shape);
  return reshape(t, t.shape.filter((_, i) => i !== ax));
}

export function flatten(t: Tensor, start = 0, end = -1): Tensor {
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normAxis(start, t.ndim, 'flatten');
  const e = normAxis(end, t.ndim, 'flatten');
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

/** A contiguous tensor with the same values (a new view object when already contiguous). */
export function contiguous(t: Tensor): Tensor {
  same('contiguous', t);
  const out = t.isContiguous() ? t.detach() : t.contiguousCopy();
  return record(out, 'contiguous', [t], (g) => [g.detach()]);
}

export function cat(ts: readonly Tensor[], dim = 0): Tensor {
  if (ts.length === 0) throw new Error('cat: no tensors');
  same('cat', ...ts);
  const first = ts[0];
  const ax = normAxis(dim, first.ndim, 'cat');
  for (const t of ts) {
    if (t.dtype !== first.dtype) throw new Error(`cat: dtype mismatch ${first.dtype} vs ${t.dtype}`);
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`cat: shapes [${first.shape}] and [${t.shape}] differ outside dim ${dim}`);
    }
  }
  const shape = [...first.shape];
  shape[ax] = ts.reduce((s, t) => s + t.shape[ax], 0);
  const out = empty(first, first.dtype, shape);
  const cs = contiguousStrides(shape);
  let at = 0;
  for (const t of ts) {
    const region = out.viewAs(t.shape, cs, at * cs[ax]);
    out.backend.copy(region, t);
    region.dispose();
    at += t.shape[ax];
  }
  return record(out, 'cat', ts, (g) => {
    let pos = 0;
    return ts.map((t) => {
      const part = slice(g, ax, pos, pos + t.shape[ax]);
      pos += t.shape[ax];
      const c = part.contiguousCopy();
      part.dispose();
      return c;
    });
  });
}

export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  if (ts.length === 0) throw new Error('stack: no tensors');
  const ax = normAxis(dim, ts[0].ndim + 1, 'stack');
  const us = ts.map((t) => unsqueeze(t, ax));
  const out = cat(us, ax);
  for (const u of us) if (!out.requiresGrad) u.dispose();
  return out;
}

/** Splits into pieces of `size` along `dim` (views). */
export function split(t: Tensor, size: number, dim = 0): Tensor[] {
  const ax = normAxis(dim, t.ndim, 'split');
  const out: Tensor[] = [];
  for (let s = 0; s < t.shape[ax]; s += size) out.push(slice(t, ax, s, s + size));
  return out;
}

export function chunk(t: Tensor, chunks: number, dim = 0): Tensor[] {
  const ax = normAxis(dim, t.ndim, 'chunk');
  return split(t, Math.ceil(t.shape[ax] / chunks), ax);
}

export { Tensor };
