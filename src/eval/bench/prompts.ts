/**
 * Multiple-choice prompts, byte for byte, in three styles (sources in docs/eval.md and
 * ../shared/ALIGNMENT.md §4):
 * - harness: lm-evaluation-harness task YAMLs (mmlu/default, cmmlu, ceval-valid): description +
 *   `first_n` dev shots joined as `doc_to_text + " " + letter + "\n\n"` + `doc_to_text`; choices
 *   scored as `" " + letter`.
 * - original: each benchmark's own script: MMLU (hendrycks/test evaluate.py: `about  {subject}`
 *   with format_subject's leading space, shots `Answer: X\n\n`, scored as " X"), CMMLU
 *   (haonan-li/CMMLU mp_utils.py: `题目：`, `答案是：X\n\n`, scored as "X"), C-Eval (hkust-nlp/ceval
 *   evaluator: `…关于{科目}考试的…`, `答案：X\n\n`, scored as "X").
 * - moss-chat: the benchmark as MOSS chat turns (C-Eval's MOSS evaluator): a header line, shots as
 *   earlier `<|Human|>: … <eoh>\n<|MOSS|>: X <eom>\n` turns, the query ending `<|MOSS|>:`; answered by
 *   generation. Returned as segments so that question text never becomes a control token.
 * Not here: tokenization and scoring (./loglik.ts, ./mc.ts).
 */
import type { McBenchName, McDoc, McSubject } from './data.js';

export type Style = 'harness' | 'original' | 'moss-chat';
export const STYLES: readonly Style[] = ['harness', 'original', 'moss-chat'];
export const LETTERS = ['A', 'B', 'C', 'D'];

/** Python's str.strip() (its whitespace set differs from JS trim in a few control characters). */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_SPACE.has(s.charCodeAt(a))) a++;
  while (b > a && PY_SPACE.has(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** Code units for which Python's str.isspace() is true. */
const PY_SPACE = new Set([9, 10, 11, 12, 13, 0x1c, 0x1d, 0x1e, 0x1f, 32, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

const options = (d: McDoc): string => d.choices.map((c, i) => `\n${LETTERS[i]}. ${c}`).join('');

/** The harness's doc_to_text for one document. */
export function harnessDocText(bench: McBenchName, d: McDoc): string {
  return `${pyStrip(d.question)}${options(d)}\n${bench === 'mmlu' ? 'Answer:' : '答案：'}`;
}

/** The harness's task description. */
export function harnessDescription(bench: McBenchName, s: McSubject): string {
  if (bench === 'mmlu') return `The following are multiple choice questions (with answers) about ${s.title}.\n\n`;
  if (bench === 'cmmlu') return `以下是关于${s.title}的单项选择题，请直接给出正确答案的选项。\n\n`;
  return `以下是中国关于${s.title}的单项选择题，请选出其中的正确答案。\n\n`;
}

export interface McPrompt {
  /** The context string (for moss-chat, the concatenated segments). */
  context: string;
  /** Continuations in choice order (log-likelihood styles). */
  continuations: string[];
  /** moss-chat: the prompt as text runs and control tokens. */
  segments?: Segment[];
}

/** A run of plain text (never read as control tokens) or one control token by name. */
export type Segment = { text: string } | { control: string };

/** The harness prompt with `shots` first dev examples. */
export function harnessPrompt(bench: McBenchName, s: McSubject, d: McDoc, shots: number): McPrompt {
  const ex = s.dev.slice(0, shots).map((e) => `${harnessDocText(bench, e)} ${LETTERS[e.answer]}\n\n`).join('');
  return { context: harnessDescription(bench, s) + ex + harnessDocText(bench, d), continuations: LETTERS.map((l) => ` ${l}`) };
}

/** The benchmark's own script's prompt with `shots` dev examples. */
export function originalPrompt(bench: McBenchName, s: McSubject, d: McDoc, shots: number): McPrompt {
  if (bench === 'mmlu') {
    const head = `The following are multiple choice questions (with answers) about ${s.name.split('_').map((w) => ` ${w}`).join('')}.\n\n`;
    const fmt = (e: McDoc, ans: boolean): string => `${e.question}${options(e)}\nAnswer:${ans ? ` ${LETTERS[e.answer]}\n\n` : ''}`;
    return { context: head + s.dev.slice(0, shots).map((e) => fmt(e, true)).join('') + fmt(d, false), continuations: LETTERS.map((l) => ` ${l}`) };
  }
  if (bench === 'cmmlu') {
    const head = `以下是关于${s.title}的单项选择题，请直接给出正确答案的选项。\n\n`;
    const fmt = (e: McDoc, ans: boolean): string => `题目：${e.question}${options(e)}\n答案是：${ans ? `${LETTERS[e.answer]}\n\n` : ''}`;
    return { context: head + s.dev.slice(0, shots).map((e) => fmt(e, true)).join('') + fmt(d, false), continuations: [...LETTERS] };
  }
  const head = `以下是中国关于${s.title}考试的单项选择题，请选出其中的正确答案。\n\n`;
  const fmt = (e: McDoc, ans: boolean): string => `${e.question}${options(e)}\n答案：${ans ? `${LETTERS[e.answer]}\n\n` : ''}`;
  return { context: head + s.dev.slice(0, shots).map((e) => fmt(e, true)).join('') + fmt(d, false), continuations: [...LETTERS] };
}

/** The benchmark as MOSS chat turns (answered by generation). */
export function mossChatPrompt(bench: McBenchName, s: McSubject, d: McDoc, shots: number): McPrompt {
  const head = bench === 'mmlu'
    ? `You are an AI assistant. The following are multiple choice questions (with answers) about ${s.title}.\n`
    : `你是一个中文人工智能助手，以下是中国关于${s.title}考试的单项选择题，请选出其中的正确答案。\n`;
  const ask = bench === 'mmlu' ? '\nAnswer:' : '\n答案：';
  const segs: Segment[] = [{ text: head }];
  for (const e of s.dev.slice(0, shots)) {
    segs.push({ text: `<|Human|>: ${e.question}${options(e)}${ask} ` }, { control: '<eoh>' }, { text: `\n<|MOSS|>: ${LETTERS[e.answer]} ` }, { control: '<eom>' }, { text: '\n' });
  }
  segs.push({ text: `<|Human|>: ${d.question}${options(d)}${ask} ` }, { control: '<eoh>' }, { text: '\n<|MOSS|>:' });
  const context = segs.map((x) => ('text' in x ? x.text : x.control)).join('');
  return { context, continuations: [], segments: segs };
}

/** Default shots per style (the harness YAMLs set none, so 0; the original scripts use 5). */
export function defaultShots(style: Style): number {
  return style === 'harness' ? 0 : 5;
}

export function mcPrompt(style: Style, bench: McBenchName, s: McSubject, d: McDoc, shots: number): McPrompt {
  if (style === 'harness') return harnessPrompt(bench, s, d, shots);
  if (style === 'original') return originalPrompt(bench, s, d, shots);
  return mossChatPrompt(bench, s, d, shots);
}
