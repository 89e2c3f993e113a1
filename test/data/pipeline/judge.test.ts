/**
 * The judges (src/data/pipeline/judge): FastChat's templates byte for byte, the strict verdict
 * parser, the swap/tie rule with a judge that always prefers position A, re-asks and `error`,
 * grading parsers, per-aspect shuffling, the rule judge, and a judge behind the fault-injecting
 * server giving the same judgements as a clean one (and none called twice with the cache).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createCaller, gradeAspects, gradeSingle, judgePair, PAIR_MATH_V1, PAIR_V2, pairStats, parseAspectRatings, parseRating, parseVerdict,
  render, ruleJudge, SINGLE_MATH_V1, SINGLE_V1, type ChatFn,
} from '../../../src/data/pipeline/judge/index.js';
import { startFaultServer, type ReqBody } from './fault-server.js';

const fixture = new URL('../../../../test/fixtures/data/fastchat-judge-prompts.jsonl', import.meta.url);

/** A ChatFn from a function of the last user message (and the whole message list). */
const scripted = (f: (user: string, n: number) => string): ChatFn & { calls: number } => {
  const fn = (async (req) => {
    fn.calls++;
    const user = req.messages.filter((m) => m.role === 'user').at(-1)!.content;
    return { content: f(req.messages[1].content + (user === req.messages[1].content ? '' : `\n${user}`), req.messages.length), finishReason: 'stop' };
  }) as ChatFn & { calls: number };
  fn.calls = 0;
  return fn;
};

test("templates equal FastChat's judge_prompts.jsonl byte for byte, rendered as Python's str.format", () => {
  const lines = readFileSync(fixture, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { name: string; system_prompt: string; prompt_template: string });
  const ours = { 'pair-v2': PAIR_V2, 'pair-math-v1': PAIR_MATH_V1, 'single-v1': SINGLE_V1, 'single-math-v1': SINGLE_MATH_V1 } as const;
  assert.equal(lines.length, 4);
  const vars = { question: 'Q {x}', answer_a: 'aa', answer_b: 'bb', answer: 'ans', ref_answer_1: 'ref' };
  for (const l of lines) {
    const t = ours[l.name as keyof typeof ours];
    assert.equal(t.systemPrompt, l.system_prompt, l.name);
    assert.equal(t.promptTemplate, l.prompt_template, l.name);
    // Python's format fills each placeholder once; values are not re-expanded
    const py = l.prompt_template.replace(/\{(\w+)\}/g, (_, k: string) => vars[k as keyof typeof vars]);
    assert.equal(render(t.promptTemplate, vars), py);
  }
});

test('parseVerdict is strict: one distinct [[X]] or nothing', () => {
  assert.equal(parseVerdict('A is better. [[A]]'), 'A');
  assert.equal(parseVerdict('[[C]]'), 'C');
  assert.equal(parseVerdict('I say [[B]]. Final: [[B]]'), 'B');
  assert.equal(parseVerdict('[[A]] or [[B]]'), null);
  assert.equal(parseVerdict('[A]'), null);
  assert.equal(parseVerdict('Assistant A'), null);
  assert.equal(parseVerdict('[[D]]'), null);
});

test('a judge that always prefers position A: both orders asked, every verdict becomes a tie', async () => {
  const judge = scripted(() => 'The first one is better. [[A]]');
  const js = [];
  for (let i = 0; i < 5; i++) js.push(await judgePair(judge, { question: `q${i}`, answerA: `x${i}`, answerB: `y${i}` }));
  assert.equal(judge.calls, 10);
  for (const j of js) {
    assert.equal(j.winner, 'tie');
    assert.equal(j.consistent, false);
    assert.deepEqual(j.games.map((g) => [g.order, g.verdict, g.winner]), [['AB', 'A', 'A'], ['BA', 'A', 'B']]);
    assert.deepEqual(j.games.map((g) => g.raw), [['The first one is better. [[A]]'], ['The first one is better. [[A]]']]);
  }
  const s = pairStats(js);
  assert.deepEqual([s.tie, s.inconsistent, s.winA, s.winB, s.error, s.positionARate, s.winRateAdjustedA], [5, 5, 0, 0, 0, 1, 0.5]);
});

test('a consistent judge: the better answer wins in both orders; the games see swapped positions', async () => {
  const seen: string[] = [];
  const judge = scripted((u) => {
    seen.push(u);
    const a = u.split("[The Start of Assistant A's Answer]\n")[1].split('\n')[0];
    return a === '5' ? 'A is right. [[A]]' : 'B is right. [[B]]';
  });
  const j = await judgePair(judge, { question: 'What is 2+3?', answerA: '6', answerB: '5' });
  assert.equal(j.winner, 'B');
  assert.ok(j.consistent);
  assert.match(seen[0], /Assistant A's Answer\]\n6\n/);
  assert.match(seen[1], /Assistant A's Answer\]\n5\n/);
  assert.equal(j.template, 'pair-v2');
  const m = await judgePair(judge, { question: 'q', answerA: '5', answerB: '6', reference: '5' });
  assert.equal(m.template, 'pair-math-v1');
  assert.equal(m.winner, 'A');
});

test('malformed answers are re-asked; no verdict after the re-asks is an error, never a preference', async () => {
  // first answer malformed, the re-ask answered well
  const fixes = scripted((u) => (u.includes('did not end with a verdict') ? 'Sorry. [[A]]' : 'A looks better'));
  const j = await judgePair(fixes, { question: 'q', answerA: 'a', answerB: 'b' }, { reasks: 2 });
  assert.deepEqual(j.games.map((g) => g.raw.length), [2, 2]);
  assert.equal(j.winner, 'tie'); // position A both times
  const never = scripted(() => 'both fine, [[A]] or [[B]]');
  const e = await judgePair(never, { question: 'q', answerA: 'a', answerB: 'b' }, { reasks: 2 });
  assert.equal(e.winner, 'error');
  assert.equal(never.calls, 6);
  assert.deepEqual(e.games.map((g) => g.verdict), [null, null]);
  assert.equal(pairStats([e]).error, 1);
  assert.ok(Number.isNaN(pairStats([e]).winRateAdjustedA));
});

test('single grading: [[rating]] with the single-bracket fallback; out of range is malformed', async () => {
  assert.equal(parseRating('Rating: [[7]]'), 7);
  assert.equal(parseRating('Rating: [8.5]'), 8.5);
  assert.equal(parseRating('Rating: [[11]]'), null);
  assert.equal(parseRating('seven'), null);
  const g = await gradeSingle(scripted((u) => (u.includes('did not contain a rating') ? 'Rating: [[6]]' : 'good')), { question: 'q', answer: 'a' });
  assert.deepEqual([g.score, g.raw.length, g.template], [6, 2, 'single-v1']);
  const bad = await gradeSingle(scripted(() => 'no idea'), { question: 'q', answer: 'a', reference: 'r' }, { reasks: 1 });
  assert.deepEqual([bad.score, bad.raw.length, bad.template], [null, 2, 'single-math-v1']);
});

test('per-aspect grading: one call per aspect, shown shuffled, mapped back to the caller order', async () => {
  assert.deepEqual(parseAspectRatings('#### Output for Text 2\nRating: 4\nRationale: ok\n#### Output for Text 1\nRating: [2]\n', 2), [2, 4]);
  assert.equal(parseAspectRatings('#### Output for Text 1\nRating: 4\n', 2), null);
  // the judge rates a text by its length in characters (so the mapping back can be checked)
  const judge = scripted((u) => [...u.matchAll(/<text (\d+)> (\S+)/g)].map((m) => `#### Output for Text ${m[1]}\nRating: ${m[2].length}\nRationale: length`).join('\n'));
  const r = await gradeAspects(judge, { question: 'q', answers: ['a', 'bbbb', 'cc', 'ddd'] }, { seed: 7 });
  assert.equal(judge.calls, 3);
  for (const a of ['helpfulness', 'honesty', 'harmlessness']) assert.deepEqual(r.scores[a], [1, 4, 2, 3]);
});

test('rule judge: plugin result in the reply, malformed or unknown commands, unverifiable turns', () => {
  const ctx = '<|Human|>: What is 12*3+4?<eoh>\n';
  const turn = (cmd: string, reply: string) => `<|Inner Thoughts|>: calc<eot>\n<|Commands|>: ${cmd}<eoc>\n<|Results|>:\nNone\n<eor>\n<|MOSS|>: ${reply}<eom>\n`;
  assert.equal(ruleJudge(ctx, turn('Calculate("12*3+4")', 'It is 40.')).score, 1);
  assert.equal(ruleJudge(ctx, turn('Calculate("12*3+4")', 'It is 41.')).score, 0);
  assert.equal(ruleJudge(ctx, turn('Calculate("7/2")', 'It is 3.50.')).score, 1);
  assert.equal(ruleJudge(ctx, turn('Calculate(12*3+4)', 'It is 40.')).score, 0);
  assert.equal(ruleJudge(ctx, turn('Calculate("12*3+4") please', 'It is 40.')).score, 0);
  assert.equal(ruleJudge(ctx, turn('Launch("x")', 'ok')).score, 0);
  assert.equal(ruleJudge(ctx, turn('Calculate("12**")', 'ok')).score, 0);
  assert.equal(ruleJudge(ctx, turn('None', 'It is 40.')).score, null);
  assert.equal(ruleJudge('<|Human|>: solve<eoh>\n', turn('Solve("x^2-5x+6=0")', 'x = 2 or x = 3')).score, 1);
  assert.equal(ruleJudge('<|Human|>: solve<eoh>\n', turn('Solve("x^2-5x+6=0")', 'x = 2')).score, 0);
  // the context may end at <|MOSS|>: with the command in it; the response is the reply alone
  const pre = `${ctx}<|Inner Thoughts|>: calc<eot>\n<|Commands|>: Calculate("12*3+4")<eoc>\n<|Results|>:\nCalculate("12*3+4") => '40'\n<eor>\n<|MOSS|>:`;
  assert.equal(ruleJudge(pre, ' The answer is 40.<eom>').score, 1);
  assert.equal(ruleJudge(pre, ' The answer is 14.<eom>').score, 0);
});

test('judging through the fault-injecting server equals a clean run; the cache answers a re-run', async () => {
  const answer = (b: ReqBody) => {
    const u = b.messages.at(-1)!.content;
    if (u.includes('[[rating]]')) return 'Fine. Rating: [[7]]';
    const a = u.split("[The Start of Assistant A's Answer]\n")[1]?.split('\n')[0] ?? '';
    return a.startsWith('good') ? 'A wins [[A]]' : 'B wins [[B]]';
  };
  const pairs = Array.from({ length: 12 }, (_, i) => (i % 2 ? { question: `q${i}`, answerA: `good ${i}`, answerB: `bad ${i}` } : { question: `q${i}`, answerA: `bad ${i}`, answerB: `good ${i}` }));
  const run = async (url: string, o: { stream?: boolean; cacheDir?: string } = {}) => {
    const c = createCaller({ baseUrl: url, timeoutMs: 1000, minBackoffMs: 5, maxBackoffMs: 50, ...o });
    const js = await Promise.all(pairs.map((p) => judgePair(c.chat, p)));
    const g = await gradeSingle(c.chat, { question: 'q', answer: 'a' });
    return { js, g, stats: c.stats };
  };
  const clean = await startFaultServer({ answer });
  const faulty = await startFaultServer({ answer, faults: ['429', '429s', '500', 'timeout', 'truncated', 'malformed', 'slow'], faultsPerRequest: 2 });
  try {
    const a = await run(clean.url);
    assert.deepEqual(a.js.map((j) => j.winner), pairs.map((_, i) => (i % 2 ? 'A' : 'B')));
    for (const stream of [false, true]) {
      const cache = mkdtempSync(join(tmpdir(), 'moss-judge-cache-'));
      const before = faulty.requests;
      const b = await run(faulty.url, { stream, cacheDir: cache });
      assert.deepEqual(b.js, a.js);
      assert.deepEqual(b.g, a.g);
      assert.ok(b.stats.retries > 0 && faulty.requests - before > 25, `retries ${b.stats.retries}`);
      const again = faulty.requests;
      const c = await run(faulty.url, { stream, cacheDir: cache });
      assert.deepEqual(c.js, a.js);
      assert.equal(faulty.requests, again, 'a cached re-run makes no call');
      assert.equal(c.stats.cacheHits, 25);
    }
    assert.ok(Object.keys(faulty.injected).length >= 6, JSON.stringify(faulty.injected));
  } finally {
    await clean.close();
    await faulty.close();
  }
});
