/**
 * Fast single-sequence decode: one token of a model's forward is recorded once per KV cache as a
 * backend DecodePlan (backends/backend.ts) and replayed for every later token, so a decode step is
 * one embedding lookup, one native call and one copy of the logits instead of ~15 tensor ops per
 * layer (each with its allocation, view objects and thread-pool dispatch). llama.cpp reuses its
 * ggml graph the same way. Each recorded step is the same backend call, on the same kinds of views,
 * that the op-by-op forward makes, so both paths compute the same numbers; the op-by-op forward
 * stays the reference (test/models/decode-plan.test.ts compares them token for token).
 *
 * Used only when: batch 1, one new token, a KV cache, no trace, the backend records plans, no
 * weight wants gradients, and the engine switch decodePlan is on. Everything else takes the op-by-op path.
 * Deliberately does not: know any model's layers (llama.ts / moss.ts record their own steps with
 * `PlanRecorder`), batch several sequences (the server's batched decode stays op by op), or plan
 * prompts (prefill is matrix-bound; its per-op overhead is small).
 */
import type { Backend, DecodePlan } from '../backends/backend.js';
import { engineOptions } from '../backends/options.js';
import { Tensor } from '../tensor/index.js';
import type { KVCache } from './kv-cache.js';
import { Dense } from './layers.js';
import type { ForwardOptions } from './types.js';

/** Records steps into a DecodePlan and owns the scratch tensors they use. */
export class PlanRecorder {
  readonly scratch: Tensor[] = [];

  constructor(readonly plan: DecodePlan, readonly backend: Backend) {}

  /** A zeroed f32 scratch tensor that lives as long as the plan. */
  t(...shape: number[]): Tensor {
    const x = Tensor.empty(this.backend, 'f32', shape).keep();
    this.scratch.push(x);
    return x;
  }

  /** out (1, N) = x (1, K) @ d.weight^T (+ d.bias), as ops.linear calls the backend. */
  linear(out: Tensor, x: Tensor, d: Dense): void {
    const wt = d.weight.transpose(0, 1);
    this.plan.matmul(out, x, wt);
    wt.dispose();
    if (d.bias) {
      const b = d.bias.reshape(1, d.bias.shape[0]);
      this.plan.binary('add', out, out, b);
      b.dispose();
    }
  }

  dispose(): void {
    this.plan.dispose();
    for (const t of this.scratch) t.dispose();
    this.scratch.length = 0;
  }
}

/** A recorded step: x (1, 1, C) is the plan's input (token embedding), logits (1, V) its output. */
export interface RecordedStep {
  readonly rec: PlanRecorder;
  readonly x: Tensor;
  readonly logits: Tensor;
}

/** What a model provides to decode through a plan. */
export interface PlannableModel {
  readonly backend: Backend;
  /** Every projection the plan will read (checked: plain Dense layers, frozen, 2-d weights). */
  planDenses(): Dense[];
  /** Records one token's steps against `cache` (layers read/write cache.k[l], cache.v[l]). */
  recordStep(rec: PlanRecorder, cache: KVCache): RecordedStep;
  /** The token embedding (1, 1, C) of ids (1, 1), op by op. */
  embed(ids: Tensor): Tensor;
}

const DENSE_DTYPES = new Set(['f32', 'f16', 'bf16', 'q8_0', 'q4_0']);

/** True when `forward(ids, o)` may take the plan path. */
export function canPlan(model: PlannableModel, ids: Tensor, o: ForwardOptions): o is ForwardOptions & { cache: KVCache } {
  if (!o.cache || o.trace || ids.shape[0] !== 1 || ids.shape[1] !== 1 || o.cache.batch !== 1 || !o.cache.planable) return false;
  if (o.lengths && o.lengths[0] !== 1) return false;
  if (!model.backend.plan || !engineOptions().decodePlan) return false;
  if (o.cache.plan?.owner === model) return true;
  return model.planDenses().every((d) => d instanceof Dense && !d.weight.requiresGrad && !d.bias?.requiresGrad
    && d.weight.ndim === 2 && DENSE_DTYPES.has(d.weight.dtype));
}

/**
 * One decode token through the cache's plan (recorded on first use). Returns logits (1, V) for
 * `logits: 'last'`, else (1, 1, V), and advances the cache by one token.
 */
export function planForward(model: PlannableModel, ids: Tensor, o: ForwardOptions & { cache: KVCache }): Tensor {
  const cache = o.cache;
  const pos = cache.starts(1)[0];
  if (cache.plan?.owner !== model) {
    cache.plan?.dispose();
    const rec = new PlanRecorder(model.backend.plan!(), model.backend);
    try {
      const step = model.recordStep(rec, cache);
      cache.plan = { owner: model, step, dispose: () => rec.dispose() };
    } catch (e) {
      rec.dispose();
      throw e;
    }
  }
  const step = cache.plan.step as RecordedStep;
  const e = model.embed(ids);
  model.backend.copy(step.x, e);
  e.dispose();
  step.rec.plan.run(pos);
  cache.advance([1]);
  const V = step.logits.shape[1];
  const out = Tensor.empty(model.backend, 'f32', [1, V]);
  model.backend.copy(out, step.logits);
  return o.logits === 'last' ? out : out.reshape(1, 1, V);
}
