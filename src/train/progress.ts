/**
 * A one-line progress bar for long loops: done/total, a bar, rate (e.g. tokens/s) and ETA.
 * Redraws in place on a TTY (at most ~10 times a second) and prints a plain line every
 * `plainEvery` seconds otherwise (logs, CI). Not here: multi-bar layouts.
 */

export interface ProgressOptions {
  total: number;
  /** Label of the rate unit, e.g. 'tok'. */
  unit?: string;
  stream?: NodeJS.WriteStream;
  plainEvery?: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class Progress {
  private readonly start = performance.now();
  private last = 0;
  private units = 0;
  private readonly stream: NodeJS.WriteStream;

  private readonly startDone: number;

  constructor(private readonly o: ProgressOptions, private done = 0) {
    this.stream = o.stream ?? process.stderr;
    this.startDone = done;
  }

  /** Advances to `done` steps having processed `units` more units (e.g. tokens); `note` is appended. */
  update(done: number, units: number, note = ''): void {
    this.units += units;
    const now = performance.now();
    const elapsed = (now - this.start) / 1000;
    this.done = done;
    const tty = this.stream.isTTY;
    if (now - this.last < (tty ? 100 : (this.o.plainEvery ?? 30) * 1000) && done < this.o.total) return;
    this.last = now;
    const rate = this.units / Math.max(elapsed, 1e-9);
    const stepsPerS = (done - this.startDone) / Math.max(elapsed, 1e-9);
    const eta = stepsPerS > 0 ? (this.o.total - done) / stepsPerS : Infinity;
    const w = 24;
    const fill = Math.round((w * done) / Math.max(this.o.total, 1));
    const line = `${'█'.repeat(fill)}${'░'.repeat(w - fill)} ${done}/${this.o.total} ${rate.toFixed(0)} ${this.o.unit ?? 'it'}/s ETA ${formatDuration(eta)} ${note}`;
    this.stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
