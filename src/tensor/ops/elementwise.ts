/**
 * Elementwise ops with broadcasting: unary math, binary arithmetic (tensor or scalar operands),
 * comparisons (bool results, no grad), where, casts. Forward and vjp side by side.
 * Binary ops require equal dtypes (no silent promotion); a JS number adopts the tensor's dtype.
 */
import type { BinaryOp, UnaryOp } from '../../backends/backend.js';
import { DTYPES, type DType } from '../../backends/dtype.js';
import { Tensor } from '../tensor.js';
import { empty, record, requireFloat, same, sameDType } from './core.js';
import { broadcastShapes, expand, sumToShape } from './shape.js';

// --- constants ---

export function full(like: Tensor, shape: readonly number[], value: number, dtype: DType = like.dtype): Tensor {
  const out = empty(like, dtype, shape);
  if (value !== 0) like.backend.fill(out, value);
  return out;
}

export function fullLike(t: Tensor, value: number): Tensor {
  return full(t, t.shape, value);
}

export function zerosLike(t: Tensor): Tensor {
  return full(t, t.shape, 0);
}

function scalarLike(t: Tensor, v: number): Tensor {
  return full(t, [], v);
}

// --- unary ---

type UnaryVjp = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

const UNARY_VJP: Partial<Record<UnaryOp, UnaryVjp>> = {
  neg: (g) => neg(g),
  exp: (g, _x, y) => mul(g, y),
  log: (g, x) => div(g, x),
  sqrt: (g, _x, y) => div(g, mul(y, 2)),
  rsqrt: (g, _x, y) => mul(g, mul(pow(y, 3), -0.5)),
  tanh: (g, _x, y) => mul(g, sub(1, mul(y, y))),
  sigmoid: (g, _x, y) => mul(g, mul(y, sub(1, y))),
  relu: (g, x) => mul(g, to(gt(x, 0), g.dtype)),
  gelu: (g, x) => mul(g, unary('gelu_grad', x)),
  gelu_new: (g, x) => mul(g, unary('gelu_new_grad', x)),
  silu: (g, x) => mul(g, unary('silu_grad', x)),
  abs: (g, x) => mul(g, sub(to(gt(x, 0), g.dtype), to(lt(x, 0), g.dtype))),
  sin: (g, x) => mul(g, unary('cos', x)),
  cos: (g, x) => neg(mul(g, unary('sin', x))),
  square: (g, x) => mul(g, mul(x, 2)),
  recip: (g, _x, y) => neg(mul(g, mul(y, y))),
};

/** Applies a backend unary op; differentiable where a vjp is defined. */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  same(op, x);
  requireFloat(op, x);
  const y = empty(x, x.dtype, x.shape);
  x.backend.unary(op, y, x);
  const rule = UNARY_VJP[op];
  if (!rule) return y;
  // vjps that need y must see its values, not a later in-place edit: tensors are immutable here.
  return record(y, op, [x], (g) => [rule(g, x, y)]);
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
/** GELU with the exact erf. */
export const gelu = (x: Tensor) => unary('gelu', x);
/** GELU, tanh approximation (GPT-2 / CodeGen / MOSS "gelu_new"). */
export const geluNew = (x: Tensor) => unary('gelu_new', x);
export const silu = (x: Tensor) => unary('silu', x);
export const abs = (x: Tensor) => unary('abs', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const square = (x: Tensor) => unary('square', x);
export const reciprocal = (x: Tensor) => unary('recip', x);

// --- binary ---

type Operand = Tensor | number;

function operands(op: string, a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be a tensor`);
  const ta = typeof a === 'number' ? scalarLike(b as Tensor, a) : a;
  const tb = typeof b === 'number' ? scalarLike(ta, b) : b;
  same(op, ta, tb);
  sameDType(op, ta, tb);
  return [ta, tb];
}

function broadcastPair(op: string, a: Tensor, b: Tensor): [Tensor, Tensor, number[]] {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const ea = expand(a, shape);
  const eb = expand(b, shape);
  return [ea, eb, shape];
}

type BinaryVjp = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null];

const BINARY_VJP: Partial<Record<BinaryOp, BinaryVjp>> = {
  add: (g) => [g.detach(), g.detach()],
  sub: (g) => [g.detach(), neg(g)],
  mul: (g, a, b) => [mul(g, b), mul(g, a)],
  div: (g, a, b) => [div(g, b), neg(div(mul(g, a), mul(b, b)))],
  pow: (g, a, b, y) => [mul(g, mul(b, pow(a, sub(b, 1)))), b.requiresGrad ? mul(g, mul(y, log(a))) : null],
  // ties send the gradient to `a`
  maximum: (g, a, b) => [mul(g, to(ge(a, b), g.dtype)), mul(g, to(lt(a, b), g.dtype))],
  minimum: (g, a, b) => [mul(g, to(le(a, b), g.dtype)), mul(g, to(gt(a, b), g.dtype))],
};

export function binary(op: BinaryOp, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands(op, a, b);
  const [ea, eb, shape] = broadcastPair(op, ta, tb);
  const isCmp = !(op in BINARY_VJP);
  if (!isCmp) requireFloat(op, ta);
  const y = empty(ta, isCmp ? 'bool' : ta.dtype, shape);
  ta.backend.binary(op, y, ea, eb);
  ea.dispose();
  eb.dispose();
  const rule = BINARY_VJP[op];
  if (!rule || !(ta.requiresGrad || tb.requiresGrad)) {
    if (typeof a === 'number') ta.dispose();
    if (typeof b === 'number') tb.dispose();
    return y;
  }
  return record(y, op, [ta, tb], (g) => {
    const [ga, gb] = rule(g, ta, tb, y);
    const ra = ga && ta.requiresGrad ? sumToShape(ga, ta.shape) : null;
    const rb = gb && tb.requiresGrad ? sumToShape(gb, tb.shape) : null;
    ga?.dispose();
    gb?.dispose();
    return [ra, rb];
  });
}

export const add = (a: Operand, b: Operand) => binary('add', a, b);
export const sub = (a: Operand, b: Operand) => binary('sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('mul', a, b);
export const div = (a: Operand, b: Operand) => binary('div', a, b);
export const pow = (a: Operand, b: Operand) => binary('pow', a, b);
export const maximum = (a: Operand, b: Operand) => binary('maximum', a, b);
export const minimum = (a: Operand, b: Operand) => binary('minimum', a, b);
export const eq = (a: Operand, b: Operand) => binary('eq', a, b);
export const ne = (a: Operand, b: Operand) => binary('ne', a, b);
export const lt = (a: Operand, b: Operand) => binary('lt', a, b);
export const le = (a: Operand, b: Operand) => binary('le', a, b);
export const gt = (a: Operand, b: Operand) => binary('gt', a, b);
export const ge = (a: Operand, b: Operand) => binary('ge', a, b);

/** cond ? a : b with broadcasting; cond is any dtype (nonzero = true). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands('where', a, b);
  same('where', cond, ta);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const [ec, ea, eb] = [expand(cond, shape), expand(ta, shape), expand(tb, shape)];
  const y = empty(ta, ta.dtype, shape);
  ta.backend.where(y, ec, ea, eb);
  ec.dispose();
  ea.dispose();
  eb.dispose();
  if (!(ta.requiresGrad || tb.requiresGrad)) {
    if (typeof a === 'number') ta.dispose();
    if (typeof b === 'number') tb.dispose();
    return y;
  }
  return record(y, 'where', [ta, tb], (g) => {
    const z = zerosLike(g);
    const ga = where(cond, g, z);
    const gb = where(cond, z, g);
    z.dispose();
    const ra = sumToShape(ga, ta.shape);
    const rb = sumToShape(gb, tb.shape);
    ga.dispose();
    gb.dispose();
    return [ra, rb];
  });
}

/** Cast to `dtype` (a copy; float<->float casts are differentiable). */
export function to(x: Tensor, dtype: DType): Tensor {
  same('to', x);
  if (DTYPES[dtype].isQuant) throw new Error(`to: cannot cast to ${dtype}; use quantize()`);
  if (DTYPES[x.dtype].isQuant) return x.dequantize().to(dtype);
  const y = empty(x, dtype, x.shape);
  x.backend.copy(y, x);
  if (!DTYPES[dtype].isFloat || !DTYPES[x.dtype].isFloat) return y;
  return record(y, 'to', [x], (g) => [to(g, x.dtype)]);
}

export { Tensor };
