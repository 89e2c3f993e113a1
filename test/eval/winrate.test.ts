/**
 * `moss eval winrate`: with a judge that prefers the longer answer (consistent in both orders) the
 * adjusted win rate is (win + tie/2)/n exactly; a judge that always says [[A]] (position bias) makes
 * every pair an inconsistent tie; and the CLI as documented runs against an OpenAI-compatible stub
 * endpoint with two answer files and writes results.json and samples.jsonl.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChatFn } from '../../src/data/pipeline/judge/index.js';
import { judgeAll, winrate } from '../../src/eval/winrate.js';

const between = (s: string, a: string, b: string): string => s.slice(s.indexOf(a) + a.length, s.indexOf(b));
const longer: ChatFn = (req) => {
  const u = String(req.messages.at(-1)!.content);
  const a = between(u, "[The Start of Assistant A's Answer]\n", "\n[The End of Assistant A's Answer]");
  const b = between(u, "[The Start of Assistant B's Answer]\n", "\n[The End of Assistant B's Answer]");
  return Promise.resolve({ content: a.length > b.length ? 'A is better. [[A]]' : a.length < b.length ? '[[B]]' : '[[C]]', finishReason: 'stop' });
};
const alwaysA: ChatFn = () => Promise.resolve({ content: 'Verdict: [[A]]', finishReason: 'stop' });

const items = [
  { question: 'q1', answerA: 'a long answer', answerB: 'short' }, // A wins
  { question: 'q2', answerA: 'x', answerB: 'a longer one' }, // B wins
  { question: 'q3', answerA: 'same', answerB: 'SAME' }, // tie
  { question: 'q4', answerA: 'the longest answer here', answerB: 'b' }, // A wins
];

test('win_rate_adjusted = (win + tie/2)/n, inconsistency and lengths', async () => {
  const r = winrate(items, await judgeAll(longer, items));
  assert.deepEqual([r.win, r.loss, r.tie, r.error, r.n], [2, 1, 1, 0, 4]);
  assert.equal(r.win_rate_adjusted, 2.5 / 4);
  assert.equal(r.inconsistency_rate, 0);
  assert.equal(r.mean_length_a, (13 + 1 + 4 + 23) / 4);
  const biased = winrate(items, await judgeAll(alwaysA, items));
  assert.deepEqual([biased.win, biased.loss, biased.tie], [0, 0, 4]);
  assert.equal(biased.win_rate_adjusted, 0.5);
  assert.equal(biased.inconsistency_rate, 1);
});

test('moss eval winrate with answer files against an OpenAI-compatible judge', async () => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const msgs = (JSON.parse(body) as { messages: { content: string }[] }).messages;
      const u = msgs.at(-1)!.content;
      const a = between(u, "[The Start of Assistant A's Answer]\n", "\n[The End of Assistant A's Answer]");
      const b = between(u, "[The Start of Assistant B's Answer]\n", "\n[The End of Assistant B's Answer]");
      const v = a.length > b.length ? '[[A]]' : a.length < b.length ? '[[B]]' : '[[C]]';
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: v }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const tmp = mkdtempSync(join(tmpdir(), 'moss-winrate-'));
  writeFileSync(join(tmp, 'a.jsonl'), items.map((x) => JSON.stringify({ question: x.question, answer: x.answerA })).join('\n'));
  writeFileSync(join(tmp, 'b.jsonl'), items.map((x) => JSON.stringify({ question: x.question, answer: x.answerB })).join('\n'));
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'moss.js');
  const args = ['eval', 'winrate', '--judge-url', `http://127.0.0.1:${port}/v1`, '--answers-a', join(tmp, 'a.jsonl'), '--answers-b', join(tmp, 'b.jsonl'), '--out', join(tmp, 'out')];
  const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => p.on('close', r));
  server.close();
  assert.equal(code, 0, err);
  assert.match(out, /62\.5% adjusted \(win 2, loss 1, tie 1, error 0; n=4\), inconsistent 0\.0%/);
  const res = JSON.parse(readFileSync(join(tmp, 'out', 'results.json'), 'utf8')) as { win_rate_adjusted: number };
  assert.equal(res.win_rate_adjusted, 0.625);
  assert.equal(readFileSync(join(tmp, 'out', 'samples.jsonl'), 'utf8').trim().split('\n').length, 4);
});
