/**
 * `StopStrings` cuts a text stream at the first of the user's stop strings, holding back a tail
 * that may still become one. Follows llama.cpp server's partial-stop handling. Deliberately works
 * on text, not ids (MOSS fields are read by src/chat/parse.ts).
 */
import { heldBack } from '../chat/parse.js';

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
