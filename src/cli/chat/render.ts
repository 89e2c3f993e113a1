/**
 * Streaming display of a MOSS turn in a terminal, from the chat loop's field events (already read
 * back by src/chat/parse.ts: no markup and no `None` placeholders reach here): inner thoughts,
 * commands and plugin results dimmed with short labels, the reply as `MOSS: …`. Colour (ANSI dim)
 * only on a TTY without NO_COLOR (https://no-color.org). Deliberately no parsing, no cursor
 * movement or line editing.
 */
import type { FieldName } from '../../chat/format.js';
import type { LoopEvent } from '../../chat/loop.js';

/** True when `stream` should get ANSI styling. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export const dim = (on: boolean, s: string): string => (on && s ? `\x1b[2m${s}\x1b[22m` : s);

const LABEL: Partial<Record<FieldName, string>> = { 'Inner Thoughts': 'Inner Thoughts:', Commands: 'Commands:', 'Tool Responses': 'Results:', MOSS: 'MOSS:' };

/** Prints the fields of a turn as they stream. */
export class TurnPrinter {
  private field: FieldName | undefined;
  private atLineStart = true;
  private dimOn = false;

  constructor(private readonly write: (s: string) => void, private readonly color: boolean) {}

  /** A piece of a field (a new field gets its label on a line of its own). */
  event(e: LoopEvent): void {
    if (e.type !== 'field' || !LABEL[e.field]) return;
    const aside = e.field !== 'MOSS';
    if (this.field !== e.field) {
      if (!this.atLineStart) this.out('\n', this.dimOn);
      this.out(LABEL[e.field]!, aside);
      this.field = e.field;
      // multi-line results start on the next line; the rest after one space
      if (e.text && !e.text.startsWith('\n')) this.out(e.field === 'Tool Responses' ? '\n' : ' ', aside);
    }
    this.out(e.text, aside);
    if (e.done) {
      if (!this.atLineStart) this.out('\n', aside);
      this.field = undefined;
    }
  }

  /** Ends the turn's output with a newline when needed. */
  finish(): void {
    if (!this.atLineStart) this.out('\n', this.dimOn);
    if (this.dimOn) this.write('\x1b[22m');
    this.dimOn = false;
    this.field = undefined;
  }

  /** A whole line of its own (e.g. a plugin message), dimmed. */
  note(s: string): void {
    if (!this.atLineStart) this.out('\n', this.dimOn);
    this.out(`${s}\n`, true);
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
}
