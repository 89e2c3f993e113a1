/**
 * Streaming text helpers for the routes:
 *  - `FieldStream` splits model output as it arrives into MOSS fields (`Inner Thoughts`,
 *    `Commands`, `Results`, `MOSS`) and yields body text per field, holding back only what could
 *    still become a header (`<|MOSS|>:`) or an end token (`<eom>`);
 *  - `StopStrings` cuts text at the first user stop string, holding back a possible prefix.
 * Follows llama.cpp server's partial-stop handling. Deliberately works on text, not ids.
 */
import { FIELDS, ROLE, type FieldName } from '../chat/format.js';

export interface FieldText {
  readonly field: FieldName;
  readonly text: string;
  /** True on the piece that closes the field (its end token arrived). */
  readonly closed: boolean;
}

const HEADS = FIELDS.map((f) => [f, ROLE[f].head] as const);

/** Length of the longest suffix of `s` that is a proper prefix of one of `words`. */
function heldBack(s: string, words: readonly string[]): number {
  let best = 0;
  for (const w of words) for (let k = Math.min(w.length - 1, s.length); k > best; k--) if (s.endsWith(w.slice(0, k))) { best = k; break; }
  return best;
}

export class FieldStream {
  private buf = '';
  private field: FieldName | undefined;
  private fresh = false; // just after a header: drop one leading space

  /** Starts inside `field` (e.g. 'MOSS' when the prompt ended with `<|MOSS|>:`). */
  constructor(field?: FieldName) {
    this.field = field;
    this.fresh = field !== undefined;
  }

  /** The field being written now. */
  get current(): FieldName | undefined {
    return this.field;
  }

  push(text: string): FieldText[] {
    this.buf += text;
    return this.drain(false);
  }

  /** Whatever is left (a generation that stopped mid-field). */
  end(): FieldText[] {
    return this.drain(true);
  }

  private drain(final: boolean): FieldText[] {
    const out: FieldText[] = [];
    for (;;) {
      if (this.field === undefined) {
        const s = this.buf.replace(/^\s+/, '');
        const hit = HEADS.find(([, h]) => s.startsWith(h));
        if (hit) {
          this.field = hit[0];
          this.fresh = true;
          this.buf = s.slice(hit[1].length);
          continue;
        }
        if (!final && HEADS.some(([, h]) => h.startsWith(s))) {
          this.buf = s;
          return out;
        }
        // Text outside any field is treated as the reply.
        if (!s) return out;
        this.field = 'MOSS';
        this.fresh = false;
        this.buf = s;
      }
      if (this.fresh) {
        if (!this.buf && !final) return out;
        if (this.buf.startsWith(' ')) this.buf = this.buf.slice(1);
        this.fresh = false;
      }
      const end = ROLE[this.field].end;
      const e = this.buf.indexOf(end);
      if (e >= 0) {
        out.push({ field: this.field, text: this.buf.slice(0, e), closed: true });
        this.buf = this.buf.slice(e + end.length);
        this.field = undefined;
        continue;
      }
      const hold = final ? 0 : heldBack(this.buf, [end]);
      const text = this.buf.slice(0, this.buf.length - hold);
      if (text) out.push({ field: this.field, text, closed: false });
      this.buf = this.buf.slice(this.buf.length - hold);
      return out;
    }
  }
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
