/**
 * `moss annotate`'s heart: responses to one context → per-response scores and at most one
 * preference pair `{id, context, chosen, rejected, margin, judge, reasons}` (TRL's reward/DPO data
 * with MOSS's context kept verbatim). Judges (./judge): `rule` (verifiable plugin turns, no
 * endpoint), `pair` (every pair of responses judged in both orders; a response scores its wins plus
 * half its ties, errors excluded), `single` (1–10) and `aspects` (UltraFeedback-style 1–5 on
 * helpfulness, honesty, harmlessness, averaged). The best-scored response is chosen and the worst
 * rejected; equal scores make no pair; a judge that gave no verdict is an `error`, never a pair.
 * Deliberately no file handling (./runner.ts, the CLI).
 */
import { fieldsFrom } from './moss-format.js';
import type { ChatFn } from './call.js';
import { gradeAspects, gradeSingle, judgePair, ruleJudge, type Grade, type JudgeOptions, type PairJudgement } from './judge/index.js';

export type JudgeMode = 'rule' | 'pair' | 'single' | 'aspects';

export interface AnnotateItem {
  readonly id: string;
  readonly context: string;
  readonly responses: readonly string[];
}

export interface PrefPair {
  readonly id: string;
  readonly context: string;
  readonly chosen: string;
  readonly rejected: string;
  readonly margin: number;
  readonly judge: string;
  readonly reasons: readonly string[];
}

export interface Judgement {
  readonly id: string;
  readonly judge: string;
  /** pair: a pair was written; tie: equal scores; error: the judge never gave a verdict; unverifiable: rule judge had nothing to check. */
  readonly status: 'pair' | 'tie' | 'error' | 'unverifiable';
  /** Score per response (null: not judged / judge error). */
  readonly scores: readonly (number | null)[];
  readonly details: unknown;
}

/** The judge's view of a MOSS context: the last Human turn's text (earlier turns as a transcript). */
export function questionOf(context: string): string {
  if (!context.includes('<|Human|>:')) return context.trim();
  const turns: string[] = [];
  let pos = context.indexOf('<|Human|>:');
  while (pos >= 0) {
    const { fields, rest } = fieldsFrom(context, pos);
    for (const f of fields) if (f.name === 'Human' || f.name === 'MOSS') turns.push(`${f.name === 'Human' ? 'User' : 'Assistant'}: ${f.body.trim()}`);
    const next = context.indexOf('<|Human|>:', Math.max(rest, pos + 1));
    pos = next;
  }
  return turns.length === 1 ? turns[0].slice('User: '.length) : turns.join('\n');
}

/** The reply a judge reads: the MOSS field's body when the response has fields, else the text without control tokens. */
export function answerOf(response: string): string {
  const at = response.indexOf('<|MOSS|>:');
  const text = at >= 0 ? response.slice(at + '<|MOSS|>:'.length) : response;
  return text.replace(/<eom>[\s\S]*$/, '').replace(/<(eoh|eot|eoc|eor|eom)>|<\|endoftext\|>/g, '').trim();
}

export interface AnnotateOptions extends JudgeOptions {
  readonly mode: JudgeMode;
  readonly chat?: ChatFn;
  /** Name recorded in `judge` (e.g. the judge model). */
  readonly judgeName?: string;
}

function decide(item: AnnotateItem, scores: (number | null)[], judge: string, reasons: (i: number, j: number) => string[], details: unknown, allError: boolean, unverifiable = false): { pair?: PrefPair; judgement: Judgement } {
  const valid = scores.map((s, i) => ({ s, i })).filter((x): x is { s: number; i: number } => x.s !== null);
  const base = { id: item.id, judge, scores, details };
  if (!valid.length) return { judgement: { ...base, status: unverifiable ? 'unverifiable' : allError ? 'error' : 'tie' } };
  const best = valid.reduce((a, b) => (b.s > a.s ? b : a));
  const worst = valid.reduce((a, b) => (b.s < a.s ? b : a));
  if (best.s === worst.s) return { judgement: { ...base, status: 'tie' } };
  const pair: PrefPair = { id: item.id, context: item.context, chosen: item.responses[best.i], rejected: item.responses[worst.i], margin: best.s - worst.s, judge, reasons: reasons(best.i, worst.i) };
  return { pair, judgement: { ...base, status: 'pair' } };
}

/** Annotates one item. Endpoint failures throw (the runner retries the item on the next run). */
export async function annotateItem(item: AnnotateItem, o: AnnotateOptions): Promise<{ pair?: PrefPair; judgement: Judgement; games?: PairJudgement[] }> {
  const n = item.responses.length;
  if (o.mode === 'rule') {
    const v = item.responses.map((r) => ruleJudge(item.context, r));
    const scores = v.map((x) => x.score);
    return decide(item, scores, 'rule', (i, j) => [v[i].reason, v[j].reason], v, false, scores.every((s) => s === null));
  }
  if (!o.chat) throw new Error(`judge mode ${o.mode} needs an endpoint`);
  const question = questionOf(item.context);
  const answers = item.responses.map(answerOf);
  const name = `${o.mode === 'pair' ? 'pair-v2' : o.mode === 'single' ? 'single-v1' : 'aspect-v1'}${o.judgeName ? `:${o.judgeName}` : ''}`;
  if (o.mode === 'pair') {
    const games: { i: number; j: number; r: PairJudgement }[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) games.push({ i, j, r: await judgePair(o.chat, { question, answerA: answers[i], answerB: answers[j] }, o) });
    const scores: (number | null)[] = new Array(n).fill(null);
    const add = (k: number, v: number) => (scores[k] = (scores[k] ?? 0) + v);
    for (const { i, j, r } of games) {
      if (r.winner === 'error') continue;
      add(i, r.winner === 'A' ? 1 : r.winner === 'tie' ? 0.5 : 0);
      add(j, r.winner === 'B' ? 1 : r.winner === 'tie' ? 0.5 : 0);
    }
    const reasons = (a: number, b: number) => games.find((g) => (g.i === a && g.j === b) || (g.i === b && g.j === a))?.r.games.flatMap((g) => g.raw) ?? [];
    const details = games.map((g) => ({ a: g.i, b: g.j, winner: g.r.winner, consistent: g.r.consistent, games: g.r.games }));
    return { ...decide(item, scores, name, reasons, details, games.every((g) => g.r.winner === 'error')), games: games.map((g) => g.r) };
  }
  if (o.mode === 'single') {
    const grades: Grade[] = [];
    for (const a of answers) grades.push(await gradeSingle(o.chat, { question, answer: a }, o));
    const scores = grades.map((g) => g.score);
    return decide(item, scores, name, (i, j) => [...grades[i].raw, ...grades[j].raw], grades, scores.every((s) => s === null));
  }
  const g = await gradeAspects(o.chat, { question, answers }, o);
  const aspects = Object.keys(g.scores);
  const scores = answers.map((_, k) => {
    const v = aspects.map((a) => g.scores[a][k]);
    return v.some((x) => x === null) ? null : (v as number[]).reduce((s, x) => s + x, 0) / v.length;
  });
  return decide(item, scores, name, () => aspects.flatMap((a) => g.raw[a]), g, scores.every((s) => s === null));
}

/** Items of a `moss sample` output (or any `{id, context|prompt|question, responses}` JSONL); bad lines reported. */
export function toAnnotateItem(v: unknown, where: string): AnnotateItem {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  const o = v as Record<string, unknown>;
  const ctx = o.context ?? o.prompt ?? o.question;
  if (typeof ctx !== 'string') throw new Error('no "context" (or "prompt"/"question") string');
  if (!Array.isArray(o.responses) || o.responses.length < 2) throw new Error('"responses" is not an array of at least 2');
  const responses = o.responses.map((r, i) => {
    const t = typeof r === 'string' ? r : r && typeof r === 'object' ? (r as { text?: unknown }).text : undefined;
    if (typeof t !== 'string') throw new Error(`responses[${i}] is not a string or {text}`);
    return t;
  });
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : where;
  return { id, context: ctx, responses };
}

export interface AnnotateStats {
  readonly judged: number;
  readonly pairs: number;
  readonly ties: number;
  readonly judgeErrors: number;
  readonly unverifiable: number;
  /** Pairwise: share of games whose verdict named the first-shown answer (0.5 = no position bias). */
  readonly positionARate: number | null;
  /** Pairwise: share of judged pairs whose two orders disagreed (each became a tie). */
  readonly inconsistentRate: number | null;
}

/** Statistics over a judgements file's records (all runs of a resumed annotation). */
export function annotateStats(js: readonly Judgement[]): AnnotateStats {
  const c = (s: Judgement['status']) => js.filter((j) => j.status === s).length;
  const games = js.flatMap((j) => (Array.isArray(j.details) ? j.details : []) as { winner?: string; consistent?: boolean; games?: { verdict: string | null }[] }[]).filter((d) => d.games);
  const verdicts = games.flatMap((g) => g.games!).filter((g) => g.verdict !== null);
  const judged = games.filter((g) => g.winner !== 'error');
  return {
    judged: js.length, pairs: c('pair'), ties: c('tie'), judgeErrors: c('error'), unverifiable: c('unverifiable'),
    positionARate: verdicts.length ? verdicts.filter((g) => g.verdict === 'A').length / verdicts.length : null,
    inconsistentRate: judged.length ? judged.filter((g) => !g.consistent).length / judged.length : null,
  };
}
