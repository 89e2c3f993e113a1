/**
 * Finite-difference checks of every vjp, on every available backend: broadcasting, non-contiguous
 * views (transposed / sliced leaves inside f) and odd sizes. One table row per op.
 */
import { test } from 'node:test';
import { ops, tensor, Generator, type Tensor } from '../../src/tensor/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { backends, gradcheck, leaf, type Leaf } from './helpers.js';

/** Values bounded away from zero (for kinks at 0: relu, abs). */
function away(seed: number, shape: number[]): Leaf {
  const l = leaf(seed, shape);
  for (let i = 0; i < l.values.length; i++) l.values[i] = Math.sign(l.values[i] || 1) * (0.15 + 0.85 * Math.abs(l.values[i]));
  return l;
}

function offsetFrom(a: Leaf, seed: number): Leaf {
  const r = away(seed, a.shape);
  return { shape: a.shape, values: a.values.map((v, i) => v + 0.3 * r.values[i]) };
}

const pos = (seed: number, shape: number[]) => leaf(seed, shape, 0.5, 2);
const ids = (vals: number[], shape: number[], backend: Tensor['backend']) => tensor(vals, shape, { dtype: 'i32', backend });

type Case = [name: string, leaves: () => Leaf[], f: (...xs: Tensor[]) => Tensor];

const A = away(1, [3, 5]);
const cases: Case[] = [
  // --- unary ---
  ...(['neg', 'exp', 'tanh', 'sigmoid', 'gelu', 'geluNew', 'silu', 'sin', 'cos', 'square'] as const).map(
    (op): Case => [op, () => [leaf(2, [3, 7])], (x) => (ops[op] as (t: Tensor) => Tensor)(x)],
  ),
  ['relu', () => [away(3, [4, 3])], (x) => ops.relu(x)],
  ['abs', () => [away(4, [4, 3])], (x) => ops.abs(x)],
  ...(['log', 'sqrt', 'rsqrt', 'reciprocal'] as const).map((op): Case => [op, () => [pos(5, [2, 9])], (x) => (ops[op] as (t: Tensor) => Tensor)(x)]),
  // --- binary with broadcasting and scalars ---
  ['add broadcast', () => [leaf(6, [2, 3, 4]), leaf(7, [3, 1])], (a, b) => ops.add(a, b)],
  ['sub broadcast', () => [leaf(8, [4]), leaf(9, [2, 3, 4])], (a, b) => ops.sub(a, b)],
  ['mul broadcast', () => [leaf(10, [5, 1]), leaf(11, [1, 7])], (a, b) => ops.mul(a, b)],
  ['div', () => [leaf(12, [3, 4]), away(13, [3, 4])], (a, b) => ops.div(a, b)],
  ['scalar ops', () => [leaf(14, [6])], (a) => ops.div(ops.sub(2, ops.mul(a, 3)), 1.5)],
  ['pow', () => [pos(15, [2, 3]), leaf(16, [2, 3])], (a, b) => ops.pow(a, b)],
  ['maximum', () => [A, offsetFrom(A, 17)], (a, b) => ops.maximum(a, b)],
  ['minimum', () => [A, offsetFrom(A, 18)], (a, b) => ops.minimum(a, b)],
  ['where', () => [leaf(19, [3, 4]), leaf(20, [4])], (a, b) => ops.where(ops.gt(a, 0), a, b)],
  ['to f32', () => [leaf(21, [5])], (a) => ops.to(a, 'f32')],
  // --- reductions ---
  ['sum axes', () => [leaf(22, [2, 3, 5])], (a) => ops.sum(a, [0, 2], true)],
  ['sum all', () => [leaf(23, [3, 3])], (a) => ops.sum(a)],
  ['mean', () => [leaf(24, [4, 3])], (a) => ops.mean(a, 1)],
  ['max', () => [leaf(25, [3, 6])], (a) => ops.max(a, -1)],
  ['min', () => [leaf(26, [3, 6])], (a) => ops.min(a, 0, true)],
  ['logsumexp', () => [leaf(27, [3, 7])], (a) => ops.logsumexp(a, -1)],
  // --- views and copies ---
  ['reshape of transposed', () => [leaf(28, [3, 4])], (a) => ops.mul(ops.reshape(ops.transpose(a, 0, 1), [2, 6]), ops.reshape(a, [2, 6]))],
  ['permute', () => [leaf(29, [2, 3, 4])], (a) => ops.mul(ops.permute(a, [2, 0, 1]), 2)],
  ['slice step', () => [leaf(30, [7, 3])], (a) => ops.mul(ops.slice(a, 0, 1, 7, 2), ops.slice(a, 0, 0, 3))],
  ['expand', () => [leaf(31, [3, 1])], (a) => ops.mul(ops.expand(a, [2, 3, 5]), 1)],
  ['squeeze/unsqueeze/flatten', () => [leaf(32, [3, 1, 4])], (a) => ops.flatten(ops.unsqueeze(ops.squeeze(a, 1), 0))],
  ['contiguous', () => [leaf(33, [4, 5])], (a) => ops.contiguous(ops.transpose(a, 0, 1))],
  ['cat', () => [leaf(34, [2, 3]), leaf(35, [2, 5])], (a, b) => ops.cat([a, b, a], 1)],
  ['stack', () => [leaf(36, [3]), leaf(37, [3])], (a, b) => ops.stack([a, b], 1)],
  // --- linear algebra ---
  ['matmul batched broadcast', () => [leaf(38, [2, 3, 5]), leaf(39, [5, 4])], (a, b) => ops.matmul(a, b)],
  ['matmul transposed operands', () => [leaf(40, [5, 3]), leaf(41, [4, 5])], (a, b) => ops.matmul(ops.transpose(a, 0, 1), ops.transpose(b, 0, 1))],
  ['matmul vector', () => [leaf(42, [5]), leaf(43, [2, 5, 3])], (a, b) => ops.matmul(a, b)],
  ['linear', () => [leaf(44, [2, 3, 5]), leaf(45, [4, 5]), leaf(46, [4])], (x, w, b) => ops.linear(x, w, b)],
  // --- indexing ---
  ['index_select', () => [leaf(47, [5, 3])], (a) => ops.indexSelect(a, 0, ids([4, 0, 4, 2], [4], a.backend))],
  ['gather', () => [leaf(48, [3, 4])], (a) => ops.gather(a, 1, ids([0, 3, 3, 1, 2, 0], [3, 2], a.backend))],
  ['scatter_add', () => [leaf(49, [3, 4]), leaf(50, [2, 4])], (a, s) => ops.scatterAdd(a, 0, ids([2, 0, 1, 2, 0, 0, 2, 1], [2, 4], a.backend), s)],
  ['embedding', () => [leaf(51, [6, 3])], (w) => ops.embedding(ids([1, 5, 1, 0], [2, 2], w.backend), w)],
  // --- fused ---
  ['softmax', () => [leaf(52, [3, 7])], (a) => ops.softmax(a, -1)],
  ['softmax axis 0', () => [leaf(53, [4, 3])], (a) => ops.softmax(a, 0)],
  ['log_softmax', () => [leaf(54, [3, 7])], (a) => ops.logSoftmax(a)],
  ['layer_norm', () => [leaf(55, [4, 7]), leaf(56, [7]), leaf(57, [7])], (x, w, b) => ops.layerNorm(x, w, b, 1e-5)],
  ['rms_norm', () => [leaf(58, [4, 7]), leaf(59, [7])], (x, w) => ops.rmsNorm(x, w, 1e-6)],
  ['rope interleaved partial', () => [leaf(60, [2, 3, 2, 8])], (x) => ops.rope(x, ids([0, 1, 2, 5, 6, 7], [2, 3], x.backend), { rotaryDim: 4, interleaved: true, base: 10000 })],
  ['rope half-split', () => [leaf(61, [1, 4, 3, 6])], (x) => ops.rope(x, ids([3, 4, 5, 6], [4], x.backend), { rotaryDim: 6, interleaved: false, base: 10000 })],
  ['attention causal', () => [leaf(62, [1, 2, 3, 4]), leaf(63, [1, 2, 3, 4]), leaf(64, [1, 2, 3, 4])], (q, k, v) => ops.sdpa(q, k, v)],
  ['attention GQA with cache', () => [leaf(65, [2, 4, 2, 3]), leaf(66, [2, 2, 5, 3]), leaf(67, [2, 2, 5, 3])], (q, k, v) => ops.sdpa(q, k, v, { pastLen: [3, 2], kvLen: [5, 4] })],
  // training layout: q/k/v are transposes of (B, T, H, D), Dv != D, the output goes back the same way
  ['attention transposed inputs, Dv != D', () => [leaf(71, [2, 5, 4, 3]), leaf(72, [2, 5, 2, 3]), leaf(73, [2, 5, 2, 2])],
    (q, k, v) => ops.sdpa(ops.transpose(q, 1, 2), ops.transpose(k, 1, 2), ops.transpose(v, 1, 2)).transpose(1, 2).reshape(2, 5, 8)],
  ['attention non-causal padded MQA', () => [leaf(74, [2, 3, 4, 5]), leaf(75, [2, 1, 6, 5]), leaf(76, [2, 1, 6, 5])],
    (q, k, v) => ops.sdpa(q, k, v, { causal: false, kvLen: [6, 3] })],
  ['attention D16 GQA (register-tiled widths)', () => [leaf(77, [1, 2, 5, 16]), leaf(78, [1, 1, 5, 16]), leaf(79, [1, 1, 5, 16])],
    (q, k, v) => ops.sdpa(q, k, v)],
  ['cross_entropy ignore', () => [leaf(68, [4, 6], -2, 2)], (l) => ops.crossEntropy(l, ids([1, -100, 5, 0], [4], l.backend))],
  ['cross_entropy none', () => [leaf(69, [3, 5], -2, 2)], (l) => ops.crossEntropy(l, ids([4, 2, -100], [3], l.backend), { reduction: 'none' })],
  ['dropout', () => [leaf(70, [4, 5])], (a) => ops.dropout(a, 0.3, true, new Generator(7))],
];

for (const backend of backends) {
  for (const [name, leaves, f] of cases) {
    test(`gradcheck ${name} [${backend.name}]`, () => {
      gradcheck(backend, leaves(), f);
    });
  }
  // the composed fallback of sdpa (backends without the fused attention kernels)
  const composed: Backend = { ...backend, supports: (op) => op !== 'attention' && op !== 'attentionBackward' && backend.supports(op) };
  for (const [name, leaves, f] of cases.filter(([n]) => n.startsWith('attention'))) {
    test(`gradcheck ${name} composed [${backend.name}]`, () => {
      gradcheck(composed, leaves(), f);
    });
  }
}
