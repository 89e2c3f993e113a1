/**
 * A progress line on stderr: done/total, a bar, items per second, ETA, tokens, retries and errors.
 * On a terminal it redraws in place (at most 4 times a second); otherwise it prints a line every
 * 10 seconds and at the end, so logs stay readable. Deliberately no dependency and no colours.
 */

export interface ProgressState {
  total: number;
  done: number;
  errors: number;
  tokens: number;
  retries: number;
}

export class Progress {
  private readonly t0 = performance.now();
  private last = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly label: string, private readonly state: () => ProgressState, private readonly out: NodeJS.WriteStream | null = process.stderr) {
    if (out) this.timer = setInterval(() => this.draw(false), out.isTTY ? 250 : 10_000).unref();
  }

  /** The progress line for the current state. */
  line(): string {
    const s = this.state();
    const secs = (performance.now() - this.t0) / 1000;
    const rate = s.done / Math.max(secs, 1e-3);
    const frac = s.total ? Math.min(1, s.done / s.total) : 1;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
    const eta = rate > 0 ? Math.max(0, (s.total - s.done) / rate) : NaN;
    const tok = s.tokens >= 1000 ? `${(s.tokens / 1000).toFixed(1)}k` : String(s.tokens);
    return `${this.label} ${s.done}/${s.total} [${bar}] ${(frac * 100).toFixed(0)}% ${rate.toFixed(1)}/s ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'} tok ${tok} retries ${s.retries} err ${s.errors}`;
  }

  private draw(final: boolean): void {
    if (!this.out) return;
    const now = performance.now();
    if (!final && now - this.last < 200) return;
    this.last = now;
    this.out.write(this.out.isTTY ? `\r${this.line()}\x1b[K${final ? '\n' : ''}` : `${this.line()}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw(true);
  }
}
