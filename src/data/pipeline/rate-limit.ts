/**
 * Token buckets for `--rpm` (requests per minute) and `--tpm` (tokens per minute): each refills
 * continuously at rate/60 per second up to a burst of one second's worth (at least one request,
 * or one request's tokens), so a run starts smoothly instead of spending a minute's budget at once.
 * Callers wait in FIFO order. Token cost is an estimate made before the call (prompt characters / 4
 * plus max_tokens); the real usage is not known until the answer. Deliberately no server feedback
 * (Retry-After is handled by the retry layer).
 */

export class TokenBucket {
  private level: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  /** `perMinute` tokens per minute; `burst` is the bucket size (default one second's worth, at least 1). */
  constructor(readonly perMinute: number, readonly burst = Math.max(1, perMinute / 60), private readonly now = () => performance.now()) {
    if (!(perMinute > 0)) throw new Error(`rate must be positive, got ${perMinute}`);
    this.level = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.level = Math.min(this.burst, this.level + ((t - this.last) / 60_000) * this.perMinute);
    this.last = t;
  }

  /** Waits until `n` tokens are available and takes them (n above the burst waits for a full bucket, then goes into debt). */
  take(n = 1): Promise<void> {
    const run = async (): Promise<void> => {
      const need = Math.min(n, this.burst);
      for (;;) {
        this.refill();
        if (this.level >= need) {
          this.level -= n;
          return;
        }
        const ms = ((need - this.level) / this.perMinute) * 60_000;
        await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(ms))));
      }
    };
    const p = this.queue.then(run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

export interface RateLimits {
  readonly rpm?: number;
  readonly tpm?: number;
}

/** A limiter over both buckets; `acquire(tokens)` resolves when a request of that size may go. */
export function rateLimiter(l: RateLimits): (tokens: number) => Promise<void> {
  const rpm = l.rpm ? new TokenBucket(l.rpm) : null;
  const tpm = l.tpm ? new TokenBucket(l.tpm, Math.max(l.tpm / 60, 1)) : null;
  return async (tokens) => {
    if (rpm) await rpm.take(1);
    if (tpm) await tpm.take(tokens);
  };
}
