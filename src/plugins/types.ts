/**
 * The plugin contract shared by MOSS's four tools (Search, Calculate, Solve, Text2Image).
 * Follows the tool list of MOSS-003's meta instruction; a plugin turns one argument string into
 * one result. It deliberately knows nothing of the chat format: the `<|Results|>:` layout is
 * written by src/chat, which receives either values or a failure from here.
 */

/** Options every plugin call gets. */
export interface RunOptions {
  /** Aborts the call (Ctrl-C, or the loop's timeout). */
  readonly signal?: AbortSignal;
  /** Wall-clock budget in milliseconds; plugins check it and stop with PluginError('timeout'). */
  readonly timeoutMs?: number;
}

/** What a plugin returns on success. */
export type PluginResult =
  /** Calculator: the value as the data prints it, e.g. `'20.25'` without quotes. */
  | { readonly kind: 'value'; readonly text: string }
  /** Solver: one `name = value` line per unknown (or per root). */
  | { readonly kind: 'lines'; readonly lines: readonly string[] }
  /** Search: snippets, best first. */
  | { readonly kind: 'hits'; readonly hits: readonly SearchHit[] }
  /** Text-to-image: where the images were written. */
  | { readonly kind: 'image'; readonly files: readonly string[] };

export interface SearchHit {
  readonly title?: string;
  readonly url?: string;
  readonly snippet: string;
}

/** Why a plugin call produced no result. */
export type FailureCode = 'invalid' | 'unsupported' | 'no-result' | 'timeout' | 'too-large' | 'not-configured' | 'network';

/** A plugin failure: the loop writes `No result.` for the model and shows `message` to the user. */
export class PluginError extends Error {
  constructor(readonly code: FailureCode, message: string) {
    super(message);
    this.name = 'PluginError';
  }
}

/** One tool. `name` is the command name the model writes (`Calculate`, `Solve`, ...). */
export interface Plugin {
  readonly name: string;
  run(args: string, opts?: RunOptions): Promise<PluginResult>;
}

/** Maximum length of any argument a plugin accepts (longer input is refused, never parsed). */
export const MAX_ARG_CHARS = 2000;

/**
 * A deadline helper for CPU-bound plugins: `check()` throws PluginError('timeout') once the
 * budget is spent or the signal aborted. Call it inside loops.
 */
export function deadline(opts: RunOptions = {}): { check(): void } {
  const end = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let n = 0;
  return {
    check() {
      if (opts.signal?.aborted) throw new PluginError('timeout', 'cancelled');
      if ((++n & 63) === 0 && Date.now() > end) throw new PluginError('timeout', `timed out after ${opts.timeoutMs} ms`);
    },
  };
}

/** Combines a caller's signal with a timeout into one AbortSignal (for fetch). */
export function timeoutSignal(opts: RunOptions = {}, fallbackMs = 10_000): AbortSignal {
  const t = AbortSignal.timeout(opts.timeoutMs ?? fallbackMs);
  return opts.signal ? AbortSignal.any([opts.signal, t]) : t;
}
