/**
 * Capture of backend calls: runs a function while every method of a backend also records its call
 * (op name + a snapshot of the arguments), so the calls can be replayed later without the code that
 * made them. Follows tinygrad's TinyJit (run once, capture the kernel calls, replay them) and CUDA
 * graph capture. Memory allocated during the capture is held: frees of it are deferred until
 * `release()`, so every recorded view stays valid and no two recorded buffers alias.
 * Deliberately does not: decide what a call means or which arguments vary between replays (the
 * caller does: models/decode-plan.ts), or capture host-side reads and writes (code that reads tensor
 * values on the host during a capture is not replayable; callers keep such code out).
 */
import type { Backend, Storage, View } from './backend.js';

/** One recorded backend call; views among `args` are snapshots (plain objects, shapes copied). */
export interface Call {
  readonly op: string;
  readonly args: readonly unknown[];
}

export interface Captured<T> {
  readonly result: T;
  readonly calls: readonly Call[];
  /** Storage allocated during the capture (held until `release`). */
  readonly held: ReadonlySet<Storage>;
  /** Frees the held storage. Idempotent. */
  release(): void;
}

/** Methods that compute nothing (not recorded). */
const QUIET = new Set(['alloc', 'free', 'supports', 'plan', 'prepareWeight']);

function isView(a: unknown): a is View {
  return !!a && typeof a === 'object' && 'storage' in a && 'shape' in a && 'strides' in a;
}

function snapshot(a: unknown): unknown {
  if (isView(a)) return { storage: a.storage, dtype: a.dtype, shape: [...a.shape], strides: [...a.strides], offset: a.offset } satisfies View;
  if (Array.isArray(a)) return [...(a as unknown[])];
  if (a && typeof a === 'object') return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Array.isArray(v) ? [...(v as unknown[])] : v]));
  return a;
}

/**
 * Runs `fn` with `backend` recording. Everything `fn` allocates must be disposed by the time it
 * returns (run it in `tidy` and return plain values): storage still in use afterwards would be freed
 * by `release` behind its tensor, so it is refused here.
 */
export function capture<T>(backend: Backend, fn: () => T): Captured<T> {
  const calls: Call[] = [];
  const held = new Set<Storage>();
  const freed = new Set<Storage>();
  const b = backend as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  for (const [k, v] of Object.entries(b)) if (typeof v === 'function') saved.set(k, v);
  const call = (k: string, args: unknown[]): unknown => (saved.get(k) as (...a: unknown[]) => unknown).apply(backend, args);
  for (const k of saved.keys()) {
    if (k === 'alloc') {
      b.alloc = (n: number): Storage => {
        const s = call('alloc', [n]) as Storage;
        held.add(s);
        return s;
      };
    } else if (k === 'free') {
      b.free = (s: Storage): void => {
        if (held.has(s)) freed.add(s);
        else call('free', [s]);
      };
    } else if (QUIET.has(k)) continue;
    else {
      b[k] = (...args: unknown[]): unknown => {
        calls.push({ op: k, args: args.map(snapshot) });
        return call(k, args);
      };
    }
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    for (const s of held) backend.free(s);
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const [k, v] of saved) b[k] = v;
    release();
    throw e;
  }
  for (const [k, v] of saved) b[k] = v;
  if (freed.size !== held.size) {
    const live = held.size - freed.size;
    for (const s of freed) backend.free(s);
    released = true;
    throw new Error(`capture: ${live} tensor(s) allocated during the capture are still alive (dispose them inside it)`);
  }
  return { result, calls, held, release };
}
