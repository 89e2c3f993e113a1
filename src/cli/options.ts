/**
 * The edge where engine switches are resolved: MOSS_* environment variables, then command-line
 * flags over them, into one typed EngineOptions (src/backends/options.ts) that is applied with
 * configureEngine and handed to the serve worker. The only place that reads these variables.
 * Deliberately does not: read command-specific settings (each command parses its own flags).
 *
 * Variables: MOSS_BACKEND=ref|native, MOSS_THREADS=n, MOSS_NO_MMAP=1, MOSS_QREPACK=0,
 * MOSS_WIDEN_HALF=1, MOSS_DECODE_PLAN=0, MOSS_NATIVE_DEBUG=1 (MOSS_NATIVE_ISA is read by the addon).
 */
import type { EngineOptions } from '../backends/options.js';
import { number } from './flags.js';

type Env = Readonly<Record<string, string | undefined>>;

function backendName(v: string | undefined, what: string): 'ref' | 'native' | undefined {
  if (v === undefined || v === '') return undefined;
  if (v !== 'ref' && v !== 'native') throw new Error(`${what} must be ref or native, got "${v}"`);
  return v;
}

function threadCount(v: string | undefined, what: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`${what}: "${v}" is not an integer in [1, 1024]`);
  return n;
}

/** Engine switches from MOSS_* variables (unset ones stay undefined: the engine's defaults apply). */
export function engineFromEnv(env: Env): EngineOptions {
  const flag = (name: string, on: string): boolean | undefined => (env[name] === undefined ? undefined : env[name] === on);
  return {
    backend: backendName(env.MOSS_BACKEND, 'MOSS_BACKEND'),
    threads: threadCount(env.MOSS_THREADS, 'MOSS_THREADS'),
    mmap: env.MOSS_NO_MMAP === undefined ? undefined : env.MOSS_NO_MMAP !== '1',
    repack: env.MOSS_QREPACK === undefined ? undefined : env.MOSS_QREPACK !== '0',
    keepHalf: env.MOSS_WIDEN_HALF === undefined ? undefined : env.MOSS_WIDEN_HALF !== '1',
    decodePlan: env.MOSS_DECODE_PLAN === undefined ? undefined : env.MOSS_DECODE_PLAN !== '0',
    nativeDebug: flag('MOSS_NATIVE_DEBUG', '1'),
  };
}

/** Engine switches given as command-line flags (--backend, --threads); absent flags stay undefined. */
export function engineFromFlags(f: { backend?: string; threads?: string }): EngineOptions {
  return { backend: backendName(f.backend, '--backend'), threads: number('threads', f.threads, { int: true, min: 1, max: 1024 }) };
}
