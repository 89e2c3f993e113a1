/**
 * Backend registry: `ref` (plain TypeScript, the oracle) and `native` (the C++ addon, when built).
 * The default is native when it loads; `configureEngine({ backend })` (the CLI's --backend or
 * MOSS_BACKEND) or `setDefaultBackend` picks.
 */
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { loadNativeBackend, setNativeThreads } from './native/index.js';
import { setEngineOptions, type EngineOptions, type ResolvedEngineOptions } from './options.js';

export type BackendName = 'ref' | 'native';

let nativeCache: Backend | null | undefined;
let current: Backend | undefined;

export function nativeBackend(): Backend | null {
  if (nativeCache === undefined) nativeCache = loadNativeBackend();
  return nativeCache;
}

export function getBackend(name: BackendName): Backend {
  if (name === 'ref') return refBackend;
  const n = nativeBackend();
  if (!n) throw new Error('the native backend is not built (run `npm run build:native`)');
  return n;
}

/** Every backend that can run here, ref first. */
export function availableBackends(): Backend[] {
  const n = nativeBackend();
  return n ? [refBackend, n] : [refBackend];
}

export function defaultBackend(): Backend {
  current ??= chosen ? getBackend(chosen) : (nativeBackend() ?? refBackend);
  return current;
}

let chosen: BackendName | undefined;

/**
 * Applies engine switches resolved at the program's edge (src/backends/options.ts): the default
 * backend, native threads (now if the addon is loaded, else when it loads) and the switches that
 * loading and decoding read. Returns the switches in force before, so a caller can restore them.
 */
export function configureEngine(o: EngineOptions): ResolvedEngineOptions {
  const before = setEngineOptions(o);
  if (o.backend !== undefined) {
    chosen = o.backend;
    current = undefined;
  }
  if (o.threads !== undefined && nativeCache) setNativeThreads(o.threads);
  return before;
}

export function setDefaultBackend(b: Backend | BackendName): void {
  current = typeof b === 'string' ? getBackend(b) : b;
}

export type { Backend } from './backend.js';
export { engineOptions, type EngineOptions, type ResolvedEngineOptions } from './options.js';
