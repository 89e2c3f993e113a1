/**
 * Streaming display of a MOSS turn in a terminal: the model's raw output (`<|Inner Thoughts|>: …
 * <eot>\n<|Commands|>: …<eoc>` then ` reply<eom>`) arrives in pieces; inner thoughts, commands
 * and plugin results are shown dimmed with short labels, the reply as `MOSS: …`, and the control
 * tokens are hidden. A tail that may be the start of a marker (`<eo`, `<|Comm`) is held back
 * until the next piece decides it. Colour (ANSI dim) only on a TTY without NO_COLOR
 * (https://no-color.org). Deliberately no cursor movement or line editing.
 */

/** True when `stream` should get ANSI styling. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export const dim = (on: boolean, s: string): string => (on && s ? `\x1b[2m${s}\x1b[22m` : s);

const HEADERS: Record<string, { label: string; mode: Mode }> = {
  '<|Inner Thoughts|>:': { label: 'Inner Thoughts:', mode: 'aside' },
  '<|Commands|>:': { label: 'Commands:', mode: 'aside' },
  '<|Results|>:': { label: 'Results:', mode: 'aside' },
  '<|MOSS|>:': { label: 'MOSS:', mode: 'reply' },
};
const ENDS = ['<eoh>', '<eot>', '<eoc>', '<eor>', '<eom>', '<|endoftext|>'];
const MARKERS = [...Object.keys(HEADERS), ...ENDS];

type Mode = 'aside' | 'reply';

/** Prints one generation after another of a turn, as they stream. */
export class TurnPrinter {
  private buf = '';
  private mode: Mode = 'reply';
  private atLineStart = true;
  private eatNewline = false;
  private dimOn = false;

  constructor(private readonly write: (s: string) => void, private readonly color: boolean) {}

  /** A generation starts after `promptText` (the decoded prompt): shows the results just run, and the MOSS label when the prompt ends with `<|MOSS|>:`. */
  begin(promptText: string): void {
    this.buf = '';
    this.eatNewline = false;
    if (!promptText.endsWith('<|MOSS|>:')) {
      this.mode = 'aside'; // the tool phase: thoughts and commands until a <|MOSS|>: header
      return;
    }
    const turnStart = promptText.lastIndexOf('<|Human|>:');
    const r = promptText.lastIndexOf('<|Results|>:');
    if (r > turnStart) {
      const body = promptText.slice(r + '<|Results|>:'.length, promptText.indexOf('<eor>', r)).trim();
      if (body && body !== 'None') this.line(`Results:\n${body}`, true);
    }
    this.header('<|MOSS|>:');
  }

  /** A piece of model output. */
  text(s: string): void {
    this.buf += s;
    this.drain(false);
  }

  /** The generation ended: prints what was held back. */
  end(): void {
    this.drain(true);
  }

  /** Ends the turn's output with a newline when needed. */
  finish(): void {
    if (!this.atLineStart) this.out('\n', this.dimOn);
    if (this.dimOn) this.write('\x1b[22m');
    this.dimOn = false;
  }

  /** A whole line of its own (e.g. a plugin message), dimmed. */
  note(s: string): void {
    this.line(s, true);
  }

  private line(s: string, dimmed: boolean): void {
    if (!this.atLineStart) this.out('\n', this.dimOn);
    this.out(`${s}\n`, dimmed);
  }

  /** Writes `s`, switching the dim style only where it changes (fewer escape codes). */
  private out(s: string, dimmed = false): void {
    if (!s) return;
    if (this.color && dimmed !== this.dimOn) {
      this.write(dimmed ? '\x1b[2m' : '\x1b[22m');
      this.dimOn = dimmed;
    }
    this.write(s);
    this.atLineStart = s.endsWith('\n');
  }

  private header(h: string): void {
    const { label, mode } = HEADERS[h];
    if (!this.atLineStart) this.out('\n', this.dimOn);
    this.mode = mode;
    this.out(label, mode === 'aside');
  }

  private body(s: string): void {
    if (this.eatNewline && s.length) {
      if (s.startsWith('\n')) s = s.slice(1);
      this.eatNewline = false;
    }
    this.out(s, this.mode === 'aside');
  }

  private drain(final: boolean): void {
    for (;;) {
      let at = -1;
      let m = '';
      for (const k of MARKERS) {
        const i = this.buf.indexOf(k);
        if (i >= 0 && (at < 0 || i < at)) [at, m] = [i, k];
      }
      if (at < 0) break;
      this.body(this.buf.slice(0, at));
      this.buf = this.buf.slice(at + m.length);
      if (m in HEADERS) this.header(m);
      else {
        if (!this.atLineStart && m !== '<eom>') this.out('\n', this.dimOn);
        this.eatNewline = true;
      }
    }
    let hold = 0;
    if (!final) {
      for (const k of MARKERS) for (let n = Math.min(k.length - 1, this.buf.length); n > hold; n--) if (this.buf.endsWith(k.slice(0, n))) hold = n;
    }
    this.body(this.buf.slice(0, this.buf.length - hold));
    this.buf = this.buf.slice(this.buf.length - hold);
  }
}
