/**
 * Pairwise AI judge as MT-Bench does it (FastChat llm_judge, ALIGNMENT.md §2): every pair is judged
 * twice with the positions swapped; a game's verdict is read strictly from `[[A]]`/`[[B]]`/`[[C]]`
 * (all verdict tokens in the answer must agree), a malformed answer is re-asked (the bad answer and
 * a correction go back to the judge, so the re-ask is a new request, not a cache hit); two games
 * that disagree make a tie (`consistent: false`), and a game that never gives a verdict makes the
 * pair an `error`, which is never a preference. Both games' raw answers are kept as reasons.
 * Deliberately no HTTP here: the judge is any `ChatFn` (./../call.ts, or a scripted function).
 *
 * @example
 *   const caller = createCaller({ baseUrl: 'http://127.0.0.1:8000/v1', cacheDir: '.cache/judge' });
 *   const j = await judgePair(caller.chat, { question: 'What is 2+3?', answerA: '5', answerB: '6' });
 *   j.winner; // 'A' | 'B' | 'tie' | 'error'
 */
import type { ChatFn } from '../call.js';
import type { ChatMessage } from '../client.js';
import { PAIR_MATH_V1, PAIR_V2, render, type Template } from './templates.js';

export type Verdict = 'A' | 'B' | 'C';
/** Outcome in the caller's labels: A is `answerA`, B is `answerB`. */
export type Winner = 'A' | 'B' | 'tie' | 'error';

export interface PairInput {
  readonly question: string;
  readonly answerA: string;
  readonly answerB: string;
  /** A reference answer: switches to the `pair-math-v1` template. */
  readonly reference?: string;
}

export interface JudgeOptions {
  /** Judge model name sent to the endpoint. */
  readonly model?: string;
  /** Re-asks after a malformed answer (default 3, so 4 answers at most per game). */
  readonly reasks?: number;
  /** max_tokens of a judge answer (default 1024). */
  readonly maxTokens?: number;
  /** Seed sent with every judge request (default 0); temperature is always 0. */
  readonly seed?: number;
  /** Overrides the template (default pair-v2, or pair-math-v1 with a reference). */
  readonly template?: Template;
  readonly signal?: AbortSignal;
}

export interface Game {
  /** `AB`: answerA shown as assistant A; `BA`: swapped. */
  readonly order: 'AB' | 'BA';
  /** Verdict in the positions as shown to the judge (null: none after every re-ask). */
  readonly verdict: Verdict | null;
  /** The verdict mapped back to the caller's labels. */
  readonly winner: Winner;
  /** Every answer the judge gave in this game, in order. */
  readonly raw: readonly string[];
}

export interface PairJudgement {
  readonly winner: Winner;
  /** False when the two games disagreed (then the winner is a tie). */
  readonly consistent: boolean;
  readonly games: readonly [Game, Game];
  readonly template: string;
}

const REASK = 'Your answer did not end with a verdict in the required format. Output your final verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';

/** The verdict of a judge answer: every `[[X]]` in it must name the same X; else null. */
export function parseVerdict(text: string): Verdict | null {
  const found = new Set([...text.matchAll(/\[\[([ABC])\]\]/g)].map((m) => m[1] as Verdict));
  return found.size === 1 ? [...found][0] : null;
}

/** The judge's messages for one game (exactly FastChat's rendering of the template). */
export function pairMessages(t: Template, question: string, first: string, second: string, reference?: string): ChatMessage[] {
  return [
    { role: 'system', content: t.systemPrompt },
    { role: 'user', content: render(t.promptTemplate, { question, answer_a: first, answer_b: second, ref_answer_1: reference ?? '' }) },
  ];
}

/**
 * Asks `chat` until `parse` accepts an answer or the re-asks are spent; returns every answer and
 * the parsed value (null when none parsed). Shared by the pairwise and grading judges.
 */
export async function askStrict<T>(chat: ChatFn, base: ChatMessage[], parse: (s: string) => T | null, reask: string, o: JudgeOptions): Promise<{ value: T | null; raw: string[] }> {
  const raw: string[] = [];
  let messages = base;
  for (let i = 0; i <= (o.reasks ?? 3); i++) {
    const r = await chat({ messages, model: o.model, temperature: 0, max_tokens: o.maxTokens ?? 1024, seed: o.seed ?? 0 }, o.signal);
    raw.push(r.content);
    const v = parse(r.content);
    if (v !== null) return { value: v, raw };
    messages = [...messages, { role: 'assistant', content: r.content }, { role: 'user', content: reask }];
  }
  return { value: null, raw };
}

async function game(chat: ChatFn, p: PairInput, order: 'AB' | 'BA', t: Template, o: JudgeOptions): Promise<Game> {
  const [first, second] = order === 'AB' ? [p.answerA, p.answerB] : [p.answerB, p.answerA];
  const { value, raw } = await askStrict(chat, pairMessages(t, p.question, first, second, p.reference), parseVerdict, REASK, o);
  const winner: Winner = value === null ? 'error' : value === 'C' ? 'tie' : (value === 'A') === (order === 'AB') ? 'A' : 'B';
  return { order, verdict: value, winner, raw };
}

/** Judges one pair in both orders; see the file header for the rules. Endpoint failures throw. */
export async function judgePair(chat: ChatFn, p: PairInput, o: JudgeOptions = {}): Promise<PairJudgement> {
  const t = o.template ?? (p.reference !== undefined ? PAIR_MATH_V1 : PAIR_V2);
  const g1 = await game(chat, p, 'AB', t, o);
  const g2 = await game(chat, p, 'BA', t, o);
  const error = g1.winner === 'error' || g2.winner === 'error';
  const consistent = !error && g1.winner === g2.winner;
  return { winner: error ? 'error' : consistent ? g1.winner : 'tie', consistent: error || consistent, games: [g1, g2], template: t.name };
}

export interface PairStats {
  readonly n: number;
  readonly winA: number;
  readonly winB: number;
  readonly tie: number;
  readonly error: number;
  /** Pairs whose two games disagreed (counted in `tie`). */
  readonly inconsistent: number;
  /** Share of games with a verdict in which the judge picked the first-shown answer. */
  readonly positionARate: number;
  /** (winA + 0.5·tie) / (n − error), FastChat's win_rate_adjusted for side A; NaN when nothing was judged. */
  readonly winRateAdjustedA: number;
}

/** Counts over many judgements (errors excluded from the win rate, as FastChat's show_result does). */
export function pairStats(js: readonly PairJudgement[]): PairStats {
  const c = (w: Winner) => js.filter((j) => j.winner === w).length;
  const games = js.flatMap((j) => j.games).filter((g) => g.verdict !== null);
  const [winA, winB, tie, error] = [c('A'), c('B'), c('tie'), c('error')];
  return {
    n: js.length, winA, winB, tie, error,
    inconsistent: js.filter((j) => !j.consistent).length,
    positionARate: games.length ? games.filter((g) => g.verdict === 'A').length / games.length : NaN,
    winRateAdjustedA: js.length - error ? (winA + 0.5 * tie) / (js.length - error) : NaN,
  };
}
