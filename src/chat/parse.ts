/**
 * Reads MOSS text back into fields — the other direction of ./format.ts, and the only parser of
 * model output (chat loop, server, CLI display, eval). `FieldStream` works as text arrives, holding
 * back only what could still become a header or an end token; `parseFields` is the same stream run
 * over a whole text. Repair, so that no markup or placeholder reaches a user as reply text:
 *  - a missing end token: the next header (or the end of the text) closes the field;
 *  - a wrong end token (`<|MOSS|>: \nNone\n<eor>`): it closes the field, and a body that was still
 *    only a `None` placeholder is given to the field that token ends (here the results);
 *  - text outside any field counts as the reply; `<|endoftext|>` closes whatever is open.
 * Follows llama.cpp server's partial-stop handling. Deliberately no ids here (text only).
 */
import { FIELDS, ROLE, type FieldName, type SftRecord, type TurnFields } from './format.js';

export interface FieldText {
  readonly field: FieldName;
  readonly text: string;
  /** True on the piece that ends the field (an end token, a repair, or the end of the stream). */
  readonly done: boolean;
  /** True when the field's own end token ended it (false for a repair or a truncation). */
  readonly closed: boolean;
  /** The whole field was only a `None` placeholder or blank (callers showing text skip it). */
  readonly placeholder?: boolean;
}

const HEADS = FIELDS.map((f) => [f, ROLE[f].head] as const);
const ENDS: [string, FieldName | null][] = [...FIELDS.map((f) => [ROLE[f].end, f] as [string, FieldName]), ['<|endoftext|>', null]];
const MARKS = [...HEADS.map(([, h]) => h), ...ENDS.map(([e]) => e)];
/** A body that may still turn out to be the `None` placeholder. */
const PLACEHOLDER = /^\s*(N(o(ne?)?)?)?\s*$/;

/** Length of the longest suffix of `s` that is a proper prefix of one of `words`. */
export function heldBack(s: string, words: readonly string[]): number {
  let best = 0;
  for (const w of words) for (let k = Math.min(w.length - 1, s.length); k > best; k--) if (s.endsWith(w.slice(0, k))) { best = k; break; }
  return best;
}

export class FieldStream {
  private buf = '';
  private field: FieldName | undefined;
  private fresh = false; // just after a header: drop one leading space
  private held = true; // the body so far is only whitespace / a `None` prefix: not yet emitted

  /**
   * Starts inside `field` (e.g. 'MOSS' when the prompt ended with `<|MOSS|>:`); `midBody` when the
   * prompt already holds part of its body (a forced `Search("`), so nothing is held or trimmed.
   */
  constructor(field?: FieldName, midBody = false) {
    if (field) this.enter(field);
    if (midBody) this.fresh = this.held = false;
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

  private enter(f: FieldName): void {
    this.field = f;
    this.fresh = true;
    this.held = true;
  }

  private drain(final: boolean): FieldText[] {
    const out: FieldText[] = [];
    for (;;) {
      if (this.field === undefined) {
        const s = this.buf.replace(/^\s+/, '');
        const hit = HEADS.find(([, h]) => s.startsWith(h));
        if (hit) {
          this.enter(hit[0]);
          this.buf = s.slice(hit[1].length);
          continue;
        }
        const end = ENDS.find(([e]) => s.startsWith(e));
        if (end) {
          this.buf = s.slice(end[0].length); // a stray end token outside any field: dropped
          continue;
        }
        if (!final && HEADS.some(([, h]) => h.startsWith(s))) {
          this.buf = s;
          return out;
        }
        if (!s) {
          this.buf = '';
          return out;
        }
        // Text outside any field is treated as the reply.
        this.enter('MOSS');
        this.fresh = false;
        this.buf = s;
      }
      const f = this.field as FieldName;
      if (this.fresh) {
        if (!this.buf && !final) return out;
        if (this.buf.startsWith(' ')) this.buf = this.buf.slice(1);
        this.fresh = false;
      }
      // the first marker: an end token (right or wrong) or a header (missing end token)
      let at = -1;
      let mark = '';
      for (const m of MARKS) {
        const i = this.buf.indexOf(m);
        if (i >= 0 && (at < 0 || i < at)) [at, mark] = [i, m];
      }
      if (at >= 0) {
        const body = this.buf.slice(0, at);
        const owner = ENDS.find(([e]) => e === mark)?.[1];
        // a wrong end token after nothing but a placeholder: the text belonged to that token's field
        const name = owner && owner !== f && this.held && PLACEHOLDER.test(body) ? owner : f;
        out.push({ field: name, text: body, done: true, closed: mark === ROLE[name].end, ...(this.held && PLACEHOLDER.test(body) ? { placeholder: true } : {}) });
        this.field = undefined;
        this.buf = owner === undefined ? this.buf.slice(at) : this.buf.slice(at + mark.length);
        if (owner !== undefined && this.buf.startsWith('\n')) this.buf = this.buf.slice(1);
        continue;
      }
      if (this.held && PLACEHOLDER.test(final ? this.buf : this.buf.slice(0, this.buf.length - heldBack(this.buf, MARKS)))) {
        if (!final) return out; // maybe a placeholder: wait
        out.push({ field: f, text: this.buf, done: true, closed: false, placeholder: true });
        this.buf = '';
        this.field = undefined;
        return out;
      }
      this.held = false;
      const hold = final ? 0 : heldBack(this.buf, MARKS);
      const text = this.buf.slice(0, this.buf.length - hold);
      this.buf = this.buf.slice(this.buf.length - hold);
      if (text || final) out.push({ field: f, text, done: final, closed: false });
      if (final) this.field = undefined;
      return out;
    }
  }
}

/** A parsed field: its name and body (without header, end token and the conventional space). */
export interface ParsedField {
  readonly name: FieldName;
  readonly body: string;
  /** True when its own end token ended it (false: repaired or truncated). */
  readonly closed: boolean;
}

/** Joins FieldStream pieces into fields as they arrive. */
export class FieldCollector {
  readonly fields: ParsedField[] = [];
  private open = false;

  add(pieces: readonly FieldText[]): this {
    for (const p of pieces) {
      const last = this.fields[this.fields.length - 1];
      if (this.open && last.name === p.field) this.fields[this.fields.length - 1] = { name: p.field, body: last.body + p.text, closed: p.closed };
      else this.fields.push({ name: p.field, body: p.text, closed: p.closed });
      this.open = !p.done;
    }
    return this;
  }
}

/**
 * Model output (or a transcript) split into fields, with the repairs above; `open` names the field
 * the text starts in (the prompt ended with its header).
 * @example parseFields(' hi<eom>', 'MOSS') // [{ name: 'MOSS', body: 'hi', closed: true }]
 */
export function parseFields(text: string, open?: FieldName): ParsedField[] {
  const fs = new FieldStream(open);
  return new FieldCollector().add(fs.push(text)).add(fs.end()).fields;
}

/** Parses a whole transcript (meta instruction + turns) back into an SFT-shaped record. */
export function parseTranscript(text: string, id: string | number = ''): SftRecord {
  const first = text.indexOf(ROLE.Human.head);
  const meta = first < 0 ? text : text.slice(0, first);
  const turns: TurnFields[] = [];
  for (const f of parseFields(text.slice(meta.length))) {
    if (f.name === 'Human' || turns.length === 0) turns.push({});
    turns[turns.length - 1][f.name] = `${ROLE[f.name].head}${f.name === 'Tool Responses' && f.body.startsWith('\n') ? '' : ' '}${f.body}${ROLE[f.name].end}\n`;
  }
  const chat: Record<string, TurnFields> = {};
  turns.forEach((t, i) => (chat[`turn_${i + 1}`] = t));
  return { conversation_id: id, meta_instruction: meta, num_turns: turns.length, chat };
}
