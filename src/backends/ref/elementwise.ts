/**
 * Elementwise kernels of the reference backend: unary, binary, where, plus copy/fill/dequantize.
 * Inputs are read in logical order through strided.ts (so broadcasting = stride 0, transposes and
 * offsets all work), the formula is applied in double, and the store rounds to out.dtype.
 * Comparisons write 1/0. maximum/minimum propagate NaN (like torch.maximum).
 * Not here: type promotion or broadcasting of shapes (the tensor layer does both).
 */
import { numel, type BinaryOp, type UnaryOp, type View } from '../backend.js';
import { DTYPES } from '../dtype.js';
import { gelu, geluGrad, geluNew, geluNewGrad, sigmoid, silu, siluGrad } from './math.js';
import { read, readF32, readNum, write } from './strided.js';

export const UNARY: Readonly<Record<UnaryOp, (x: number) => number>> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : x !== x ? x : 0),
  gelu,
  gelu_new: geluNew,
  silu,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  square: (x) => x * x,
  recip: (x) => 1 / x,
  gelu_grad: geluGrad,
  gelu_new_grad: geluNewGrad,
  silu_grad: siluGrad,
};

export const BINARY: Readonly<Record<BinaryOp, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max, // NaN if either is NaN
  minimum: Math.min,
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

export function unary(op: UnaryOp, out: View, a: View): void {
  const f = UNARY[op];
  if (!f) throw new Error(`ref: unknown unary op ${op}`);
  const x = read(a);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  write(out, y);
}

export function binary(op: BinaryOp, out: View, a: View, b: View): void {
  const f = BINARY[op];
  if (!f) throw new Error(`ref: unknown binary op ${op}`);
  const x = read(a);
  const y = read(b);
  const z = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) z[i] = f(x[i], y[i]);
  write(out, z);
}

export function where(out: View, cond: View, a: View, b: View): void {
  const c = readNum(cond);
  const x = read(a);
  const y = read(b);
  const z = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) z[i] = c[i] !== 0 ? x[i] : y[i];
  write(out, z);
}

export function copy(out: View, a: View): void {
  if (DTYPES[a.dtype].isQuant || DTYPES[out.dtype].isQuant) throw new Error('ref.copy: quantized dtypes are not copyable (use dequantize)');
  write(out, readNum(a));
}

export function fill(out: View, value: number): void {
  write(out, new Float64Array(numel(out.shape)).fill(value));
}

export function dequantize(out: View, a: View): void {
  if (!DTYPES[a.dtype].isQuant) throw new Error(`ref.dequantize: ${a.dtype} is not a quantized dtype`);
  write(out, readF32(a));
}
