/**
 * The user-facing Tensor: a strided view of backend storage plus autograd state.
 * Ops are functions in ./ops (PyTorch names); the methods here are thin sugar over them.
 * A Tensor never touches memory itself: reads go through `backend.copy` into a host array.
 * Legend for shape comments across src/: B batch, T time, C channels, H heads, D head dim, V vocab.
 */
import type { Backend, Storage, View } from '../backends/backend.js';
import { contiguousStrides, isContiguous, numel as shapeNumel } from '../backends/backend.js';
import { DTYPES, byteSize, type DType } from '../backends/dtype.js';
import { StorageRef } from './storage.js';
import { backward as runBackward, type GradNode } from './autograd.js';
import { track, untrack, setTensorCheck } from './scope.js';
import * as E from './ops/elementwise.js';
import * as S from './ops/shape.js';
import * as R from './ops/reduce.js';
import * as L from './ops/linalg.js';

export type Scalar = number;

export class Tensor implements View {
  requiresGrad = false;
  grad: Tensor | null = null;
  gradNode: GradNode | null = null;
  private disposed = false;
  /** Optional debug name (parameters get their state-dict key). */
  name?: string;
  /** An own property (not a getter) so that backends may spread views: `{ ...view, shape }`. */
  readonly storage: Storage;

  constructor(
    readonly ref: StorageRef,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number,
  ) {
    ref.retain();
    this.storage = ref.storage;
    track(this);
  }

  /** A fresh zero-filled contiguous tensor. */
  static empty(backend: Backend, dtype: DType, shape: readonly number[]): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
    }
    const n = shapeNumel(shape);
    const storage = backend.alloc(byteSize(dtype, n));
    return new Tensor(new StorageRef(storage, backend, true), dtype, [...shape], contiguousStrides(shape), 0);
  }

  /** Wraps an existing view (e.g. from io) without copying; the storage is borrowed, never freed. */
  static fromView(backend: Backend, v: View, owned = false): Tensor {
    return new Tensor(new StorageRef(v.storage, backend, owned), v.dtype, [...v.shape], [...v.strides], v.offset);
  }


  get backend(): Backend {
    return this.ref.backend;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    return shapeNumel(this.shape);
  }

  get isDisposed(): boolean {
    return this.disposed || !this.ref.alive;
  }

  size(dim: number): number {
    return this.shape[S.normAxis(dim, this.ndim, 'size')];
  }

  isContiguous(): boolean {
    return isContiguous(this);
  }

  /** True when this view covers its storage exactly (so it can become a `.grad` as is). */
  ownsWholeStorage(): boolean {
    return this.offset === 0 && this.ref.owned && byteSize(this.dtype, this.numel) === this.ref.storage.byteLength;
  }

  checkAlive(): this {
    if (this.isDisposed) throw new Error(`tensor${this.name ? ` ${this.name}` : ''} [${this.shape}] was used after dispose()`);
    return this;
  }

  /** A view over the same storage (new strides/shape/offset), sharing memory. */
  viewAs(shape: readonly number[], strides: readonly number[], offset: number): Tensor {
    this.checkAlive();
    return new Tensor(this.ref, this.dtype, shape, strides, offset);
  }

  /** Keep this tensor beyond the enclosing `tidy` scopes. */
  keep(): this {
    untrack(this);
    return this;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.gradNode = null;
    this.ref.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // --- autograd ---
  requiresGrad_(on = true): this {
    if (on && !DTYPES[this.dtype].isFloat) throw new Error(`only float tensors can require grad (got ${this.dtype})`);
    this.requiresGrad = on;
    return this;
  }

  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /** Same storage, no history. */
  detach(): Tensor {
    return this.viewAs(this.shape, this.strides, this.offset);
  }

  // --- reading values ---
  /** Values as a new Float32Array in row-major order (any dtype, any strides). */
  toFloat32Array(): Float32Array {
    if (DTYPES[this.dtype].isQuant) return this.dequantize().toFloat32Array();
    const t = Tensor.empty(this.backend, 'f32', this.shape);
    try {
      this.backend.copy(t, this.checkAlive());
      return new Float32Array(t.storage.buffer, t.storage.byteOffset, t.numel).slice();
    } finally {
      t.dispose();
    }
  }

  /** Values as a new Int32Array (floats truncated toward zero). */
  toInt32Array(): Int32Array {
    const t = Tensor.empty(this.backend, 'i32', this.shape);
    try {
      this.backend.copy(t, this.checkAlive());
      return new Int32Array(t.storage.buffer, t.storage.byteOffset, t.numel).slice();
    } finally {
      t.dispose();
    }
  }

  /** Values as a plain array (row-major, flat). */
  toArray(): number[] {
    return Array.from(DTYPES[this.dtype].isFloat || DTYPES[this.dtype].isQuant ? this.toFloat32Array() : this.toInt32Array());
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new Error(`item: tensor has ${this.numel} elements, not 1`);
    return this.toArray()[0];
  }

  /** Dequantized f32 copy of a q8_0/q4_0 tensor. */
  dequantize(): Tensor {
    if (!DTYPES[this.dtype].isQuant) return E.to(this, 'f32');
    if (!this.isContiguous()) throw new Error('dequantize: quantized tensors must be contiguous');
    const out = Tensor.empty(this.backend, 'f32', this.shape);
    this.backend.dequantize(out, this);
    return out;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }

  // --- sugar over ops (see ./ops for docs) ---
  onesLike(): Tensor {
    return E.fullLike(this, 1);
  }
  contiguous(): Tensor {
    return S.contiguous(this);
  }
  /** A contiguous copy without recording history. */
  contiguousCopy(): Tensor {
    const out = Tensor.empty(this.backend, this.dtype, this.shape);
    if (DTYPES[this.dtype].isQuant) {
      if (!this.isContiguous()) throw new Error('cannot copy a strided quantized tensor');
      new Uint8Array(out.storage.buffer, out.storage.byteOffset, out.storage.byteLength).set(
        new Uint8Array(this.storage.buffer, this.storage.byteOffset + byteSize(this.dtype, this.offset), out.storage.byteLength),
      );
    } else this.backend.copy(out, this);
    return out;
  }
  to(dtype: DType): Tensor {
    return E.to(this, dtype);
  }
  add(b: Tensor | Scalar): Tensor {
    return E.add(this, b);
  }
  sub(b: Tensor | Scalar): Tensor {
    return E.sub(this, b);
  }
  mul(b: Tensor | Scalar): Tensor {
    return E.mul(this, b);
  }
  div(b: Tensor | Scalar): Tensor {
    return E.div(this, b);
  }
  pow(b: Tensor | Scalar): Tensor {
    return E.pow(this, b);
  }
  neg(): Tensor {
    return E.neg(this);
  }
  exp(): Tensor {
    return E.exp(this);
  }
  log(): Tensor {
    return E.log(this);
  }
  sqrt(): Tensor {
    return E.sqrt(this);
  }
  tanh(): Tensor {
    return E.tanh(this);
  }
  sigmoid(): Tensor {
    return E.sigmoid(this);
  }
  relu(): Tensor {
    return E.relu(this);
  }
  matmul(b: Tensor): Tensor {
    return L.matmul(this, b);
  }
  reshape(...shape: number[]): Tensor {
    return S.reshape(this, shape);
  }
  view(...shape: number[]): Tensor {
    return S.reshape(this, shape);
  }
  permute(...dims: number[]): Tensor {
    return S.permute(this, dims);
  }
  transpose(a: number, b: number): Tensor {
    return S.transpose(this, a, b);
  }
  get T(): Tensor {
    return S.transpose(this, -2, -1);
  }
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    return S.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return S.slice(this, dim, start, start + length);
  }
  expand(...shape: number[]): Tensor {
    return S.expand(this, shape);
  }
  unsqueeze(dim: number): Tensor {
    return S.unsqueeze(this, dim);
  }
  squeeze(dim?: number): Tensor {
    return S.squeeze(this, dim);
  }
  flatten(start = 0, end = -1): Tensor {
    return S.flatten(this, start, end);
  }
  sum(axes?: number | readonly number[], keepdim = false): Tensor {
    return R.sum(this, axes, keepdim);
  }
  mean(axes?: number | readonly number[], keepdim = false): Tensor {
    return R.mean(this, axes, keepdim);
  }
  max(axes?: number | readonly number[], keepdim = false): Tensor {
    return R.max(this, axes, keepdim);
  }
  argmax(axis = -1, keepdim = false): Tensor {
    return R.argmax(this, axis, keepdim);
  }
}

setTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);
