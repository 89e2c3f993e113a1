/**
 * Fast decode of one or B sequences, derived from the model's own forward (tinygrad's TinyJit, a CUDA
 * graph capture): the first batch-1 decode step on a KV cache runs the ordinary op-by-op forward
 * while the backend records its calls (backends/capture.ts); the calls become a backend DecodePlan
 * that every later token replays with one native call, one embedding lookup and one copy of the
 * logits, instead of ~15 tensor ops per layer each with its allocation and dispatch. There is no
 * second description of any model: whatever the forward does (LoRA adapters included) is what the
 * plan replays.
 *
 * Position-dependent arguments: the token positions reach the forward only through
 * `cache.starts()`, i.e. the rope positions, the cache rows written and the attention lengths. The
 * translation maps exactly those calls to the plan's position-following steps (rope at pos[b], a
 * cache write of sequence b into its row pos[b], attention of row b over its rows 0..pos[b], or the
 * last `window` of them under a sliding window),
 * checking that they were made at the capture's positions; every other call is replayed on the
 * views it was recorded with (the capture holds their memory). With B rows the weights are read once
 * per step by a (B, C) x (C, N) mat-mat (the batched decode of the server's scheduler, which keeps
 * one lasting cache view, and so one plan, per batch size). The plan's input is the token embedding, looked up op by op before each run
 * (a quantized table reads the id on the host, which a replay cannot follow).
 *
 * Used only when: one new token per row, a KV cache of exactly those rows marked planable, no trace,
 * no `embeds`, the model in eval mode, no parameter wanting gradients, a backend that replays plans,
 * and the engine switch decodePlan on. A forward whose calls a plan cannot replay is computed by the
 * capture itself and the cache then decodes op by op. Deliberately does not: plan prompts (prefill
 * is matrix-bound; its per-op overhead is small).
 */
import type { Backend, DecodePlan, Storage, View } from '../backends/backend.js';
import { capture, type Call } from '../backends/capture.js';
import { engineOptions } from '../backends/options.js';
import type { Module } from '../nn/index.js';
import { isGradEnabled, Tensor, tidy } from '../tensor/index.js';
import type { KVCache } from './kv-cache.js';
import type { ForwardOptions } from './types.js';

/** What a model provides to decode through a plan: its op-by-op forward and its embedding lookup. */
export interface PlannableModel extends Module {
  readonly backend: Backend;
  forwardOps(ids: Tensor, o: ForwardOptions): Tensor;
  /** The token embeddings (B, T, C) of ids (B, T), op by op. */
  embed(ids: Tensor): Tensor;
}

/** A recorded decode step: the plan, its input (token embeddings) and output (logits (B, V)) views. */
interface Recorded {
  readonly plan: DecodePlan;
  readonly x: Tensor;
  readonly logits: View;
  /** [1, 1, ...] (B): the cache advance of every step. */
  readonly ones: number[];
}

/** The cache's plan for `model`: a Recorded step, 'ops' (not replayable: decode op by op) or none yet. */
function planOf(cache: KVCache, model: object): Recorded | 'ops' | undefined {
  return cache.plan?.owner === model ? (cache.plan.step as Recorded | 'ops') : undefined;
}

/**
 * Logits of `forward(ids, o)` through the cache's decode plan (captured on first use), or null
 * when this call is not a batch-1 decode step (the caller then runs its forward op by op).
 * Returns logits (1, V) for `logits: 'last'`, else (1, 1, V); advances the cache by one token.
 */
export function planned(model: PlannableModel, ids: Tensor, o: ForwardOptions): Tensor | null {
  const cache = o.cache;
  const B = ids.shape[0];
  if (!cache || o.trace || o.embeds || ids.ndim !== 2 || ids.shape[1] !== 1 || cache.batch !== B || !cache.planable) return null;
  if ((o.lengths && o.lengths.some((n) => n !== 1)) || !model.backend.plan || !engineOptions().decodePlan) return null;
  const step = planOf(cache, model);
  if (step === 'ops') return null;
  if (!step) {
    if (model.training || (isGradEnabled() && model.parameters().some((p) => p.requiresGrad))) return null;
    return captureStep(model, ids, o, cache);
  }
  const pos = cache.starts(1);
  const e = model.embed(ids);
  model.backend.copy(step.x, e);
  e.dispose();
  step.plan.run(B === 1 ? pos[0] : pos);
  cache.advance(step.ones);
  return output(model.backend, step.logits, o);
}

function output(backend: Backend, logits: View, o: ForwardOptions): Tensor {
  const [B, V] = logits.shape;
  const out = Tensor.empty(backend, 'f32', [B, V]);
  backend.copy(out, logits);
  return o.logits === 'last' ? out : out.reshape(B, 1, V);
}

/** Runs this step's forward under capture (so it is computed exactly as op by op) and keeps its plan. */
function captureStep(model: PlannableModel, ids: Tensor, o: ForwardOptions, cache: KVCache): Tensor {
  const be = model.backend;
  const pos = cache.starts(1);
  const e = model.embed(ids);
  const x = Tensor.empty(be, e.dtype, e.shape).keep();
  be.copy(x, e);
  e.dispose();
  const cap = capture(be, () => tidy(() => {
    const l = model.forwardOps(ids, { cache, logits: 'last', embeds: x });
    return { storage: l.storage, dtype: l.dtype, shape: [...l.shape], strides: [...l.strides], offset: l.offset } satisfies View;
  }));
  const logits = cap.result;
  const out = output(be, logits, o);
  const plan = be.plan!();
  try {
    const steps = translate(cap.calls, cache, pos);
    for (const s of shareBuffers(steps, cap.held, logits.storage)) be.free(s);
    for (const st of steps) (plan[st.m] as (...a: unknown[]) => void).apply(plan, st.args);
    cache.plan?.dispose();
    cache.plan = { owner: model, step: { plan, x, logits, ones: pos.map(() => 1) } satisfies Recorded, dispose: () => { plan.dispose(); x.dispose(); cap.release(); } };
  } catch {
    // a call the plan cannot replay: this step is already computed; the cache decodes op by op
    plan.dispose();
    x.dispose();
    cap.release();
    cache.plan?.dispose();
    cache.plan = { owner: model, step: 'ops', dispose: () => {} };
  }
  return out;
}

/** The i32 values of a (B, 1) positions view the capture still holds. */
function i32s(v: View): number[] {
  const a = new Int32Array(v.storage.buffer, v.storage.byteOffset, v.storage.byteLength >> 2);
  return Array.from({ length: v.shape[0] }, (_, b) => a[v.offset + b * v.strides[0]]);
}

/** One plan step: a DecodePlan method and its arguments. */
interface Step {
  readonly m: Exclude<keyof DecodePlan, 'run' | 'size' | 'dispose'>;
  readonly args: unknown[];
}

/** The arguments each plan method writes (outputs first, after the op code of unary/binary). */
const WRITES: Record<Step['m'], number[]> = { rmsNorm: [0, 1], layerNorm: [0, 1, 2], matmul: [0], unary: [1], binary: [1], copy: [0], indexSelect: [0], rope: [0], cacheWrite: [0], attention: [0] };

/** The captured calls as plan steps, mapping the three position-dependent ones (see header). */
function translate(calls: readonly Call[], cache: KVCache, pos: readonly number[]): Step[] {
  const B = pos.length;
  const caches = new Map<Storage, Tensor>();
  for (const t of [...cache.k, ...cache.v]) caches.set(t.storage, t);
  const fail = (why: string): never => {
    throw new Error(`decode plan: ${why}`);
  };
  const whole = (v: View): Tensor | undefined => {
    const c = caches.get(v.storage);
    return c && v.offset === c.offset && v.shape.every((d, i) => d === c.shape[i] && v.strides[i] === c.strides[i]) ? c : undefined;
  };
  /** Row b (1, ...) of a (B, ...) view. */
  const row = (v: View, b: number): View => ({ ...v, shape: [1, ...v.shape.slice(1)], offset: v.offset + b * v.strides[0] });
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const steps: Step[] = [];
  const fills: Storage[] = [];
  for (const { op, args } of calls) {
    const a = args as View[];
    if (op === 'fill') {
      fills.push(a[0].storage); // a constant (e.g. a scalar operand), if nothing writes it again (checked below)
      continue;
    }
    const touchesCache = args.some((v) => !!v && typeof v === 'object' && caches.has((v as View).storage));
    if (op === 'copy' && caches.has(a[0].storage)) {
      // KVCache.write: (n, Hkv, 1, D) into row pos[b] of sequence b of a (B, Hkv, S, D) cache, one
      // copy per sequence (n = 1) or one for all when every sequence is at the same position
      const c = caches.get(a[0].storage)!, [dst, src] = a;
      const rel = dst.offset - c.offset, b = Math.floor(rel / c.strides[0]), p = (rel - b * c.strides[0]) / c.strides[2];
      const n = dst.shape[0];
      const ok = dst.shape.length === 4 && dst.shape[2] === 1 && same(dst.shape.slice(1), [c.shape[1], 1, c.shape[3]]) && same(dst.strides.slice(1), c.strides.slice(1)) &&
        Number.isInteger(p) && b >= 0 && b + n <= B && (n === 1 || dst.strides[0] === c.strides[0]) && pos.slice(b, b + n).every((x) => x === p);
      if (!ok || caches.has(src.storage)) fail('a cache write not at the step positions');
      for (let i = 0; i < n; i++) steps.push({ m: 'cacheWrite', args: [row(c, b + i), n === 1 ? src : row(src, i), b + i] });
    } else if (op === 'attention') {
      const [out, q, k, v] = a;
      const p = args[4] as { scale: number; causal: boolean; pastLen: number[]; kvLen: number[]; window?: number };
      const c = whole(k) && whole(v);
      if (!c || !p.causal || !same(p.pastLen, pos) || !same(p.kvLen, pos.map((x) => x + 1)) || args[5]) fail('attention other than causal over the caches up to the step');
      steps.push({ m: 'attention', args: [out, q, k, v, p.scale, p.window ?? 0] });
    } else if (touchesCache) fail(`${op} reads or writes a KV cache`);
    else if (op === 'rope') {
      const positions = a[2];
      if (positions.dtype !== 'i32' || positions.shape.length !== 2 || positions.shape[1] !== 1 || !same(i32s(positions), pos)) fail('rope not at the step positions');
      steps.push({ m: 'rope', args: [a[0], a[1], args[3]] });
    } else if (op in WRITES && op !== 'cacheWrite') steps.push({ m: op as Step['m'], args: [...args] });
    else fail(`the forward calls ${op}, which a plan does not replay`);
  }
  const written = new Set(steps.flatMap((st) => WRITES[st.m].map((i) => (st.args[i] as View).storage)));
  if (fills.some((f) => written.has(f))) fail('a filled buffer is written again');
  return steps;
}

const viewsOf = (st: Step): [number, View][] =>
  st.args.flatMap((v, i): [number, View][] => (v && typeof v === 'object' && 'storage' in v ? [[i, v as View]] : []));

/**
 * Lets step buffers share memory when their lifetimes do not overlap (tinygrad's memory planner),
 * so a plan touches about one layer's worth of activations, as a hand-written plan with scratch
 * buffers would. Only buffers the capture allocated and the steps write before reading are
 * shared; `keep` (the output) is not. Returns the storages no step uses any more.
 */
function shareBuffers(steps: Step[], held: ReadonlySet<Storage>, keep: Storage): Storage[] {
  const first = new Map<Storage, number>(), last = new Map<Storage, number>(), constant = new Set<Storage>([keep]);
  steps.forEach((st, i) => {
    const outs = WRITES[st.m];
    for (const [j, v] of viewsOf(st)) {
      const s = v.storage;
      if (!held.has(s) || constant.has(s)) continue;
      if (!first.has(s)) {
        if (!outs.includes(j)) {
          constant.add(s); // read before any step writes it: computed once by the capture
          continue;
        }
        first.set(s, i);
      }
      last.set(s, i);
    }
  });
  const slotOf = new Map<Storage, Storage>();
  const busy: { slot: Storage; until: number }[] = [];
  const free: Storage[] = [];
  for (const [s, i] of [...first].filter(([x]) => !constant.has(x)).sort((a, b) => a[1] - b[1])) {
    for (let k = busy.length - 1; k >= 0; k--) if (busy[k].until < i) free.push(busy.splice(k, 1)[0].slot);
    // the smallest free slot that fits, else this buffer becomes a slot of its own
    let best = -1;
    free.forEach((f, k) => {
      if (f.byteLength >= s.byteLength && (best < 0 || f.byteLength < free[best].byteLength)) best = k;
    });
    const slot = best >= 0 ? free.splice(best, 1)[0] : s;
    slotOf.set(s, slot);
    busy.push({ slot, until: last.get(s)! });
  }
  for (const st of steps) for (const [j, v] of viewsOf(st)) {
    const slot = slotOf.get(v.storage);
    if (slot && slot !== v.storage) st.args[j] = { ...v, storage: slot } satisfies View;
  }
  const slots = new Set(slotOf.values());
  return [...slotOf.keys()].filter((s) => !slots.has(s));
}
