/**
 * The native backend: the Backend interface over the C++ addon (native/src/addon.cc,
 * native/include/moss_kernels.h). Each method writes its view descriptors into the shared `meta`
 * array (marshal.ts) and passes only ArrayBuffers, so a call allocates nothing on the JS side.
 * Follows ggml's backend table: plain functions plus `supports()`.
 * Deliberately does not: validate shapes/dtypes (the tensor layer does).
 *
 * @example
 *   const nb = loadNativeBackend();           // null when the addon is not built
 *   const s = nb!.alloc(16);                  // 64-byte aligned, zero-filled external memory
 *   nb!.free(s);                              // detached and released now
 */
import type { AdamWParams, AttentionParams, Backend, BinaryOp, DecodePlan, FusedOp, ReduceOp, RopeParams, Storage,
  UnaryOp, View } from '../backend.js';
import { isGptqDType, isKQuant } from '../dtype.js';
import { loadAddon, type NativeAddon } from './addon.js';
import { engineOptions } from '../options.js';
import { ARR, BINARY_CODE, META_LEN, REDUCE_CODE, SCAL, UNARY_CODE, meta, setOpt, setView as sv } from './marshal.js';

export { nativeAvailable } from './addon.js';
export { mapFile, mapFileRange, unmapFile } from './mmap.js';

const FUSED: ReadonlySet<FusedOp> = new Set<FusedOp>([
  'softmax', 'logSoftmax', 'layerNorm', 'rmsNorm', 'rope', 'attention', 'attentionBackward', 'crossEntropy', 'adamw',
  'matmul_quant', 'matmul_half',
]);

/** native/src/addon.cc qmatmul (quant bindings): true when it computed out. */
type QMatmulFn = (out: ArrayBuffer, a: ArrayBuffer, b: ArrayBuffer) => boolean;

/** Attention scalars and per-row lengths into `meta` (native/src/addon.cc attn_lens). */
function attnParams(p: AttentionParams, B: number): void {
  if (ARR + 2 * B > META_LEN) throw new Error(`native attention: batch ${B} too large`);
  meta[SCAL] = p.scale;
  meta[SCAL + 1] = p.causal ? 1 : 0;
  meta[SCAL + 2] = p.window ?? 0;
  for (let b = 0; b < B; b++) {
    meta[ARR + b] = p.pastLen[b];
    meta[ARR + B + b] = p.kvLen[b];
  }
}

/** Rope scalars (rotary dim, interleaved, base, inverse, factor count) and factors into `meta`
 *  (native/src/addon.cc Rope). */
function ropeParams(p: RopeParams): void {
  const f = p.freqFactors ?? null;
  if (f && (f.length !== p.rotaryDim >> 1 || ARR + f.length > META_LEN)) throw new Error(`native rope: ${f.length} frequency factors for rotary dim ${p.rotaryDim}`);
  meta[SCAL] = p.rotaryDim;
  meta[SCAL + 1] = p.interleaved ? 1 : 0;
  meta[SCAL + 2] = p.base;
  meta[SCAL + 3] = p.inverse ? 1 : 0;
  meta[SCAL + 4] = f ? f.length : 0;
  if (f) for (let i = 0; i < f.length; i++) meta[ARR + i] = f[i];
}

/** Step codes of native/src/plan/plan.h. */
const PLAN = { rmsNorm: 0, layerNorm: 1, matmul: 2, unary: 3, binary: 4, copy: 5, rope: 6, cacheWrite: 7, attention: 8, indexSelect: 9 } as const;

/** A DecodePlan over the addon's plan bindings: each method marshals its views like the Backend
 *  method of the same name and records the call. */
function makePlan(n: NativeAddon): DecodePlan {
  let h: object | null = n.planNew();
  const live = (): object => {
    if (!h) throw new Error('decode plan: used after dispose()');
    return h;
  };
  return {
    rmsNorm(y, rstd, x, w, eps): void {
      meta[SCAL] = eps;
      n.planAdd(live(), PLAN.rmsNorm, 0, sv(0, y), sv(1, rstd), sv(2, x), setOpt(3, w));
    },
    layerNorm(y, mean, rstd, x, w, b, eps): void {
      meta[SCAL] = eps;
      n.planAdd(live(), PLAN.layerNorm, 0, sv(0, y), sv(1, mean), sv(2, rstd), sv(3, x), setOpt(4, w), setOpt(5, b));
    },
    matmul: (out, a, b) => n.planAdd(live(), PLAN.matmul, 0, sv(0, out), sv(1, a), sv(2, b)),
    unary: (op, out, a) => n.planAdd(live(), PLAN.unary, UNARY_CODE[op], sv(0, out), sv(1, a)),
    binary: (op, out, a, b) => n.planAdd(live(), PLAN.binary, BINARY_CODE[op], sv(0, out), sv(1, a), sv(2, b)),
    copy: (out, a) => n.planAdd(live(), PLAN.copy, 0, sv(0, out), sv(1, a)),
    indexSelect: (out, a, axis, index) => n.planAdd(live(), PLAN.indexSelect, axis < 0 ? axis + a.shape.length : axis, sv(0, out), sv(1, a), sv(2, index)),
    rope(out, x, p): void {
      if (p.inverse) throw new Error('decode plan: inverse rope is not recorded');
      ropeParams(p);
      n.planAdd(live(), PLAN.rope, 0, sv(0, out), sv(1, x));
    },
    cacheWrite: (cache, a, seq = 0) => n.planAdd(live(), PLAN.cacheWrite, seq, sv(0, cache), sv(1, a)),
    attention(out, q, k, v, scale, window = 0): void {
      meta[SCAL] = scale;
      meta[SCAL + 1] = window;
      n.planAdd(live(), PLAN.attention, 0, sv(0, out), sv(1, q), sv(2, k), sv(3, v));
    },
    run: (pos) => n.planRun(live(), pos),
    get size(): number {
      return n.planSize(live());
    },
    dispose(): void {
      if (h) n.planFree(h);
      h = null;
    },
  };
}

function makeBackend(n: NativeAddon): Backend {
  n.init(meta);
  const qmatmul = typeof n.qmatmul === 'function' ? (n.qmatmul as QMatmulFn) : null; // quant hook
  return {
    name: 'native',
    alloc(byteLength: number): Storage {
      const buffer = n.alloc(byteLength);
      return { buffer, byteOffset: 0, byteLength };
    },
    free(s: Storage): void {
      if (s.disposed) return;
      s.disposed = true;
      n.free(s.buffer);
    },
    copy: (out, a) => n.copy(sv(0, out), sv(1, a)),
    dequantize: (out, a) => n.dequantize(sv(0, out), sv(1, a)),
    fill(out: View, value: number): void {
      meta[SCAL] = value;
      n.fill(sv(0, out));
    },
    unary: (op: UnaryOp, out, a) => n.unary(UNARY_CODE[op], sv(0, out), sv(1, a)),
    binary: (op: BinaryOp, out, a, b) => n.binary(BINARY_CODE[op], sv(0, out), sv(1, a), sv(2, b)),
    where: (out, c, a, b) => n.where(sv(0, out), sv(1, c), sv(2, a), sv(3, b)),
    reduce(op: ReduceOp, out: View, a: View, axes: readonly number[]): void {
      let mask = 0;
      for (const ax of axes) mask |= 1 << (ax < 0 ? ax + a.shape.length : ax);
      meta[SCAL] = mask >>> 0;
      n.reduce(REDUCE_CODE[op], sv(0, out), sv(1, a));
    },
    argreduce(op: 'argmax' | 'argmin', out: View, a: View, axis: number): void {
      meta[SCAL] = axis < 0 ? axis + a.shape.length : axis;
      n.argreduce(op === 'argmin' ? 1 : 0, sv(0, out), sv(1, a));
    },
    matmul(out: View, a: View, b: View): void {
      // --- quant hook (helper "quant"): q8_0/q4_0 weights in ggml layout go to the integer-dot
      // kernels of native/src/quant; qmatmul returns false for layouts it does not take. ---
      if ((b.dtype === 'q8_0' || b.dtype === 'q4_0') && qmatmul?.(sv(0, out), sv(1, a), sv(2, b))) return;
      // k-quant / iq4_nl weights (native/src/kquant, through the same binding): no generic fallback
      if (isKQuant(b.dtype) || isGptqDType(b.dtype)) {
        if (qmatmul?.(sv(0, out), sv(1, a), sv(2, b))) return;
        throw new Error(`native matmul: a ${b.dtype} operand must be a transposed 2-d weight with f32 activations`);
      }
      n.matmul(sv(0, out), sv(1, a), sv(2, b));
    },
    indexSelect(out: View, a: View, axis: number, index: View): void {
      meta[SCAL] = axis < 0 ? axis + a.shape.length : axis;
      n.indexSelect(sv(0, out), sv(1, a), sv(2, index));
    },
    gather(out: View, a: View, axis: number, index: View): void {
      meta[SCAL] = axis < 0 ? axis + a.shape.length : axis;
      n.gather(sv(0, out), sv(1, a), sv(2, index));
    },
    scatterAdd(out: View, axis: number, index: View, src: View): void {
      meta[SCAL] = axis < 0 ? axis + out.shape.length : axis;
      n.scatterAdd(sv(0, out), sv(1, index), sv(2, src));
    },
    supports: (op: FusedOp) => FUSED.has(op),
    softmax: (out, a) => n.softmax(sv(0, out), sv(1, a)),
    logSoftmax: (out, a) => n.logSoftmax(sv(0, out), sv(1, a)),
    layerNorm(y, mean, rstd, x, w, b, eps): void {
      meta[SCAL] = eps;
      n.layerNorm(sv(0, y), sv(1, mean), sv(2, rstd), sv(3, x), setOpt(4, w), setOpt(5, b));
    },
    layerNormBackward(dx, dw, db, dy, x, mean, rstd, w): void {
      n.layerNormBackward(sv(0, dx), setOpt(1, dw), setOpt(2, db), sv(3, dy), sv(4, x), sv(5, mean), sv(6, rstd),
        setOpt(7, w));
    },
    rmsNorm(y, rstd, x, w, eps): void {
      meta[SCAL] = eps;
      n.rmsNorm(sv(0, y), sv(1, rstd), sv(2, x), setOpt(3, w));
    },
    rmsNormBackward(dx, dw, dy, x, rstd, w): void {
      n.rmsNormBackward(sv(0, dx), setOpt(1, dw), sv(2, dy), sv(3, x), sv(4, rstd), setOpt(5, w));
    },
    rope(out: View, x: View, positions: View, p: RopeParams): void {
      ropeParams(p);
      n.rope(sv(0, out), sv(1, x), sv(2, positions));
    },
    attention(out: View, q: View, k: View, v: View, p: AttentionParams, lse?: View | null): void {
      attnParams(p, q.shape[0]);
      n.attention(sv(0, out), sv(1, q), sv(2, k), sv(3, v), setOpt(4, lse));
    },
    attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, p): void {
      if (p.window) throw new Error('native attentionBackward: a sliding window is not supported (sdpa takes the composed path)');
      attnParams(p, q.shape[0]);
      n.attentionBackward(sv(0, dq), sv(1, dk), sv(2, dv), sv(3, dout), sv(4, q), sv(5, k), sv(6, v), sv(7, out),
        sv(8, lse));
    },
    crossEntropy(loss, dlogits, logits, targets, ignoreIndex, gscale): void {
      meta[SCAL] = ignoreIndex;
      meta[SCAL + 1] = gscale;
      n.crossEntropy(sv(0, loss), setOpt(1, dlogits), sv(2, logits), sv(3, targets));
    },
    adamw(param: View, grad: View, m: View, v: View, p: AdamWParams): void {
      meta[SCAL] = p.lr;
      meta[SCAL + 1] = p.beta1;
      meta[SCAL + 2] = p.beta2;
      meta[SCAL + 3] = p.eps;
      meta[SCAL + 4] = p.weightDecay;
      meta[SCAL + 5] = p.step;
      n.adamw(sv(0, param), sv(1, grad), sv(2, m), sv(3, v));
    },
    plan: () => makePlan(n),
    prepareWeight(w: View): void {
      if ((w.dtype === 'q4_0' || w.dtype === 'q8_0') && typeof n.qprepare === 'function') {
        (n.qprepare as (b: ArrayBuffer) => number)(sv(0, w));
      }
      // half and k-quant weights: a huge-page copy of the same bytes, made (and faulted in) now
      if ((w.dtype === 'f16' || w.dtype === 'bf16' || isKQuant(w.dtype)) && typeof n.hprepare === 'function') {
        (n.hprepare as (b: ArrayBuffer) => number)(sv(0, w));
      }
    },
  };
}

let backend: Backend | null | undefined;

/** The native backend, or null when the addon is not built here. */
export function loadNativeBackend(): Backend | null {
  if (backend === undefined) {
    const n = loadAddon();
    backend = n ? makeBackend(n) : null;
    if (n && engineOptions().threads) n.setNumThreads(engineOptions().threads); // configured before the addon loaded
  }
  return backend;
}

/** SIMD level in use: 'scalar' | 'avx2' | 'avx512' (null without the addon). */
export function nativeIsa(): string | null {
  return loadAddon()?.isa() ?? null;
}

/** Forces a SIMD level for this process (tests); clamped to what the CPU supports. Returns it. */
export function setNativeIsa(level: 'scalar' | 'avx2' | 'avx512'): string {
  const n = loadAddon();
  if (!n) throw new Error('the native backend is not built (run `npm run build:native`)');
  n.setIsa(level === 'scalar' ? 0 : level === 'avx2' ? 1 : 2);
  return n.isa();
}

/** Threads used by native kernels; setNativeThreads(0) restores the addon's default (one per core). */
export function nativeThreads(): number {
  return loadAddon()?.numThreads() ?? 1;
}
export function setNativeThreads(n: number): number {
  return loadAddon()?.setNumThreads(n) ?? 1;
}
