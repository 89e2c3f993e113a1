/**
 * Plugins off the caller's thread: a small pool of worker threads (./worker.ts) that run MOSS's
 * plugins, each call under a hard deadline. When a call outlives its timeout, or its signal
 * aborts, the worker running it is terminated (a CPU-bound BigInt loop cannot be interrupted any
 * other way) and a fresh one starts at once in its place, so a hostile argument costs one pool slot
 * for the timeout and nothing else. A call's timeout counts its run only: waiting for a busy pool
 * counts against the same bound, a fresh worker's start-up (module loading, seconds on a loaded
 * machine) against a separate STARTUP_MS; the server's event loop never runs plugin code. Each worker has a
 * heap limit, so an argument that explodes in memory kills its worker, not the process.
 * Follows the shape of piscina/workerpool, reduced to what one-shot plugin calls need.
 * Deliberately no retries: a failed or killed call is a plugin failure the model sees as `No result.`.
 */
import { Worker } from 'node:worker_threads';
import type { PluginsConfig } from './index.js';
import { PluginError, type FailureCode, type Plugin, type PluginResult, type RunOptions } from './types.js';
import type { PluginCall } from './worker.js';

export interface PoolOptions {
  /** Worker threads at most (calls beyond wait for one). Default 2. */
  readonly workers?: number;
  /** The plugins' configuration (search provider, image endpoint), cloned into every worker. */
  readonly config?: PluginsConfig;
  /** Heap limit of each worker in MiB. Default 256. */
  readonly memoryMb?: number;
  /** Timeout of a call that gives none, in ms. Default 10 000. */
  readonly timeoutMs?: number;
}

type Reply = { id: number; ok: true; result: PluginResult } | { id: number; ok: false; code: FailureCode; message: string };

const NAMES = ['Search', 'Calculate', 'Solve', 'Text2Image'];
/** How long a fresh worker may take to load the plugins before a call waiting on it fails. */
const STARTUP_MS = 30_000;

/** A pool of plugin workers; `plugins()` gives the four plugins as the chat loop expects them. */
export class PluginPool {
  private readonly max: number;
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly ready = new WeakMap<Worker, Promise<void>>();
  private live = 0;
  private seq = 0;
  private closed = false;
  /** Workers terminated at a timeout or abort since start. */
  killed = 0;

  constructor(private readonly o: PoolOptions = {}) {
    this.max = Math.max(1, o.workers ?? 2);
  }

  /** The plugins by command name, each call run in a worker. */
  plugins(): Map<string, Plugin> {
    return new Map(NAMES.map((name) => [name, { name, run: (args: string, opts?: RunOptions) => this.run(name, args, opts) }]));
  }

  private spawn(): Worker {
    this.live++;
    const w = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: this.o.config ?? {},
      resourceLimits: { maxOldGenerationSizeMb: this.o.memoryMb ?? 256, maxYoungGenerationSizeMb: 32 },
    });
    w.unref();
    // the worker says 'ready' once its plugins are built; a call's timer starts after that
    const ready = new Promise<void>((resolve) => {
      const on = (m: { type?: string }): void => { if (m?.type === 'ready') { w.off('message', on); resolve(); } };
      w.on('message', on);
    });
    this.ready.set(w, ready);
    // a worker that dies on its own (out of memory) leaves the pool; the call it ran fails below
    w.once('exit', () => this.drop(w));
    w.on('error', () => {});
    return w;
  }

  private drop(w: Worker): void {
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    if ((w as Worker & { dropped?: boolean }).dropped) return;
    (w as Worker & { dropped?: boolean }).dropped = true;
    this.live--;
    if (this.waiting.length && !this.closed) this.waiting.shift()!(this.spawn());
  }

  private acquire(signal: AbortSignal): Promise<Worker> {
    if (this.idle.length) return Promise.resolve(this.idle.pop()!);
    if (this.live < this.max) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => {
      const take = (w: Worker): void => { signal.removeEventListener('abort', abort); resolve(w); };
      const abort = (): void => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      this.waiting.push(take);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  private release(w: Worker): void {
    if (this.closed) return void w.terminate();
    if (this.waiting.length) this.waiting.shift()!(w);
    else this.idle.push(w);
  }

  /** Resolves when `w` has built its plugins; rejects if `signal` aborts or the worker exits first. */
  private started(w: Worker, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => { signal.removeEventListener('abort', abort); w.off('exit', exit); };
      const abort = (): void => { done(); reject(signal.reason); };
      const exit = (): void => { done(); reject(new PluginError('too-large', 'the plugin worker stopped while starting')); };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      w.once('exit', exit);
      void this.ready.get(w)!.then(() => { done(); resolve(); });
    });
  }

  /** Runs one plugin call in a worker; rejects with PluginError (timeout, too-large, the plugin's own). */
  async run(name: string, args: string, opts: RunOptions = {}): Promise<PluginResult> {
    if (this.closed) throw new PluginError('not-configured', 'plugin pool is closed');
    const ms = opts.timeoutMs ?? this.o.timeoutMs ?? 10_000;
    const timeout = new PluginError('timeout', `${name} timed out after ${ms} ms`);
    const ac = new AbortController();
    // three phases, each bounded: waiting for a free worker (the call's timeout), a fresh worker's
    // start-up (STARTUP_MS), the call itself (the call's timeout, from when the worker has it)
    let timer = setTimeout(() => ac.abort(timeout), ms);
    const onAbort = (): void => ac.abort(new PluginError('timeout', `${name} cancelled`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    let w: Worker | undefined;
    try {
      w = await this.acquire(ac.signal);
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(new PluginError('timeout', `${name}: the plugin worker did not start within ${STARTUP_MS} ms`)), STARTUP_MS);
      await this.started(w, ac.signal);
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(timeout), ms);
      const worker = w;
      const id = ++this.seq;
      const reply = await new Promise<Reply>((resolve, reject) => {
        const onMessage = (m: Reply): void => { if (m.id === id) { cleanup(); resolve(m); } };
        const onExit = (): void => { cleanup(); reject(new PluginError('too-large', `${name} stopped: its worker ran out of memory or crashed`)); };
        const onKill = (): void => { cleanup(); reject(ac.signal.reason); };
        const cleanup = (): void => {
          worker.off('message', onMessage);
          worker.off('exit', onExit);
          ac.signal.removeEventListener('abort', onKill);
        };
        worker.on('message', onMessage);
        worker.once('exit', onExit);
        ac.signal.addEventListener('abort', onKill, { once: true });
        if (ac.signal.aborted) return onKill();
        const call: PluginCall = { id, name, args, timeoutMs: ms };
        worker.postMessage(call);
      });
      this.release(worker);
      w = undefined;
      if (!reply.ok) throw new PluginError(reply.code, reply.message);
      return reply.result;
    } catch (e) {
      if (w) {
        // the call is abandoned while its worker may still be computing: kill it
        this.killed++;
        const dead = w;
        void dead.terminate();
        this.drop(dead);
        // its replacement starts now, so the next call does not wait for a worker's start-up
        if (!this.closed && this.live < this.max) this.idle.push(this.spawn());
      }
      throw e instanceof PluginError ? e : new PluginError('timeout', (e as Error)?.message ?? String(e));
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Terminates every worker; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle.splice(0);
    this.waiting.splice(0); // their own timers reject them
    await Promise.all(all.map((w) => w.terminate()));
  }

  stats(): { workers: number; idle: number; waiting: number; killed: number } {
    return { workers: this.live, idle: this.idle.length, waiting: this.waiting.length, killed: this.killed };
  }
}
