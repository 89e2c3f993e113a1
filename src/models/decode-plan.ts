/**
 * Fast single-sequence decode, derived from the model's own forward (tinygrad's TinyJit, a CUDA
 * graph capture): the first batch-1 decode step on a KV cache runs the ordinary op-by-op forward
 * while the backend records its calls (backends/capture.ts); the calls become a backend DecodePlan
 * that every later token replays with one native call, one embedding lookup and one copy of the
 * logits, instead of ~15 tensor ops per layer each with its allocation and dispatch. There is no
 * second description of any model: whatever the forward does (LoRA adapters included) is what the
 * plan replays.
 *
 * Position-dependent arguments: the token position reaches the forward only through
 * `cache.starts()`, i.e. the rope positions, the cache row written and the attention lengths. The
 * translation maps exactly those calls to the plan's position-following steps (rope at pos, a
 * cache write into row pos, attention over rows 0..pos), checking that they were made at the
 * capture's position; every other call is replayed on the views it was recorded with (the capture
 * holds their memory). The plan's input is the token embedding, looked up op by op before each run
 * (a quantized table reads the id on the host, which a replay cannot follow).
 *
 * Used only when: batch 1, one new token, a KV cache, no trace, no `embeds`, the model in eval mode,
 * no parameter wanting gradients, a backend that replays plans, and the engine switch decodePlan on.
 * A forward whose calls a plan cannot replay is computed by the capture itself and the cache then
 * decodes op by op. Deliberately does not: batch several sequences (the server's batched decode stays
 * op by op) or plan prompts (prefill is matrix-bound; its per-op overhead is small).
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

/** A recorded decode step: the plan, its input (token embedding) and output (logits (1, V)) views. */
interface Recorded {
  readonly plan: DecodePlan;
  readonly x: Tensor;
  readonly logits: View;
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
  if (!cache || o.trace || o.embeds || ids.ndim !== 2 || ids.shape[0] !== 1 || ids.shape[1] !== 1 || cache.batch !== 1 || !cache.planable) return null;
  if ((o.lengths && o.lengths[0] !== 1) || !model.backend.plan || !engineOptions().decodePlan) return null;
  const step = planOf(cache, model);
  if (step === 'ops') return null;
  if (!step) {
    if (model.training || (isGradEnabled() && model.parameters().some((p) => p.requiresGrad))) return null;
    return captureStep(model, ids, o, cache);
  }
  const pos = cache.starts(1)[0];
  const e = model.embed(ids);
  model.backend.copy(step.x, e);
  e.dispose();
  step.plan.run(pos);
  cache.advance([1]);
  return output(model.backend, step.logits, o);
}

function output(backend: Backend, logits: View, o: ForwardOptions): Tensor {
  const V = logits.shape[1];
  const out = Tensor.empty(backend, 'f32', [1, V]);
  backend.copy(out, logits);
  return o.logits === 'last' ? out : out.reshape(1, 1, V);
}

/** Runs this step's forward under capture (so it is computed exactly as op by op) and keeps its plan. */
function captureStep(model: PlannableModel, ids: Tensor, o: ForwardOptions, cache: KVCache): Tensor {
  const be = model.backend;
  const pos = cache.starts(1)[0];
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
    cache.plan = { owner: model, step: { plan, x, logits } satisfies Recorded, dispose: () => { plan.dispose(); x.dispose(); cap.release(); } };
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

/** Reads the i32 at view `v`'s first element (a positions tensor the capture still holds). */
function firstI32(v: View): number {
  return new Int32Array(v.storage.buffer, v.storage.byteOffset + v.offset * 4, 1)[0];
}

/** One plan step: a DecodePlan method and its arguments. */
interface Step {
  readonly m: Exclude<keyof DecodePlan, 'run' | 'size' | 'dispose'>;
  readonly args: unknown[];
}

/** The arguments each plan method writes (outputs first, after the op code of unary/binary). */
const WRITES: Record<Step['m'], number[]> = { rmsNorm: [0, 1], layerNorm: [0, 1, 2], matmul: [0], unary: [1], binary: [1], copy: [0], rope: [0], cacheWrite: [0], attention: [0] };

/** The captured calls as plan steps, mapping the three position-dependent ones (see header). */
function translate(calls: readonly Call[], cache: KVCache, pos: number): Step[] {
  const caches = new Map<Storage, Tensor>();
  for (const t of [...cache.k, ...cache.v]) caches.set(t.storage, t);
  const fail = (why: string): never => {
    throw new Error(`decode plan: ${why}`);
  };
  const whole = (v: View): Tensor | undefined => {
    const c = caches.get(v.storage);
    return c && v.offset === c.offset && v.shape.every((d, i) => d === c.shape[i] && v.strides[i] === c.strides[i]) ? c : undefined;
  };
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
      // KVCache.write: the (1, Hkv, 1, D) row `pos` of a (1, Hkv, S, D) cache
      const c = caches.get(a[0].storage)!;
      const row = a[0].shape.length === 4 && a[0].shape[2] === 1 && a[0].offset === c.offset + pos * c.strides[2];
      if (!row || caches.has(a[1].storage)) fail('a cache write not at the step position');
      steps.push({ m: 'cacheWrite', args: [c, a[1]] });
    } else if (op === 'attention') {
      const [out, q, k, v] = a;
      const p = args[4] as { scale: number; causal: boolean; pastLen: number[]; kvLen: number[] };
      const c = whole(k) && whole(v);
      if (!c || !p.causal || p.pastLen[0] !== pos || p.kvLen[0] !== pos + 1 || args[5]) fail('attention other than causal over the caches up to the step');
      steps.push({ m: 'attention', args: [out, q, k, v, p.scale] });
    } else if (touchesCache) fail(`${op} reads or writes a KV cache`);
    else if (op === 'rope') {
      const positions = a[2];
      if (positions.dtype !== 'i32' || positions.shape.length !== 2 || firstI32(positions) !== pos) fail('rope not at the step position');
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
