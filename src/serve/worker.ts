/**
 * The model's worker thread: loads the model, runs the continuous-batching scheduler in a loop and
 * posts token deltas, so the HTTP event loop never waits on a forward pass. Protocol (structured
 * clone): in `{type:'submit', req}` / `{type:'cancel', id}` / `{type:'close'}`; out `{type:'ready', info}`,
 * `{type:'step', tokens, finished, batch, promptTokens}`, `{type:'error', id?, message}`.
 * Deliberately no tokenizer here (ids only).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { configureEngine, type EngineOptions } from '../backends/index.js';
import { loadModel } from '../models/load.js';
import { createPrefixCache } from '../generate/prefix-blocks.js';
import { DEFAULT_PREFILL_SHARE, DEFAULT_STEP_TOKENS, Scheduler, type SeqRequest } from '../generate/scheduler.js';
import { MatcherCache, TokenTrie, type Grammar, type VocabBytes } from '../generate/constrain/index.js';

export interface WorkerInit {
  readonly modelPath: string;
  readonly slots: number;
  readonly ctx: number;
  /** Prefix cache pool in MiB (0 = off; default: defaultPrefixCacheMb). */
  readonly prefixCacheMb?: number;
  /** Per-step token budget of chunked prefill (0 = whole prompts; default DEFAULT_STEP_TOKENS, at least 2 x slots). */
  readonly stepTokens?: number;
  /** Engine switches resolved by the main thread (backend, threads, mmap, ...). */
  readonly engine: EngineOptions;
  /** The tokenizer's token bytes, for constrained decoding's masks (built on the main thread). */
  readonly vocab?: VocabBytes;
}

export type ToWorker = { type: 'submit'; req: SeqRequest; grammar?: Grammar } | { type: 'cancel'; id: number } | { type: 'close' };

const port = parentPort!;
const init = workerData as WorkerInit;
let sched: Scheduler;
let matchers: MatcherCache | null = null;
try {
  if (init.vocab) matchers = new MatcherCache(new TokenTrie(init.vocab));
  configureEngine(init.engine);
  const { model } = loadModel(init.modelPath);
  const ctx = Math.min(init.ctx, model.info.maxPositions);
  const prefixCache = createPrefixCache(model, init.prefixCacheMb, ctx);
  // chunked prefill: at most --step-tokens a step, and (adaptive) what fits DEFAULT_PREFILL_SHARE of a decode step
  sched = new Scheduler(model, init.slots, init.ctx, { prefixCache, stepTokens: init.stepTokens ?? Math.max(DEFAULT_STEP_TOKENS, 2 * init.slots), prefillShare: init.stepTokens === 0 ? 0 : DEFAULT_PREFILL_SHARE });
  port.postMessage({ type: 'ready', info: { ...model.info, contextLength: sched.capacity } });
} catch (e) {
  port.postMessage({ type: 'fatal', message: (e as Error).message });
  process.exit(1);
}

let running = false;
let closing = false;

async function loop(): Promise<void> {
  running = true;
  while (!sched.idle() && !closing) {
    const before = sched.promptTokens;
    try {
      const r = sched.step();
      port.postMessage({ type: 'step', tokens: r.tokens, finished: r.finished, batch: r.batch, promptTokens: sched.promptTokens - before, ...(r.prompts ? { prompts: r.prompts } : {}) });
    } catch (e) {
      // a failed step fails every sequence in it rather than retrying forever
      port.postMessage({ type: 'error', message: (e as Error).message });
      port.postMessage({ type: 'step', tokens: [], finished: sched.abortAll().map((id) => [id, 'cancelled']), batch: 0, promptTokens: 0 });
    }
    await new Promise((r) => setImmediate(r)); // take in new requests and cancellations between steps
  }
  running = false;
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'submit') {
    try {
      if (m.grammar && !matchers) throw new Error('constrained decoding needs the vocabulary');
      sched.add(m.grammar ? { ...m.req, constraint: matchers!.constraint(m.grammar) } : m.req);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.req.id, message: (e as Error).message });
      return;
    }
  } else if (m.type === 'cancel') sched.cancel(m.id);
  else if (m.type === 'close') {
    closing = true;
    sched.dispose();
    port.close();
    return;
  }
  if (!running) void loop();
});
