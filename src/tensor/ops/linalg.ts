/**
 * Matrix products: batched matmul with broadcasting of batch dims (1-D operands as in torch), and
 * linear (x @ w^T + b) that flattens leading dims so the weight is never broadcast.
 */
import { DTYPES } from '../../backends/dtype.js';
import { Tensor } from '../tensor.js';
import { empty, record, requireFloat, same } from './core.js';
import { add } from './elementwise.js';
import { broadcastShapes, expand, reshape, sumToShape, transpose } from './shape.js';

/** a (..., M, K) @ b (..., K, N) -> (..., M, N); 1-D a is (K), 1-D b is (K). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  same('matmul', a, b);
  requireFloat('matmul', a);
  const bq = DTYPES[b.dtype].isQuant;
  if (!bq) requireFloat('matmul', b);
  // half-precision weights kept as loaded (f32 activations) on backends that multiply them directly
  const bh = a.dtype === 'f32' && (b.dtype === 'f16' || b.dtype === 'bf16') && a.backend.supports('matmul_half');
  if (bh && b.requiresGrad) throw new Error(`matmul: a ${b.dtype} operand with an f32 one must not require grad (convert it with .to('f32') to train it)`);
  if (a.ndim === 0 || b.ndim === 0) throw new Error('matmul: operands must be at least 1-d');
  if (a.ndim === 1) {
    const a2 = reshape(a, [1, a.shape[0]]);
    const y = matmul(a2, b);
    return reshape(y, [...y.shape.slice(0, -2), y.shape[y.ndim - 1]]);
  }
  if (b.ndim === 1) {
    const b2 = reshape(b, [b.shape[0], 1]);
    const y = matmul(a, b2);
    return reshape(y, y.shape.slice(0, -1));
  }
  const [M, K] = a.shape.slice(-2);
  const [K2, N] = b.shape.slice(-2);
  if (K !== K2) throw new Error(`matmul: inner dimensions differ: [${a.shape}] @ [${b.shape}]`);
  if (!bq && !bh && a.dtype !== b.dtype) throw new Error(`matmul: dtype mismatch ${a.dtype} vs ${b.dtype}`);
  if (bq && (b.ndim !== 2 || !(b.strides[0] === 1 && b.strides[1] === K))) {
    throw new Error('matmul: a quantized operand must be a transposed 2-d weight, i.e. w.T for w of shape [N, K]');
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const ea = expand(a, [...batch, M, K]);
  const eb = expand(b, [...batch, K, N]);
  const y = empty(a, a.dtype, [...batch, M, N]);
  a.backend.matmul(y, ea, eb);
  ea.dispose();
  eb.dispose();
  return record(y, 'matmul', [a, b], (g) => {
    const ga = a.requiresGrad ? sumToShape(matmul(g, transpose(b, -2, -1)), a.shape) : null;
    const gb = b.requiresGrad ? sumToShape(matmul(transpose(a, -2, -1), g), b.shape) : null;
    return [ga, gb];
  });
}

/** y = x @ w^T (+ b): x (..., K), w (N, K), b (N). */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.ndim !== 2) throw new Error(`linear: weight must be 2-d, got [${w.shape}]`);
  const K = x.shape[x.ndim - 1];
  if (w.shape[1] !== K) throw new Error(`linear: input features ${K} != weight in_features ${w.shape[1]}`);
  const lead = x.shape.slice(0, -1);
  const x2 = reshape(x, [-1, K]);
  const y2 = matmul(x2, transpose(w, 0, 1));
  const yb = b ? add(y2, b) : y2;
  return reshape(yb, [...lead, w.shape[0]]);
}

export { Tensor };
