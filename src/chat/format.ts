/**
 * The MOSS-003 conversation format, both directions, in one place (DESIGN.md §6):
 *  - render an SFT record (`meta_instruction`, `num_turns`, `chat.turn_N.{Human, Inner Thoughts,
 *    Commands, Tool Responses, MOSS}`) to text, to ids and to training labels, exactly as
 *    OpenMOSS/MOSS `finetune_moss.py` (SFTDataset.load_data / __getitem__) does;
 *  - parse text (a transcript or a model's output) back into turns and fields.
 * Roles: `<|Human|>: …<eoh>`, `<|Inner Thoughts|>: …<eot>`, `<|Commands|>: …<eoc>`,
 * `<|Results|>: …<eor>`, `<|MOSS|>: …<eom>`, each field followed by `\n`.
 * Deliberately not here: running plugins (./loop.ts), the meta instruction text (./meta.ts).
 */
import type { Tokenizer } from '../tokenizer/types.js';

/** Field names as the SFT data spells them, in order. */
export const FIELDS = ['Human', 'Inner Thoughts', 'Commands', 'Tool Responses', 'MOSS'] as const;
export type FieldName = (typeof FIELDS)[number];

/** Header and end token of each field. */
export const ROLE: Record<FieldName, { readonly head: string; readonly end: string }> = {
  Human: { head: '<|Human|>:', end: '<eoh>' },
  'Inner Thoughts': { head: '<|Inner Thoughts|>:', end: '<eot>' },
  Commands: { head: '<|Commands|>:', end: '<eoc>' },
  'Tool Responses': { head: '<|Results|>:', end: '<eor>' },
  MOSS: { head: '<|MOSS|>:', end: '<eom>' },
};

/** Control strings that user or plugin text must never carry into the prompt. */
export const CONTROL_TOKENS = ['<eoh>', '<eot>', '<eoc>', '<eor>', '<eom>', '<|endoftext|>'];

/** One turn: each field's full text (`<|Human|>: hi<eoh>\n`), as in the data. */
export type TurnFields = Partial<Record<FieldName, string>>;

/** One record of `../shared/data/moss-sft/*.jsonl`. */
export interface SftRecord {
  readonly conversation_id: string | number;
  readonly meta_instruction: string;
  readonly num_turns: number;
  readonly chat: Record<string, TurnFields>;
  readonly category?: string;
}

/** Validates the shape of a parsed JSON line; throws a one-line reason. */
export function checkRecord(x: unknown): SftRecord {
  const r = x as SftRecord;
  if (!r || typeof r !== 'object') throw new Error('not a JSON object');
  if (typeof r.meta_instruction !== 'string') throw new Error('meta_instruction is not a string');
  if (!Number.isInteger(Number(r.num_turns)) || Number(r.num_turns) < 0) throw new Error('num_turns is not a non-negative integer');
  if (!r.chat || typeof r.chat !== 'object') throw new Error('chat is not an object');
  for (let i = 1; i <= Number(r.num_turns); i++) {
    const t = r.chat[`turn_${i}`];
    if (!t || typeof t !== 'object') throw new Error(`chat.turn_${i} is missing`);
    for (const [k, v] of Object.entries(t)) if (typeof v !== 'string') throw new Error(`chat.turn_${i}.${k} is not a string`);
  }
  return r;
}

/** The record's turns in order (`turn_1` … `turn_<num_turns>`). */
export function recordTurns(r: SftRecord): TurnFields[] {
  return Array.from({ length: Number(r.num_turns) }, (_, i) => r.chat[`turn_${i + 1}`]);
}

/** The full text: meta instruction followed by every field of every turn, verbatim. */
export function renderText(r: SftRecord): string {
  return r.meta_instruction + recordTurns(r).map((t) => Object.values(t).join('')).join('');
}

export interface RenderOptions {
  /** Turns that would make the sequence longer than this are dropped with all that follow. Default 2048. */
  readonly maxLen?: number;
  /** Named option beyond finetune_moss.py: false puts label -100 on every Human field. Default true. */
  readonly humanLoss?: boolean;
}

export interface Rendered {
  readonly inputIds: number[];
  /** Same length as inputIds; -100 = no loss (labels are not shifted, as in HF causal LM). */
  readonly labels: number[];
  /** How many turns were kept. */
  readonly turns: number;
  /** [start, end) token spans with label -100, as finetune_moss.py records them. */
  readonly noLossSpans: [number, number][];
}

/**
 * Ids and labels exactly as finetune_moss.py builds them: the meta instruction is encoded alone
 * and gets -100; per turn each field's text is encoded separately (control tokens recognised) and
 * concatenated; for `Tool Responses` the span [start+5, end-2) gets -100, so the `<|Results|>:`
 * header tokens plus the next token, and the closing `<eor>\n`, keep their loss. A turn that would
 * pass `maxLen` is dropped with all that follow; returns null when no turn is left (skipped).
 */
export function renderSft(r: SftRecord, tok: Tokenizer, opts: RenderOptions = {}): Rendered | null {
  const maxLen = opts.maxLen ?? 2048;
  const enc = (s: string): number[] => tok.encode(s, { special: 'allow' });
  const meta = enc(r.meta_instruction);
  const ids = [...meta];
  const spans: [number, number][] = [[0, meta.length]];
  let turns = 0;
  for (const turn of recordTurns(r)) {
    const cur: number[] = [];
    const curSpans: [number, number][] = [];
    for (const [key, value] of Object.entries(turn)) {
      const fid = enc(value);
      const start = ids.length + cur.length;
      if (key === 'Tool Responses') curSpans.push([start + 5, start + fid.length - 2]);
      if (key === 'Human' && opts.humanLoss === false) curSpans.push([start, start + fid.length]);
      cur.push(...fid);
    }
    if (ids.length + cur.length > maxLen) break;
    ids.push(...cur);
    spans.push(...curSpans);
    turns++;
  }
  if (turns === 0) return null;
  const labels = ids.slice();
  // Python slice semantics: an empty or reversed span masks nothing.
  for (const [s, e] of spans) for (let i = s; i < Math.min(e, labels.length); i++) labels[i] = -100;
  return { inputIds: ids, labels, turns, noLossSpans: spans };
}

/** A parsed field: its name, full text (with header, end token and newline) and body. */
export interface ParsedField {
  readonly name: FieldName;
  readonly text: string;
  readonly body: string;
  /** False when the end token was missing (a truncated generation). */
  readonly closed: boolean;
}

/** The body between `<|X|>:` and the end token, without the one conventional leading space. */
export function fieldBody(name: FieldName, text: string): string {
  const { head, end } = ROLE[name];
  let s = text.startsWith(head) ? text.slice(head.length) : text;
  const e = s.indexOf(end);
  if (e >= 0) s = s.slice(0, e);
  return s.startsWith(' ') ? s.slice(1) : s;
}

/**
 * Splits text into fields starting at `pos`: each field runs from its header to its end token and
 * one following `\n`. Stops at text that does not start with a known header.
 */
export function parseFields(text: string, pos = 0): { fields: ParsedField[]; rest: number } {
  const fields: ParsedField[] = [];
  for (;;) {
    const name = FIELDS.find((f) => text.startsWith(ROLE[f].head, pos));
    if (!name) return { fields, rest: pos };
    const endTok = ROLE[name].end;
    const e = text.indexOf(endTok, pos + ROLE[name].head.length);
    let stop = e < 0 ? text.length : e + endTok.length;
    if (e >= 0 && text[stop] === '\n') stop++;
    const t = text.slice(pos, stop);
    fields.push({ name, text: t, body: fieldBody(name, t), closed: e >= 0 });
    pos = stop;
    if (e < 0) return { fields, rest: pos };
  }
}

/** Parses a whole transcript (meta instruction + turns) back into an SFT-shaped record. */
export function parseTranscript(text: string, id: string | number = ''): SftRecord {
  const first = text.indexOf(ROLE.Human.head);
  const meta = first < 0 ? text : text.slice(0, first);
  const { fields, rest } = parseFields(text, meta.length);
  if (rest !== text.length) throw new Error(`unparsed text at offset ${rest}`);
  const turns: TurnFields[] = [];
  for (const f of fields) {
    if (f.name === 'Human' || turns.length === 0) turns.push({});
    turns[turns.length - 1][f.name] = f.text;
  }
  const chat: Record<string, TurnFields> = {};
  turns.forEach((t, i) => (chat[`turn_${i + 1}`] = t));
  return { conversation_id: id, meta_instruction: meta, num_turns: turns.length, chat };
}

/** Removes control tokens and role headers from untrusted text (user input, plugin output). */
export function neutralize(text: string): string {
  let s = text;
  for (const t of CONTROL_TOKENS) s = s.split(t).join('');
  // `<|Human|>:` etc. are plain text to the tokenizer but would confuse parseFields.
  return s.replace(/<\|(Human|Inner Thoughts|Commands|Results|MOSS)\|>/g, '<$1>');
}
