/**
 * Creating tensors: from JS data, constants, ranges and seeded random numbers (generated on the
 * host, so every backend sees identical values). Storage is host memory on every CPU backend, so
 * creation writes it directly.
 */
import type { Backend } from '../backends/backend.js';
import { numel } from '../backends/backend.js';
import { DTYPES, f32ToBf16, f32ToF16, type DType } from '../backends/dtype.js';
import { defaultBackend } from '../backends/index.js';
import { defaultGenerator, type Generator } from './random.js';
import { Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  backend?: Backend;
  requiresGrad?: boolean;
}

type Data = ArrayLike<number> | readonly number[];

/** Writes row-major values into a fresh contiguous tensor. */
function fromValues(values: Data, shape: readonly number[], o: CreateOptions): Tensor {
  const dtype = o.dtype ?? 'f32';
  if (DTYPES[dtype].isQuant) throw new Error(`cannot create a ${dtype} tensor from values; quantize an f32 tensor`);
  const n = numel(shape);
  if (values.length !== n) throw new Error(`tensor: ${values.length} values do not fill shape [${shape}] (${n} elements)`);
  const t = Tensor.empty(o.backend ?? defaultBackend(), dtype, shape);
  const { buffer, byteOffset } = t.storage;
  switch (dtype) {
    case 'f32':
      new Float32Array(buffer, byteOffset, n).set(values);
      break;
    case 'i32':
      new Int32Array(buffer, byteOffset, n).set(values);
      break;
    case 'i64': {
      const dst = new BigInt64Array(buffer, byteOffset, n);
      for (let i = 0; i < n; i++) dst[i] = BigInt(Math.trunc(values[i]));
      break;
    }
    case 'bool': {
      const dst = new Uint8Array(buffer, byteOffset, n);
      for (let i = 0; i < n; i++) dst[i] = values[i] ? 1 : 0;
      break;
    }
    case 'f16':
    case 'bf16': {
      const dst = new Uint16Array(buffer, byteOffset, n);
      const conv = dtype === 'f16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < n; i++) dst[i] = conv(values[i]);
      break;
    }
  }
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** A tensor from flat data and a shape (default: 1-d). */
export function tensor(values: Data, shape?: readonly number[], o: CreateOptions = {}): Tensor {
  return fromValues(values, shape ?? [values.length], o);
}

export function zeros(shape: readonly number[], o: CreateOptions = {}): Tensor {
  const t = Tensor.empty(o.backend ?? defaultBackend(), o.dtype ?? 'f32', shape);
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

export function full(shape: readonly number[], value: number, o: CreateOptions = {}): Tensor {
  const t = zeros(shape, { ...o, requiresGrad: false });
  if (value !== 0) t.backend.fill(t, value);
  if (o.requiresGrad) t.requiresGrad_(true);
  return t;
}

export function ones(shape: readonly number[], o: CreateOptions = {}): Tensor {
  return full(shape, 1, o);
}

/** [start, end) with `step`, default dtype i32 for integer arguments. */
export function arange(start: number, end?: number, step = 1, o: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const n = Math.max(0, Math.ceil((end - start) / step));
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = start + i * step;
  const ints = Number.isInteger(start) && Number.isInteger(step);
  return fromValues(vals, [n], { ...o, dtype: o.dtype ?? (ints ? 'i32' : 'f32') });
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

/** Standard normal values (scaled by std, shifted by mean). */
export function randn(shape: readonly number[], o: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const v = (o.generator ?? defaultGenerator).fillNormal(new Float32Array(numel(shape)), o.mean ?? 0, o.std ?? 1);
  return fromValues(v, shape, o);
}

/** Uniform values in [low, high). */
export function rand(shape: readonly number[], o: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const v = (o.generator ?? defaultGenerator).fillUniform(new Float32Array(numel(shape)), o.low ?? 0, o.high ?? 1);
  return fromValues(v, shape, o);
}

/** Integers in [low, high) (i32 by default). */
export function randint(low: number, high: number, shape: readonly number[], o: RandomOptions = {}): Tensor {
  const g = o.generator ?? defaultGenerator;
  const n = numel(shape);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) v[i] = low + g.int(high - low);
  return fromValues(v, shape, { ...o, dtype: o.dtype ?? 'i32' });
}
