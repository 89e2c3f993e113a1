/**
 * `moss eval winrate`: two sides' answers to the same prompts judged pairwise by an AI judge (the
 * data pipeline's MT-Bench judge, src/data/pipeline/judge: both orders, strict [[A]]/[[B]]/[[C]],
 * two games that disagree make a tie). Reports win / loss / tie / error counts for side A,
 * win_rate_adjusted = (win + tie/2) / n over the judged pairs, the inconsistency rate (pairs whose
 * two orders disagreed) and the mean answer length (characters) of each side. Prompts default to
 * the first human turns of ../shared/data/moss-sft-heldout (real human prompts; the CLI finds them).
 * Not here: producing answers (the CLI generates them or reads answer files), Elo, AlpacaEval's
 * length control.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldBody, readRecords, recordTurns } from '../chat/format.js';
import { judgePair, type ChatFn, type PairJudgement } from '../data/pipeline/judge/index.js';

export interface WinrateItem {
  question: string;
  answerA: string;
  answerB: string;
}

export interface WinrateResult {
  n: number;
  win: number;
  loss: number;
  tie: number;
  error: number;
  win_rate_adjusted: number;
  inconsistency_rate: number;
  mean_length_a: number;
  mean_length_b: number;
}

/** First human turn of every record in the JSONL files of `dir` (sorted; a bad line is named). */
export function heldoutPrompts(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort()) {
    for (const rec of readRecords(join(dir, f))) {
      const h = recordTurns(rec)[0]?.Human;
      if (h) out.push(fieldBody('Human', h).trim());
    }
  }
  return out;
}

/** Answers from a JSONL file: one object per line with `answer` (or `output`), optionally `question` (or `prompt`). */
export function readAnswers(file: string): { question?: string; answer: string }[] {
  return readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`, { cause: e });
    }
    const answer = o.answer ?? o.output;
    const question = o.question ?? o.prompt;
    if (typeof answer !== 'string') throw new Error(`${file}:${i + 1}: needs a string "answer" (or "output")`);
    if (question !== undefined && typeof question !== 'string') throw new Error(`${file}:${i + 1}: "question" is not a string`);
    return [{ answer, ...(question !== undefined ? { question } : {}) }];
  });
}

/** Judges every pair (`concurrency` pairs at a time, results in input order). */
export async function judgeAll(chat: ChatFn, items: readonly WinrateItem[], o: { model?: string; concurrency?: number; onDone?: (done: number) => void } = {}): Promise<PairJudgement[]> {
  const out = new Array<PairJudgement>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await judgePair(chat, { question: items[i].question, answerA: items[i].answerA, answerB: items[i].answerB }, { model: o.model });
      o.onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
  return out;
}

/** The report for side A. */
export function winrate(items: readonly WinrateItem[], js: readonly PairJudgement[]): WinrateResult {
  const count = (w: string): number => js.filter((j) => j.winner === w).length;
  const [win, loss, tie, error] = [count('A'), count('B'), count('tie'), count('error')];
  const n = js.length - error;
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    n, win, loss, tie, error,
    win_rate_adjusted: n ? (win + tie / 2) / n : NaN,
    inconsistency_rate: n ? js.filter((j) => j.winner !== 'error' && !j.consistent).length / n : NaN,
    mean_length_a: mean(items.map((x) => [...x.answerA].length)),
    mean_length_b: mean(items.map((x) => [...x.answerB].length)),
  };
}
