/**
 * The endpoint caller every pipeline uses: cache lookup → in-flight de-duplication → rate limit →
 * one attempt (./client.ts) → retries with exponential backoff and jitter (p-retry), waiting at
 * least the server's Retry-After on 429/503 — then the answer is cached. Counts calls, cache hits,
 * retries, failures and tokens for the progress bar and the final summary.
 * Follows ALIGNMENT.md §3 "a production generator needs". Deliberately no concurrency bound here:
 * the runner bounds how many items are in flight (./runner.ts).
 */
import pRetry, { AbortError } from 'p-retry';
import { CallCache, requestKey } from './cache.js';
import { chatOnce, EndpointError, type ChatRequest, type ChatResult, type EndpointOptions } from './client.js';
import { rateLimiter, type RateLimits } from './rate-limit.js';

/** Anything that answers a chat request (an endpoint, a cache, a scripted judge in a test). */
export type ChatFn = (req: ChatRequest, signal?: AbortSignal) => Promise<ChatResult>;

export interface CallerOptions extends EndpointOptions, RateLimits {
  /** Retries after the first attempt (default 6). */
  readonly maxRetries?: number;
  /** First backoff in ms (default 500); doubles each retry, times a random factor in [1, 2). */
  readonly minBackoffMs?: number;
  /** Longest backoff in ms (default 30 000). Also caps a server's Retry-After. */
  readonly maxBackoffMs?: number;
  /** Cache folder (`--cache`); none: no cache. */
  readonly cacheDir?: string;
  /** Called after each failed attempt (for logs). */
  readonly onRetry?: (e: EndpointError, attempt: number) => void;
}

export interface CallStats {
  /** HTTP attempts made (including failed ones). */
  calls: number;
  cacheHits: number;
  retries: number;
  /** Requests that failed after all retries (or at once, for a non-retryable error). */
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

export interface Caller {
  readonly chat: ChatFn;
  readonly stats: CallStats;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res, rej) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); rej(signal.reason); }, { once: true });
  });

/** Rough token count of a request before it is sent (for --tpm): characters / 4 plus max_tokens. */
export function estimateTokens(req: ChatRequest): number {
  const chars = req.messages.reduce((s, m) => s + m.content.length, 0);
  return Math.ceil(chars / 4) + (req.max_tokens ?? 256);
}

export function createCaller(o: CallerOptions): Caller {
  const stats: CallStats = { calls: 0, cacheHits: 0, retries: 0, failed: 0, promptTokens: 0, completionTokens: 0 };
  const cache = o.cacheDir ? new CallCache(o.cacheDir) : null;
  const limit = rateLimiter(o);
  const inflight = new Map<string, Promise<ChatResult>>();
  const maxBackoff = o.maxBackoffMs ?? 30_000;

  const attempt = async (req: ChatRequest, signal?: AbortSignal): Promise<ChatResult> => {
    await limit(estimateTokens(req));
    stats.calls++;
    try {
      return await chatOnce(req, o, signal);
    } catch (e) {
      if (e instanceof EndpointError && !e.retryable) throw new AbortError(e);
      throw e;
    }
  };

  const remote = async (req: ChatRequest, signal?: AbortSignal): Promise<ChatResult> => {
    try {
      const r = await pRetry(() => attempt(req, signal), {
        retries: o.maxRetries ?? 6,
        factor: 2,
        minTimeout: o.minBackoffMs ?? 500,
        maxTimeout: maxBackoff,
        randomize: true,
        signal,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!(error instanceof EndpointError)) return;
          o.onRetry?.(error, attemptNumber);
          if (retriesLeft > 0 && error.retryable) {
            stats.retries++;
            // honour the server's wait on top of our own backoff
            if (error.retryAfterMs) await sleep(Math.min(error.retryAfterMs, maxBackoff), signal);
          }
        },
        shouldRetry: ({ error }) => error instanceof EndpointError && error.retryable,
      });
      stats.promptTokens += r.usage?.prompt_tokens ?? 0;
      stats.completionTokens += r.usage?.completion_tokens ?? 0;
      return r;
    } catch (e) {
      stats.failed++;
      throw e instanceof AbortError ? e.originalError : e;
    }
  };

  const chat: ChatFn = async (req, signal) => {
    const key = requestKey(req, o.model);
    const hit = cache?.get(key);
    if (hit) {
      stats.cacheHits++;
      return hit;
    }
    const running = inflight.get(key);
    if (running) return running;
    const p = remote(req, signal).then((r) => {
      cache?.set(key, r);
      return r;
    }).finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };
  return { chat, stats };
}
