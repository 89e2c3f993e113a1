/**
 * The backend seam: what every compute backend implements, over views (storage + dtype + shape +
 * strides + offset). A backend never sees a `Tensor`, never allocates autograd state, and never
 * validates user input: the tensor layer checks shapes, dtypes and indices before calling in.
 *
 * Conventions (all backends):
 * - Storage is host memory (an ArrayBuffer, possibly external/memory-mapped). `offset` and
 *   `strides` are in elements. Strides may be 0 (broadcast) or any non-negative value.
 * - Outputs come first in argument lists (llm.c style); every output view is contiguous and
 *   freshly allocated unless a method says "in place".
 * - Float math is done in f32; f16/bf16 inputs are widened on read and outputs rounded to
 *   nearest even on write. Integer outputs (argmax) are i32.
 * - Shapes of `out` and inputs already agree (the tensor layer broadcasts by strides).
 * Optional fused kernels are announced by `supports(name)`: softmax, logSoftmax and attention are
 * composed from primitives when a backend says no; layerNorm, rmsNorm, rope and crossEntropy have no
 * composed form and need the kernel (src/tensor/ops/fused.ts says so per op).
 */

import type { DType } from './dtype.js';

/** A block of host memory. `byteOffset`/`byteLength` delimit it inside `buffer`. */
export interface Storage {
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Set by `Backend.free`; a freed storage must not be read again. */
  disposed?: boolean;
}

export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** In elements, from storage.byteOffset. */
  readonly offset: number;
}

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'gelu' | 'gelu_new'
  | 'silu' | 'abs' | 'sin' | 'cos' | 'square' | 'recip'
  // derivative helpers: out = f'(a)
  | 'gelu_grad' | 'gelu_new_grad' | 'silu_grad';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  // comparisons write 1/0 into a float or bool output
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min';

export interface RopeParams {
  /** Rotate only the first `rotaryDim` features of each head (rest pass through). */
  readonly rotaryDim: number;
  /** true: GPT-J/MOSS pairs (2i, 2i+1); false: LLaMA/NeoX half-split pairs (i, i + rotaryDim/2). */
  readonly interleaved: boolean;
  readonly base: number;
  /** Rotate by -angle (the vjp of rope). */
  readonly inverse?: boolean;
  /** Per pair i (rotaryDim / 2 values): its frequency base^(-2i/rotaryDim) is divided by
   *  freqFactors[i] (llama.cpp's rope_freqs tensor; HF rope_scaling 'linear' and 'llama3'). */
  readonly freqFactors?: readonly number[] | null;
}

export interface AttentionParams {
  readonly scale: number;
  readonly causal: boolean;
  /** Absolute position of query row 0 (= number of cached keys before this chunk) per batch row,
   *  used by the causal mask: query i may see keys j <= pastLen + i. */
  readonly pastLen: readonly number[];
  /** Number of valid keys per batch row (<= Tk); keys beyond are ignored (padding / unused cache). */
  readonly kvLen: readonly number[];
  /** Causal sliding window (HF Mistral `sliding_window`, llama.cpp SWA): query i sees only keys
   *  j > pastLen + i - window, i.e. the last `window` positions, itself included. 0/absent: none. */
  readonly window?: number;
}

export interface AdamWParams {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 1-based step for bias correction. */
  readonly step: number;
}

export interface Backend {
  readonly name: string;

  // --- memory ---
  /** Zero-filled storage for `byteLength` bytes, 64-byte aligned where the backend can. */
  alloc(byteLength: number): Storage;
  /** Releases memory now (deterministic disposal). Idempotent. */
  free(s: Storage): void;

  // --- data movement ---
  /** out[i] = cast(a[i]) for any strides and any pair of non-quantized dtypes (bool: != 0). */
  copy(out: View, a: View): void;
  /** Dequantize a contiguous q8_0/q4_0 view into a contiguous f32 view of the same numel. */
  dequantize(out: View, a: View): void;
  fill(out: View, value: number): void;

  // --- elementwise ---
  unary(op: UnaryOp, out: View, a: View): void;
  binary(op: BinaryOp, out: View, a: View, b: View): void;
  /** out = cond != 0 ? a : b */
  where(out: View, cond: View, a: View, b: View): void;

  // --- reductions: `out` has the keepdim shape (reduced axes have size 1) ---
  reduce(op: ReduceOp, out: View, a: View, axes: readonly number[]): void;
  /** Index of the first max/min along `axis`; `out` (i32) has the keepdim shape. */
  argreduce(op: 'argmax' | 'argmin', out: View, a: View, axis: number): void;

  // --- linear algebra ---
  /**
   * Batched matmul: a (...batch, M, K) @ b (...batch, K, N) -> out (...batch, M, N).
   * Batch dims are already broadcast (stride 0 allowed); a and b may be transposed views.
   * Float inputs of one dtype (f32/f16/bf16); b may also be q8_0/q4_0 when supports('matmul_quant'),
   * and f16/bf16 with an f32 a when supports('matmul_half') (half-precision weights kept as loaded).
   */
  matmul(out: View, a: View, b: View): void;

  // --- indexing (index views are i32 or i64, values already range-checked) ---
  /** out = a.index_select(axis, index) */
  indexSelect(out: View, a: View, axis: number, index: View): void;
  /** out[..i..] = a[..index[..i..]..] along axis (torch.gather). */
  gather(out: View, a: View, axis: number, index: View): void;
  /** In place: out[..index[..i..]..] += src[..i..] along axis (torch.scatter_add_). */
  scatterAdd(out: View, axis: number, index: View, src: View): void;

  // --- fused kernels (all on contiguous rows over the last axis unless said) ---
  supports(op: FusedOp): boolean;
  softmax?(out: View, a: View): void;
  logSoftmax?(out: View, a: View): void;
  /** y = (x - mean) * rstd * w + b over the last axis; writes mean and rstd (f32, shape rows). */
  layerNorm?(y: View, mean: View, rstd: View, x: View, w: View | null, b: View | null, eps: number): void;
  /** Grads of layerNorm; dw/db accumulate (+=) when given. */
  layerNormBackward?(dx: View, dw: View | null, db: View | null, dy: View, x: View, mean: View, rstd: View, w: View | null): void;
  /** y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps). */
  rmsNorm?(y: View, rstd: View, x: View, w: View | null, eps: number): void;
  rmsNormBackward?(dx: View, dw: View | null, dy: View, x: View, rstd: View, w: View | null): void;
  /** x, out: (B, T, H, D) contiguous; positions: i32 (B, T). */
  rope?(out: View, x: View, positions: View, p: RopeParams): void;
  /**
   * q (B, H, Tq, D), k (B, Hkv, Tk, D), v (B, Hkv, Tk, Dv) with H % Hkv == 0 (GQA); out (B, H, Tq, Dv).
   * q/k/v may be strided views (e.g. transposes of (B, T, H, D)). `lse` (optional, f32 (B, H, Tq)):
   * the row logsumexp log sum_j exp(scale q_i.k_j) over visible keys (-Infinity where none), kept
   * for `attentionBackward` (flash-attention-2 style: no (Tq, Tk) matrix is stored).
   */
  attention?(out: View, q: View, k: View, v: View, p: AttentionParams, lse?: View | null): void;
  /**
   * Grads of `attention` (when supports('attentionBackward')): given dout (B, H, Tq, Dv), the
   * forward's out and lse, writes dq (B, H, Tq, D), dk (B, Hkv, Tk, D), dv (B, Hkv, Tk, Dv).
   * P = exp(scale S - lse), Di = rowsum(dout * out), dS = P * (dP - Di); keys no query sees get 0
   * and with GQA dk/dv sum over the query heads that share a kv head.
   */
  attentionBackward?(dq: View, dk: View, dv: View, dout: View, q: View, k: View, v: View, out: View, lse: View,
    p: AttentionParams): void;
  /** logits (N, V) float, targets i32/i64 (N); loss (N) f32 (0 where ignored); dlogits optional:
   *  (softmax - onehot) * gscale for kept rows, 0 for ignored rows. */
  crossEntropy?(loss: View, dlogits: View | null, logits: View, targets: View, ignoreIndex: number, gscale: number): void;
  /** In place AdamW step on contiguous f32 param/grad/m/v. */
  adamw?(param: View, grad: View, m: View, v: View, p: AdamWParams): void;
  /** A new, empty decode plan (backends that can replay recorded calls; see DecodePlan). */
  plan?(): DecodePlan;
  /**
   * Optional, once per loaded weight (N, K) that will only be read, e.g. by matmul as w.T: the
   * backend may keep a copy in a layout its kernels read faster (the native backend repacks q4_0 and q8_0
   * 16 rows at a time). Results stay the same sums; the weight must not be written afterwards.
   */
  prepareWeight?(w: View): void;
}

/**
 * A recorded list of backend calls for ONE token of each of B sequences, replayed by `run(pos)` with
 * no JavaScript between the kernels (llama.cpp's reused graph, a CUDA graph). Each method takes
 * the arguments of the Backend method of the same name and records the call on those views; the
 * views' memory must stay alive until `dispose` (run throws if a recorded storage was freed).
 * Three steps follow the positions given to `run` (one number for B = 1, else pos[b] per sequence):
 * `rope` (x (B, 1, H, D) rotated at pos[b]), `cacheWrite` (a (1, Hkv, 1, D) into row pos[seq] of
 * sequence seq's (1, Hkv, S, D) cache) and `attention` (causal, q (B, H, 1, D) over rows 0..pos[b] of
 * (B, Hkv, S, D) caches). Everything else is replayed as recorded.
 */
export interface DecodePlan {
  rmsNorm(y: View, rstd: View, x: View, w: View | null, eps: number): void;
  layerNorm(y: View, mean: View, rstd: View, x: View, w: View | null, b: View | null, eps: number): void;
  matmul(out: View, a: View, b: View): void;
  unary(op: UnaryOp, out: View, a: View): void;
  binary(op: BinaryOp, out: View, a: View, b: View): void;
  copy(out: View, a: View): void;
  /** Backend.indexSelect with a fixed index (e.g. the input order of an act-order GPTQ Linear). */
  indexSelect(out: View, a: View, axis: number, index: View): void;
  rope(out: View, x: View, p: RopeParams): void;
  cacheWrite(cache: View, a: View, seq?: number): void;
  /** `window` > 0: rows pos[b] - window + 1 .. pos[b] only (AttentionParams.window). */
  attention(out: View, q: View, k: View, v: View, scale: number, window?: number): void;
  /** Runs every recorded step for the token at `pos` (B = 1) or sequence b's token at pos[b]. */
  run(pos: number | readonly number[]): void;
  /** Steps recorded so far. */
  readonly size: number;
  /** Drops the plan (and its hold on the views' memory). Idempotent. */
  dispose(): void;
}

export type FusedOp =
  | 'softmax' | 'logSoftmax' | 'layerNorm' | 'rmsNorm' | 'rope' | 'attention' | 'attentionBackward'
  | 'crossEntropy' | 'adamw' | 'matmul_quant' | 'matmul_half';

// --- helpers shared by backends ---

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isContiguous(v: View): boolean {
  let acc = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== acc) return false;
    acc *= v.shape[i];
  }
  return true;
}
