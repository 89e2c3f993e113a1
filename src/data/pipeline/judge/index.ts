/**
 * The judges of the data pipeline, one import for other modules (`moss annotate`, `moss eval
 * winrate`): pairwise (MT-Bench rules: both orders, disagreement = tie, strict `[[A]]/[[B]]/[[C]]`),
 * single-answer grading (1–10) and per-aspect grading (UltraFeedback-style), and the rule judge for
 * verifiable plugin turns. A judge talks to any `ChatFn`; `createCaller` makes one for an
 * OpenAI-compatible endpoint with retries, rate limits and a call cache.
 *
 * @example
 *   import { createCaller, judgePair, pairStats } from '../data/pipeline/judge/index.js';
 *   const judge = createCaller({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'gpt-4', cacheDir: '.cache/judge' });
 *   const j = await judgePair(judge.chat, { question, answerA, answerB });
 *   pairStats([j]).winRateAdjustedA;
 */
export { judgePair, pairStats, parseVerdict, pairMessages, type PairInput, type PairJudgement, type PairStats, type Game, type JudgeOptions, type Verdict, type Winner } from './pairwise.js';
export { gradeSingle, gradeAspects, parseRating, parseAspectRatings, type Grade, type AspectGrades } from './grade.js';
export { ruleJudge, containsNumber, type RuleVerdict } from './rule.js';
export { PAIR_V2, PAIR_MATH_V1, SINGLE_V1, SINGLE_MATH_V1, ASPECT_V1, ASPECTS, render, type Template } from './templates.js';
export { createCaller, type ChatFn, type Caller, type CallerOptions, type CallStats } from '../call.js';
export type { ChatRequest, ChatResult, ChatMessage } from '../client.js';
