/** Parsing of numeric command-line flags, with one clear message naming the flag; Ctrl-C while generating. */
import type { SamplingOptions } from '../generate/sampler.js';

/** The number in `v` (undefined when absent), checked for integer-ness and range. */
export function number(flag: string, v: string | undefined, o: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (o.int && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
    const range = o.min !== undefined ? ` >= ${o.min}${o.max !== undefined ? ` and <= ${o.max}` : ''}` : '';
    throw new Error(`--${flag}: "${v}" is not ${o.int ? 'an integer' : 'a number'}${range}`);
  }
  return n;
}

/** The sampling flags (`moss generate`, `moss chat`): --temperature, --top-k, --top-p, --min-p, --repetition-penalty. */
export interface SamplingFlags {
  temperature?: string;
  topK?: string;
  topP?: string;
  minP?: string;
  repetitionPenalty?: string;
}

/** `base` with the sampling flags that were given over it. */
export function withSamplingFlags<T extends SamplingOptions>(base: T, f: SamplingFlags): T {
  const o = { ...base };
  const set = <K extends keyof SamplingOptions>(k: K, v: number | undefined): void => {
    if (v !== undefined) o[k] = v as T[K];
  };
  set('temperature', number('temperature', f.temperature, { min: 0 }));
  set('topK', number('top-k', f.topK, { int: true, min: 0 }));
  set('topP', number('top-p', f.topP, { min: 0, max: 1 }));
  set('minP', number('min-p', f.minP, { min: 0, max: 1 }));
  set('repetitionPenalty', number('repetition-penalty', f.repetitionPenalty, { min: Number.MIN_VALUE }));
  if (o.topP === 0) throw new Error('--top-p: must be greater than 0');
  return o;
}

/** Runs `work` with a signal the first Ctrl-C aborts (a second one exits 130); true when it was aborted. */
export async function cancellable(work: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
  const abort = new AbortController();
  const onSigint = (): void => (abort.signal.aborted ? process.exit(130) : abort.abort());
  process.on('SIGINT', onSigint);
  try {
    await work(abort.signal);
    return abort.signal.aborted;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
