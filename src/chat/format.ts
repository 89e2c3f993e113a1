/**
 * The MOSS-003 conversation format, rendered in ONE walk for every caller (DESIGN.md §6, STYLE.md
 * "one renderer"; nanochat's render_conversation): SFT ids and labels, the chat loop's prompts, the
 * server's prompts, `/moss`, data generators and `moss data render` all turn a conversation into
 * typed segments here and encode them with `encodeSegments`. Each segment says who wrote it —
 * trusted template text (headers, end tokens, our meta instruction) or untrusted text (every field
 * body, a client's system message), which is defanged and encoded with control tokens disallowed,
 * so it can never become `<eom>` & co. — and whether it takes loss. Model output is read back with
 * ./parse.ts (same roles, with repair).
 * Layout: `<|Human|>: …<eoh>\n<|Inner Thoughts|>: …<eot>\n<|Commands|>: …<eoc>\n<|Results|>: …<eor>\n
 * <|MOSS|>: …<eom>\n`; labels follow OpenMOSS/MOSS `finetune_moss.py` (no loss on the meta
 * instruction and on the body of plugin results; with the MOSS tokenizer `<|Results|>:` is the 5
 * tokens its `[start+5, end-2)` span keeps).
 * Deliberately not here: running plugins (./loop.ts), the meta instruction text (./meta.ts).
 */
import { readFileSync } from 'node:fs';
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

/** Control tokens of the format (the end tokens and the tokenizer's end of text). */
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
    for (const [k, v] of Object.entries(t)) {
      if (typeof v !== 'string') throw new Error(`chat.turn_${i}.${k} is not a string`);
      if (!(k in ROLE)) throw new Error(`chat.turn_${i}.${k} is not a MOSS field (${FIELDS.join(', ')})`);
    }
  }
  return r;
}

/** The records of a JSONL file, strictly: the first bad line throws `<file>:<line>: <reason>`. */
export function readRecords(file: string): SftRecord[] {
  const out: SftRecord[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(checkRecord(JSON.parse(line)));
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${(e as Error).message}`, { cause: e });
    }
  });
  return out;
}

/** The record's turns in order (`turn_1` … `turn_<num_turns>`). */
export function recordTurns(r: SftRecord): TurnFields[] {
  return Array.from({ length: Number(r.num_turns) }, (_, i) => r.chat[`turn_${i + 1}`]);
}

/** The full text: meta instruction followed by every field of every turn, verbatim. */
export function renderText(r: SftRecord): string {
  return r.meta_instruction + recordTurns(r).map((t) => Object.values(t).join('')).join('');
}

/**
 * Untrusted text made harmless: control-token strings removed, role headers (`<|MOSS|>`, plain
 * text to the tokenizer but the format's structure) written as `<MOSS>`. Idempotent.
 */
export function defang(text: string): string {
  let s = text;
  for (const t of CONTROL_TOKENS) s = s.split(t).join('');
  return s.replace(/<\|(Human|Inner Thoughts|Commands|Results|MOSS)\|>/g, '<$1>');
}

/** The complete text of a field: `<|X|>:` + body + end token + `\n` (body as written, e.g. ` hi`). */
export function fieldText(name: FieldName, body: string): string {
  return `${ROLE[name].head}${body}${ROLE[name].end}\n`;
}

/**
 * The body of a field's text: between `<|X|>:` and its end token (the last one when the text ends
 * with `end\n`, as stored fields do), without the one conventional leading space.
 */
export function fieldBody(name: FieldName, text: string): string {
  const { head, end } = ROLE[name];
  let s = text.startsWith(head) ? text.slice(head.length) : text;
  const e = s.endsWith(`${end}\n`) ? s.length - end.length - 1 : s.indexOf(end);
  if (e >= 0) s = s.slice(0, e);
  return s.startsWith(' ') ? s.slice(1) : s;
}

/** The raw body of a field's text (header and end stripped, leading space kept). */
export function rawBody(name: FieldName, text: string): string {
  const { head, end } = ROLE[name];
  const s = text.startsWith(head) ? text.slice(head.length) : text;
  return s.endsWith(`${end}\n`) ? s.slice(0, -end.length - 1) : s.endsWith(end) ? s.slice(0, -end.length) : s;
}

/** A piece of the conversation: who wrote it and whether it takes loss. */
export interface Segment {
  readonly text: string;
  /** Trusted template text may hold control tokens; untrusted text is defanged and encoded with specials off. */
  readonly trusted: boolean;
  readonly loss: boolean;
}

/** Loss of a field's three parts (header, body, end) — false for no loss. */
export type FieldLoss = { readonly head: boolean; readonly body: boolean; readonly end: boolean };
const ALL: FieldLoss = { head: true, body: true, end: true };
const NONE: FieldLoss = { head: false, body: false, end: false };

/** A field as segments: trusted header, untrusted body, trusted end token + `\n` (or none when `open`). */
export function fieldSegments(name: FieldName, body: string, loss: FieldLoss = NONE, open = false): Segment[] {
  const { head, end } = ROLE[name];
  const out: Segment[] = [{ text: head, trusted: true, loss: loss.head }];
  if (body) out.push({ text: body, trusted: false, loss: loss.body });
  if (!open) out.push({ text: `${end}\n`, trusted: true, loss: loss.end });
  return out;
}

/** Loss per field as finetune_moss.py gives it (humanLoss false: none on Human, a named option beyond it). */
export function sftLoss(name: FieldName, humanLoss = true): FieldLoss {
  if (name === 'Tool Responses') return { head: true, body: false, end: true };
  if (name === 'Human' && !humanLoss) return NONE;
  return ALL;
}

/** A stored turn (fields in their order) as segments. */
export function turnSegments(t: TurnFields, loss: (name: FieldName) => FieldLoss = () => NONE): Segment[] {
  return (Object.keys(t) as FieldName[]).flatMap((k) => fieldSegments(k, rawBody(k, t[k]!), loss(k)));
}

/** Ids and labels (-100 where a segment takes no loss) of segments, in one walk. */
export function encodeSegments(tok: Tokenizer, segs: readonly Segment[]): { ids: number[]; labels: number[] } {
  const ids: number[] = [];
  const labels: number[] = [];
  for (const s of segs) {
    if (!s.text) continue;
    const part = s.trusted ? tok.encode(s.text, { special: 'allow' }) : tok.encode(defang(s.text), { special: 'none' });
    for (const id of part) {
      ids.push(id);
      labels.push(s.loss ? id : -100);
    }
  }
  return { ids, labels };
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
}

/**
 * An SFT record to training ids and labels (finetune_moss.py): the meta instruction without loss,
 * then whole turns while they fit `maxLen` (a turn that would pass it is dropped with all that
 * follow); null when no turn fits (skipped).
 */
export function renderSft(r: SftRecord, tok: Tokenizer, opts: RenderOptions = {}): Rendered | null {
  const maxLen = opts.maxLen ?? 2048;
  const out = encodeSegments(tok, [{ text: r.meta_instruction, trusted: true, loss: false }]);
  let turns = 0;
  for (const t of recordTurns(r)) {
    const cur = encodeSegments(tok, turnSegments(t, (k) => sftLoss(k, opts.humanLoss !== false)));
    if (out.ids.length + cur.ids.length > maxLen) break;
    out.ids.push(...cur.ids);
    out.labels.push(...cur.labels);
    turns++;
  }
  return turns === 0 ? null : { inputIds: out.ids, labels: out.labels, turns };
}

/** The None fields of a turn without tools, in the data's two layouts (plugins on / all off). */
export function noneFields(pluginsOn: boolean): TurnFields {
  return {
    'Inner Thoughts': fieldText('Inner Thoughts', ' None'),
    Commands: fieldText('Commands', ' None'),
    'Tool Responses': fieldText('Tool Responses', pluginsOn ? '\nNone\n' : ' None'),
  };
}
