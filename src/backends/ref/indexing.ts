/**
 * Indexing kernels of the reference backend: indexSelect, gather (torch.gather) and scatterAdd
 * (torch.scatter_add_, in place, applied in index order so duplicates accumulate sequentially).
 * Values move exactly (ints stay ints, f16 stays f16). Index views are i32/i64 and assumed in
 * range (the tensor layer checks); this file does not re-check them.
 */
import type { View } from '../backend.js';
import { checkView, getter, offsets, readNum, setter, write } from './strided.js';

/** Strides of `v` with `axis` zeroed (so walking another shape ignores that axis). */
function withoutAxis(strides: readonly number[], axis: number): number[] {
  return strides.map((s, i) => (i === axis ? 0 : s));
}

export function indexSelect(out: View, a: View, axis: number, index: View): void {
  checkView(a);
  const idx = readNum(index);
  const base = offsets(out.shape, withoutAxis(a.strides, axis), a.offset);
  const pos = offsets(out.shape, out.shape.map((_, i) => (i === axis ? 1 : 0)), 0);
  const get = getter(a);
  const vals = new Float64Array(base.length);
  const sa = a.strides[axis];
  for (let i = 0; i < base.length; i++) vals[i] = get(base[i] + idx[pos[i]] * sa);
  write(out, vals);
}

export function gather(out: View, a: View, axis: number, index: View): void {
  checkView(a);
  const idx = readNum(index);
  const base = offsets(out.shape, withoutAxis(a.strides, axis), a.offset);
  const get = getter(a);
  const vals = new Float64Array(base.length);
  const sa = a.strides[axis];
  for (let i = 0; i < base.length; i++) vals[i] = get(base[i] + idx[i] * sa);
  write(out, vals);
}

export function scatterAdd(out: View, axis: number, index: View, src: View): void {
  checkView(out);
  const idx = readNum(index);
  const s = readNum({ ...src, shape: index.shape });
  const base = offsets(index.shape, withoutAxis(out.strides, axis), out.offset);
  const get = getter(out);
  const set = setter(out);
  const so = out.strides[axis];
  for (let i = 0; i < base.length; i++) {
    const o = base[i] + idx[i] * so;
    set(o, get(o) + s[i]);
  }
}
