/**
 * Engine switches as one typed object. They are resolved once at the program's edge (src/cli/
 * options.ts: command-line flags, then MOSS_* environment variables; the serve worker receives
 * them in its workerData) and handed down with `configureEngine` (./index.ts); library code reads
 * them here and never reads the environment itself. Follows llama.cpp's common_params.
 * Deliberately does not: parse strings or know variable names (the edge does).
 */

export interface EngineOptions {
  /** Compute backend; default: native when the addon is built, else ref. */
  readonly backend?: 'ref' | 'native';
  /** Native kernel threads; 0: one per core (the addon's default). */
  readonly threads?: number;
  /** Memory-map checkpoint files (false: read them into memory). Default true. */
  readonly mmap?: boolean;
  /** Let the backend keep loaded weights in a faster layout (prepareWeight). Default true. */
  readonly repack?: boolean;
  /** Keep f16/bf16 linear weights half precision where the backend multiplies them. Default true. */
  readonly keepHalf?: boolean;
  /** Batch-1 decode replays a plan captured from the forward (models/decode-plan.ts). Default true. */
  readonly decodePlan?: boolean;
  /** Say on stderr why the native addon did not load. Default false. */
  readonly nativeDebug?: boolean;
}

export type ResolvedEngineOptions = Required<Omit<EngineOptions, 'backend'>> & Pick<EngineOptions, 'backend'>;

const DEFAULTS: ResolvedEngineOptions = { threads: 0, mmap: true, repack: true, keepHalf: true, decodePlan: true, nativeDebug: false };

let current: ResolvedEngineOptions = { ...DEFAULTS };

/** The switches in force (defaults, overridden by every `configureEngine` so far). */
export function engineOptions(): ResolvedEngineOptions {
  return current;
}

/** Merges `o` into the switches in force (undefined fields keep theirs); returns the previous ones. */
export function setEngineOptions(o: EngineOptions): ResolvedEngineOptions {
  const before = current;
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as EngineOptions;
  current = { ...current, ...defined };
  return before;
}
