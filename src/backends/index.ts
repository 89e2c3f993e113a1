/**
 * Backend registry: `ref` (plain TypeScript, the oracle) and `native` (the C++ addon, when built).
 * The default is native when it loads; `MOSS_BACKEND=ref|native` or `setDefaultBackend` picks.
 */
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';
import { loadNativeBackend } from './native/index.js';

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
  if (!current) {
    const env = process.env.MOSS_BACKEND;
    if (env && env !== 'ref' && env !== 'native') throw new Error(`MOSS_BACKEND must be ref or native, got ${env}`);
    current = env ? getBackend(env as BackendName) : (nativeBackend() ?? refBackend);
  }
  return current;
}

export function setDefaultBackend(b: Backend | BackendName): void {
  current = typeof b === 'string' ? getBackend(b) : b;
}

export type { Backend } from './backend.js';
