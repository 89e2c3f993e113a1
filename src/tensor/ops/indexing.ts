/**
 * Indexing ops: index_select, gather, scatter_add and embedding. Index values are range-checked
 * here, before any backend (native) code runs.
 */
import { Tensor } from '../tensor.js';
import { checkIndexRange, empty, record, requireInt, same } from './core.js';
import { zerosLike } from './elementwise.js';
import { expand, normAxis, reshape } from './shape.js';

/** torch.index_select: picks slices `index` (1-d) along `axis`. */
export function indexSelect(a: Tensor, axis: number, index: Tensor): Tensor {
  same('index_select', a, index);
  requireInt('index_select', index);
  if (index.ndim !== 1) throw new Error(`index_select: index must be 1-d, got [${index.shape}]`);
  const ax = normAxis(axis, a.ndim, 'index_select');
  checkIndexRange('index_select', index, a.shape[ax]);
  const shape = [...a.shape];
  shape[ax] = index.shape[0];
  const y = empty(a, a.dtype, shape);
  a.backend.indexSelect(y, a, ax, index);
  return record(y, 'index_select', [a], (g) => {
    // index_add: scatter each selected slice back; the index is broadcast over the other dims
    const ishape = g.shape.map((_, i) => (i === ax ? g.shape[i] : 1));
    const idx = reshape(index, ishape);
    const full = expand(idx, g.shape);
    const gx = zerosLike(a);
    a.backend.scatterAdd(gx, ax, full, g);
    return [gx];
  });
}

/** torch.gather: out[i][j] = a[index[i][j]][j] for axis 0 (and likewise for other axes). */
export function gather(a: Tensor, axis: number, index: Tensor): Tensor {
  same('gather', a, index);
  requireInt('gather', index);
  const ax = normAxis(axis, a.ndim, 'gather');
  if (index.ndim !== a.ndim) throw new Error(`gather: index must have ${a.ndim} dims, got [${index.shape}]`);
  for (let i = 0; i < a.ndim; i++) {
    if (i !== ax && index.shape[i] > a.shape[i]) throw new Error(`gather: index shape [${index.shape}] exceeds input [${a.shape}] at dim ${i}`);
  }
  checkIndexRange('gather', index, a.shape[ax]);
  const y = empty(a, a.dtype, index.shape);
  a.backend.gather(y, a, ax, index);
  return record(y, 'gather', [a], (g) => {
    const gx = zerosLike(a);
    a.backend.scatterAdd(gx, ax, index, g);
    return [gx];
  });
}

/** Out-of-place torch.scatter_add: a copy of `a` with src added at `index` along `axis`. */
export function scatterAdd(a: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  same('scatter_add', a, index, src);
  requireInt('scatter_add', index);
  const ax = normAxis(axis, a.ndim, 'scatter_add');
  if (src.dtype !== a.dtype) throw new Error(`scatter_add: dtype mismatch ${a.dtype} vs ${src.dtype}`);
  if (index.ndim !== a.ndim || src.ndim !== a.ndim) throw new Error('scatter_add: a, index and src must have the same number of dims');
  for (let i = 0; i < a.ndim; i++) {
    if (index.shape[i] > src.shape[i] || (i !== ax && index.shape[i] > a.shape[i])) {
      throw new Error(`scatter_add: index shape [${index.shape}] does not fit src [${src.shape}] / input [${a.shape}]`);
    }
  }
  checkIndexRange('scatter_add', index, a.shape[ax]);
  const y = a.contiguousCopy();
  a.backend.scatterAdd(y, ax, index, src);
  return record(y, 'scatter_add', [a, src], (g) => [g.detach(), src.requiresGrad ? gather(g, ax, index) : null]);
}

/** Rows of `weight` (V, C) for each id: ids (...) -> (..., C). */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be 2-d, got [${weight.shape}]`);
  const flat = reshape(ids, [-1]);
  const rows = indexSelect(weight, 0, flat);
  return reshape(rows, [...ids.shape, weight.shape[1]]);
}

export { Tensor };
