/**
 * Preference data for the pm / dpo / steer recipes: JSONL lines read, checked and rendered to ids
 * plus labels with the SFT label mask (src/chat renderSft: no loss on the meta instruction and on
 * plugin result bodies) and, on top, no loss on the prompt. Two forms per line:
 *  - plain text: `{"context": "<rendered MOSS text up to and including the final '<|MOSS|>:'>",
 *    "chosen": "<reply ending in <eom>>", "rejected": "…"[, "margin": m]}` (`prompt` is accepted for
 *    `context`; a single `"response"` instead of the pair, with an optional `"reward"`). The
 *    context is trusted as given (control tokens recognised) and tokenised apart from the reply, as
 *    at inference;
 *  - MOSS conversation: an SFT record (`meta_instruction`, `num_turns`, `chat.turn_N`) whose last turn
 *    holds the shared fields (the Human field …), and `chosen` / `rejected` / `response` the fields
 *    that complete that turn, as an object (`{"MOSS": "<|MOSS|>: …<eom>\n"}`, any assistant fields)
 *    or as field text; rendered field by field by renderSft exactly as SFT.
 * Every completion ends at its last `<eom>` (a trailing newline is dropped), so the last real token
 * of a sequence is `<eom>`. Bad lines are reported with file:line and skipped with counts:
 * identical chosen and rejected, empty responses, sequences longer than the context (dropped
 * whole, as TRL's RewardTrainer does), malformed records.
 * Not here: batching (./pref-batch.ts), models.
 */
import { checkRecord, FIELDS, renderSft, ROLE, type FieldName, type SftRecord, type TurnFields } from '../chat/format.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { BadDataLog, readJsonl } from './corpus.js';
import { IGNORE, splitTail } from './data.js';

/** One rendered sequence: ids, HF-style labels (IGNORE = no loss, not shifted) and the prompt length. */
export interface Seq {
  ids: number[];
  labels: number[];
  promptLen: number;
}

export interface PairItem {
  chosen: Seq;
  rejected: Seq;
  margin: number;
  /** file:line */
  source: string;
}

export interface SingleItem {
  seq: Seq;
  reward: number | null;
  source: string;
  /** The prompt part, for re-rendering with another meta instruction (steer). */
  raw: Record<string, unknown>;
}

export interface RenderPairOptions {
  /** Longest sequence (prompt + completion) kept, in tokens. */
  context: number;
  /** Rewrites the meta instruction before rendering (steer's quality tag). */
  meta?: (meta: string) => string;
}

const strip = (s: string) => s.replace(/<eom>\s*$/, '').replace(/^<\|MOSS\|>:/, '').trim();

/** The text of a response as a comparable string (field texts joined). */
function responseText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) return Object.values(v as Record<string, string>).join('');
  return null;
}

/** Ids without anything after the last `<eom>` (from the prompt length on). */
function endAtEom(s: Seq, eom: number): Seq {
  let end = s.ids.length;
  for (let i = s.ids.length - 1; i >= s.promptLen; i--) {
    if (s.ids[i] === eom) {
      end = i + 1;
      break;
    }
  }
  return { ids: s.ids.slice(0, end), labels: s.labels.slice(0, end), promptLen: s.promptLen };
}

/** Splits a plain-text context into meta instruction and the rest (at the first `<|Human|>:`). */
function splitMeta(context: string): [string, string] {
  const i = context.indexOf(ROLE.Human.head);
  return i < 0 ? ['', context] : [context.slice(0, i), context.slice(i)];
}

/** The completion as turn fields: an object is taken as is, text is parsed into fields (a bare reply becomes the MOSS field). */
function completionFields(v: unknown): TurnFields {
  if (typeof v !== 'string') return v as TurnFields;
  const out: TurnFields = {};
  let pos = 0;
  // field texts kept byte for byte: each runs from its header to its end token and one newline
  for (;;) {
    const name = FIELDS.find((f) => v.startsWith(ROLE[f].head, pos)) as FieldName | undefined;
    if (!name) break;
    const e = v.indexOf(ROLE[name].end, pos + ROLE[name].head.length);
    let stop = e < 0 ? v.length : e + ROLE[name].end.length;
    if (v[stop] === '\n') stop++;
    out[name] = v.slice(pos, stop);
    pos = stop;
  }
  if (pos !== v.length) {
    if (pos > 0) throw new Error(`unparsed response text at offset ${pos}`);
    return { MOSS: `${ROLE.MOSS.head} ${v.trimStart()}` };
  }
  return out;
}

/** Renders (prompt, completion) of one line; `completion` is the raw JSON value of chosen/rejected/response. */
export function renderCompletion(line: Record<string, unknown>, completion: unknown, tok: Tokenizer, o: RenderPairOptions): Seq {
  const eom = tok.encode('<eom>', { special: 'allow' })[0];
  const context = line.context ?? line.prompt;
  if (typeof context === 'string') {
    if (typeof completion !== 'string') throw new Error('with a text context, responses must be strings');
    const [meta, rest] = splitMeta(context);
    const ctx = tok.encode((o.meta ? o.meta(meta) : meta) + rest, { special: 'allow' });
    const comp = tok.encode(completion.replace(/<eom>\n+$/, '<eom>'), { special: 'allow' });
    return { ids: [...ctx, ...comp], labels: [...ctx.map(() => IGNORE), ...comp], promptLen: ctx.length };
  }
  // MOSS conversation form: the record's last turn is completed by the response's fields
  const rec = checkRecord(line);
  const n = Number(rec.num_turns);
  if (n < 1) throw new Error('num_turns must be at least 1 (the last turn holds the prompt)');
  const fields = completionFields(completion);
  for (const k of Object.keys(fields)) if (!(FIELDS as readonly string[]).includes(k)) throw new Error(`unknown field "${k}" in a response`);
  const withMeta: SftRecord = o.meta ? { ...rec, meta_instruction: o.meta(rec.meta_instruction) } : rec;
  const last = rec.chat[`turn_${n}`];
  const prompt = renderSft({ ...withMeta, chat: { ...rec.chat, [`turn_${n}`]: last } }, tok, { maxLen: Infinity })!;
  const full = renderSft({ ...withMeta, chat: { ...rec.chat, [`turn_${n}`]: { ...last, ...fields } } }, tok, { maxLen: Infinity })!;
  const promptLen = prompt.inputIds.length;
  const labels = full.labels.map((l, i) => (i < promptLen ? IGNORE : l));
  return endAtEom({ ids: full.inputIds, labels, promptLen }, eom);
}

function checkSeq(s: Seq, which: string, context: number): void {
  if (s.ids.length <= s.promptLen) throw new Error(`${which} response is empty`);
  if (s.ids.length > context) throw new Error(`${which} is ${s.ids.length} tokens with its context, longer than the context (${context})`);
}

function isEmpty(v: unknown): boolean {
  const t = responseText(v);
  return t === null || strip(t.replace(/<\|[A-Za-z ]+\|>:/g, '').replace(/<eo[htcrm]>/g, '')) === '';
}

/** Reads preference pairs; bad lines go to `bad` (file:line, reason) and are skipped. */
export function readPairs(files: readonly string[], tok: Tokenizer, o: RenderPairOptions, bad: BadDataLog): PairItem[] {
  const out: PairItem[] = [];
  for (const file of files) {
    for (const rec of readJsonl(file, bad)) {
      const v = rec.value;
      try {
        const [c, r] = [responseText(v.chosen), responseText(v.rejected)];
        if (c === null || r === null) throw new Error('needs "chosen" and "rejected" (strings or field objects)');
        if (isEmpty(v.chosen)) throw new Error('chosen response is empty');
        if (isEmpty(v.rejected)) throw new Error('rejected response is empty');
        if (c.trim() === r.trim()) throw new Error('chosen and rejected are identical');
        if (v.margin !== undefined && typeof v.margin !== 'number') throw new Error('margin is not a number');
        const chosen = renderCompletion(v, v.chosen, tok, o);
        const rejected = renderCompletion(v, v.rejected, tok, o);
        checkSeq(chosen, 'chosen', o.context);
        checkSeq(rejected, 'rejected', o.context);
        out.push({ chosen, rejected, margin: (v.margin as number | undefined) ?? 0, source: `${file}:${rec.line}` });
      } catch (e) {
        bad.add(file, rec.line, (e as Error).message);
      }
    }
  }
  return out;
}

/** Reads single responses (`response`, optional `reward`); pair lines give two items (chosen and rejected). */
export function readSingles(files: readonly string[], tok: Tokenizer, o: RenderPairOptions, bad: BadDataLog): SingleItem[] {
  const out: SingleItem[] = [];
  for (const file of files) {
    for (const rec of readJsonl(file, bad)) {
      const v = rec.value;
      const keys = v.response !== undefined ? ['response'] : ['chosen', 'rejected'];
      for (const k of keys) {
        try {
          if (responseText(v[k]) === null) throw new Error(`needs "response" (or "chosen" and "rejected")`);
          if (isEmpty(v[k])) throw new Error(`${k} response is empty`);
          const reward = k === 'response' ? v.reward : (v as Record<string, unknown>)[`${k}_reward`];
          if (reward !== undefined && (typeof reward !== 'number' || !Number.isFinite(reward))) throw new Error(`reward is not a finite number`);
          const seq = renderCompletion(v, v[k], tok, o);
          checkSeq(seq, k, o.context);
          out.push({ seq, reward: (reward as number | undefined) ?? null, source: `${file}:${rec.line}`, raw: { ...v, response: v[k], chosen: undefined, rejected: undefined } });
        } catch (e) {
          bad.add(file, rec.line, (e as Error).message);
        }
      }
    }
  }
  return out;
}

/**
 * The training and held-out pairs of a run: `evalData` files when given, else the last
 * `evalFraction` of `data`; bad lines are logged (file:line) and counted, then summarised.
 */
export function readPairSplits(cfg: { readonly data: readonly string[]; readonly evalData: readonly string[]; readonly evalFraction: number; readonly context: number }, tok: Tokenizer, log: (m: string) => void): { train: PairItem[]; held: PairItem[] } {
  const bad = new BadDataLog(log);
  const all = readPairs(cfg.data, tok, { context: cfg.context }, bad);
  const { train, held } = cfg.evalData.length ? { train: all, held: readPairs(cfg.evalData, tok, { context: cfg.context }, bad) } : splitTail(all, cfg.evalFraction);
  log(`${train.length} training pairs, ${held.length} held-out pairs; ${bad.summary()}`);
  return { train, held };
}
