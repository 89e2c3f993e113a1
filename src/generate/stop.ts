/**
 * Stop strings, in one place: `StopStrings` cuts a text stream at the first of them, holding back a
 * tail that may still become one (llama.cpp server's partial-stop handling). Used by the sequence
 * state (./sequence.ts) and, for reply text, by the server. Deliberately works on text, not ids.
 */

/** Length of the longest suffix of `s` that is a proper prefix of one of `words`. */
export function heldBack(s: string, words: readonly string[]): number {
  let best = 0;
  for (const w of words) for (let k = Math.min(w.length - 1, s.length); k > best; k--) if (s.endsWith(w.slice(0, k))) { best = k; break; }
  return best;
}

/** Cuts a text stream at the first of `stops`. */
export class StopStrings {
  private buf = '';
  stopped = false;
  constructor(private readonly stops: readonly string[]) {}

  /** Text safe to emit now; sets `stopped` when a stop string was found (the text before it is returned). */
  push(text: string): string {
    if (this.stopped) return '';
    if (!this.stops.length) return text;
    this.buf += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.buf.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.buf.slice(0, cut);
      this.buf = '';
      return out;
    }
    const hold = heldBack(this.buf, this.stops);
    const out = this.buf.slice(0, this.buf.length - hold);
    this.buf = this.buf.slice(this.buf.length - hold);
    return out;
  }

  flush(): string {
    const out = this.stopped ? '' : this.buf;
    this.buf = '';
    return out;
  }
}
