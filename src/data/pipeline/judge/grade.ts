/**
 * Single-answer grading judges. `gradeSingle`: MT-Bench's `single-v1` (1–10, read from
 * `[[rating]]`, FastChat's single-bracket fallback `[rating]`; out-of-range is malformed).
 * `gradeAspects`: UltraFeedback-style — one call per aspect grades every response 1–5 with a
 * rationale (ALIGNMENT.md §2); the responses are shown in an order shuffled by the seed, and mapped
 * back. Malformed answers are re-asked; a score that never parses is `null` (an error, never a grade).
 * Deliberately no aggregation into preferences here (../annotate.ts does that).
 */
import type { ChatFn } from '../call.js';
import { askStrict, type JudgeOptions } from './pairwise.js';
import { ASPECT_V1, ASPECTS, render, SINGLE_MATH_V1, SINGLE_V1 } from './templates.js';

/** A 1–10 rating from `[[x]]` (or `[x]` when no double brackets occur); null when missing or out of range. */
export function parseRating(text: string): number | null {
  const m = text.match(/\[\[(\d+\.?\d*)\]\]/) ?? text.match(/\[(\d+\.?\d*)\]/);
  if (!m) return null;
  const v = Number(m[1]);
  return v >= 1 && v <= 10 ? v : null;
}

export interface Grade {
  readonly score: number | null;
  readonly raw: readonly string[];
  readonly template: string;
}

const REASK_SINGLE = 'Your answer did not contain a rating in the required format. Rate the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".';

/** Grades one answer on 1–10 (single-v1, or single-math-v1 with a reference answer). */
export async function gradeSingle(chat: ChatFn, p: { question: string; answer: string; reference?: string }, o: JudgeOptions = {}): Promise<Grade> {
  const t = p.reference !== undefined ? SINGLE_MATH_V1 : SINGLE_V1;
  const messages = [
    { role: 'system' as const, content: t.systemPrompt },
    { role: 'user' as const, content: render(t.promptTemplate, { question: p.question, answer: p.answer, ref_answer_1: p.reference ?? '' }) },
  ];
  const { value, raw } = await askStrict(chat, messages, parseRating, REASK_SINGLE, o);
  return { score: value, raw, template: t.name };
}

/** Ratings 1–5 of texts 1..n from `#### Output for Text i` blocks; null unless every text has one. */
export function parseAspectRatings(text: string, n: number): number[] | null {
  const out: (number | undefined)[] = new Array(n);
  for (const m of text.matchAll(/#+\s*Output for Text (\d+)\s*\n+\s*Rating:\s*\[?([1-5])\]?/gi)) {
    const i = Number(m[1]) - 1;
    if (i >= 0 && i < n) out[i] = Number(m[2]);
  }
  for (let i = 0; i < n; i++) if (out[i] === undefined) return null;
  return out as number[];
}

/** A permutation of 0..n-1 from a seed (xorshift; the judge sees responses in this order). */
export function shuffleOrder(n: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  let s = (seed >>> 0) || 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

export interface AspectGrades {
  /** aspect -> score per response (in the caller's order), or null when the judge never answered well. */
  readonly scores: Record<string, (number | null)[]>;
  readonly raw: Record<string, readonly string[]>;
  readonly template: string;
}

/** Grades all `answers` on each aspect (default helpfulness, honesty, harmlessness), one call per aspect. */
export async function gradeAspects(chat: ChatFn, p: { question: string; answers: readonly string[] }, o: JudgeOptions & { aspects?: readonly string[] } = {}): Promise<AspectGrades> {
  const order = shuffleOrder(p.answers.length, o.seed ?? 0);
  const texts = order.map((k, i) => `<text ${i + 1}> ${p.answers[k]}`).join('\n');
  const scores: Record<string, (number | null)[]> = {};
  const raw: Record<string, readonly string[]> = {};
  for (const aspect of o.aspects ?? Object.keys(ASPECTS)) {
    const desc = ASPECTS[aspect];
    if (!desc) throw new Error(`unknown aspect "${aspect}" (known: ${Object.keys(ASPECTS).join(', ')})`);
    const messages = [
      { role: 'system' as const, content: ASPECT_V1.systemPrompt },
      { role: 'user' as const, content: render(ASPECT_V1.promptTemplate, { aspect: desc, question: p.question, texts }) },
    ];
    const reask = `Your answer was not in the required format. For each of the ${p.answers.length} texts write "#### Output for Text N", then "Rating: " and a number from 1 to 5.`;
    const r = await askStrict(chat, messages, (s) => parseAspectRatings(s, p.answers.length), reask, o);
    const back: (number | null)[] = new Array(p.answers.length).fill(null);
    if (r.value) order.forEach((k, i) => (back[k] = r.value![i]));
    scores[aspect] = back;
    raw[aspect] = r.raw;
  }
  return { scores, raw, template: ASPECT_V1.name };
}
