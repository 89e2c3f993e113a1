/**
 * The real engine: the model runs in a worker thread (./worker.ts) with continuous batching; this
 * main-thread side keeps admission (slots + bounded queue), turns worker step messages into
 * per-request token streams and forwards cancellations (AbortSignal -> cancel message).
 * Deliberately holds no tensors: only ids cross the thread boundary.
 */
import { Worker } from 'node:worker_threads';
import type { EngineOptions } from '../backends/options.js';
import type { ModelInfo } from '../models/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { IdChannel, QueueFullError, type Engine, type EngineStats, type FinishReason, type GenRequest, type TokenStream } from './engine.js';
import type { ToWorker, WorkerInit } from './worker.js';
import { vocabBytes } from '../generate/constrain/vocab.js';
import type { TokenLogprob } from '../generate/logprobs.js';

export interface WorkerEngineOptions {
  readonly modelPath: string;
  readonly tokenizer: Tokenizer;
  readonly modelId: string;
  /** Sequences decoded together. Default 4. */
  readonly slots?: number;
  /** Requests waiting beyond the slots before 429. Default 4 * slots. */
  readonly maxQueue?: number;
  /** Context length cap (the model's own limit applies too). Default 2048. */
  readonly ctx?: number;
  /** Prefix cache in MiB (0 = off; default sized from the model and ctx). */
  readonly prefixCacheMb?: number;
  /** Per-step token budget of chunked prefill (0 = whole prompts at once; default: the worker's). */
  readonly stepTokens?: number;
  /** Engine switches for the worker thread (its module state is its own): the CLI passes the
   *  ones it resolved (engineOptions()); default: the engine's defaults. */
  readonly engine?: EngineOptions;
}

type FromWorker =
  | { type: 'ready'; info: ModelInfo & { contextLength: number } }
  | { type: 'fatal'; message: string }
  | { type: 'step'; tokens: [number, number, TokenLogprob?][]; finished: [number, FinishReason][]; batch: number; promptTokens: number; prompts?: [number, (TokenLogprob | null)[]][] }
  | { type: 'error'; id?: number; message: string };

export class WorkerEngine implements Engine {
  readonly tokenizer: Tokenizer;
  readonly modelId: string;
  contextLength = 0;
  addBos = false;
  info!: ModelInfo;
  private worker: Worker;
  private streams = new Map<number, IdChannel>();
  private nextId = 1;
  private tokens = 0;
  private prompt = 0;
  private steps = 0;
  private readonly slots: number;
  private readonly maxQueue: number;

  private constructor(o: WorkerEngineOptions) {
    this.tokenizer = o.tokenizer;
    this.modelId = o.modelId;
    this.slots = o.slots ?? 4;
    this.maxQueue = o.maxQueue ?? 4 * this.slots;
    const init: WorkerInit = { modelPath: o.modelPath, slots: this.slots, ctx: o.ctx ?? 2048, engine: o.engine ?? {}, vocab: vocabBytes(o.tokenizer), prefixCacheMb: o.prefixCacheMb, stepTokens: o.stepTokens };
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  }

  /** Starts the worker and waits until the model is loaded. */
  static async start(o: WorkerEngineOptions): Promise<WorkerEngine> {
    const e = new WorkerEngine(o);
    await new Promise<void>((resolve, reject) => {
      e.worker.once('error', reject);
      e.worker.once('exit', (code) => reject(new Error(`model worker exited (code ${code}) while loading ${o.modelPath}`)));
      e.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          e.info = m.info;
          e.contextLength = m.info.contextLength;
          e.addBos = m.info.addsBos;
          e.worker.removeAllListeners('exit');
          e.worker.on('exit', () => e.failAll('model worker stopped'));
          resolve();
        } else if (m.type === 'fatal') reject(new Error(m.message));
        else e.onMessage(m);
      });
    });
    return e;
  }

  private failAll(why: string): void {
    for (const [, s] of this.streams) s.end('cancelled');
    this.streams.clear();
    void why;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'step') {
      this.steps += m.batch ? 1 : 0;
      this.prompt += m.promptTokens;
      this.tokens += m.tokens.length;
      for (const [id, lps] of m.prompts ?? []) {
        const s = this.streams.get(id);
        if (s) s.promptLogprobs = lps;
      }
      for (const [id, t, lp] of m.tokens) this.streams.get(id)?.push([t], lp ? [lp] : undefined);
      for (const [id, why] of m.finished) {
        this.streams.get(id)?.end(why);
        this.streams.delete(id);
      }
    } else if (m.type === 'error') {
      if (m.id !== undefined) {
        this.streams.get(m.id)?.end('cancelled');
        this.streams.delete(m.id);
      } else process.stderr.write(`moss serve: model step failed: ${m.message}\n`);
    }
  }

  stats(): EngineStats {
    const n = this.streams.size;
    return { active: Math.min(n, this.slots), queued: Math.max(0, n - this.slots), slots: this.slots, maxQueue: this.maxQueue, tokensGenerated: this.tokens, promptTokens: this.prompt, steps: this.steps };
  }

  submit(req: GenRequest): TokenStream {
    const s = this.stats();
    if (req.admit !== false && s.queued >= s.maxQueue) throw new QueueFullError(Math.max(1, Math.ceil(s.queued / s.slots)));
    const id = this.nextId++;
    const ch = new IdChannel();
    if (req.signal?.aborted) {
      ch.end('cancelled');
      return ch;
    }
    this.streams.set(id, ch);
    const post = (m: ToWorker): void => this.worker.postMessage(m);
    const lp = req.logprobs === undefined ? {} : { logprobs: req.logprobs, ...(req.promptLogprobs ? { promptLogprobs: true } : {}) };
    post({ type: 'submit', req: { id, promptIds: [...req.promptIds], maxNewTokens: req.maxNewTokens, stopIds: [...req.stopIds], sampling: { ...req.sampling, vocabSize: this.tokenizer.vocabSize }, ...lp }, ...(req.grammar ? { grammar: req.grammar } : {}) }); // padding rows past the vocabulary are never sampled
    req.signal?.addEventListener('abort', () => {
      if (this.streams.has(id)) post({ type: 'cancel', id });
    }, { once: true });
    return ch;
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await new Promise((r) => setTimeout(r, 20));
    await this.worker.terminate();
  }
}
