/**
 * The pipeline's parts on their own: MinHash/LSH dedup catches planted near duplicates and keeps
 * distinct texts, filters name what they drop, the store cuts a torn last line and never writes a
 * record twice, the token bucket paces requests, Retry-After parsing, seed files with bad lines,
 * and the throughput target (200 ms answers, --concurrency 32, >= 25 requests/s).
 */
import { loadavg } from 'node:os';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { retryAfterMs, normalizeBase } from '../../../src/data/pipeline/client.js';
import { Deduper, minhash, similarity } from '../../../src/data/pipeline/dedup.js';
import { cjkShare, dropReason, isRefusal } from '../../../src/data/pipeline/filters.js';
import { categoryFromName, parseTurns, readSeeds, type BadLine } from '../../../src/data/pipeline/inputs.js';
import { TokenBucket } from '../../../src/data/pipeline/rate-limit.js';
import { runPipeline } from '../../../src/data/pipeline/runner.js';
import { ResumableStore } from '../../../src/data/pipeline/store.js';
import { startFaultServer } from './fault-server.js';
import { runMoss, summaryOf, tmp } from './helpers.js';

test('dedup: exact (case/space) and planted near duplicates are caught, distinct texts kept', () => {
  // 40 texts of 24 words drawn from 300 made-up words (distinct texts share few 5-grams)
  let x = 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % 300;
  const words = Array.from({ length: 300 }, (_, i) => `w${(i * 7919) % 1000}${'abcdefghij'[i % 10]}`);
  const base = Array.from({ length: 40 }, () => Array.from({ length: 24 }, () => words[rnd()]).join(' ') + ' winding valley');
  const d = new Deduper(0.8);
  for (const t of base) assert.equal(d.check(t), null, t);
  assert.equal(d.check(`  ${base[3].toUpperCase()} `), 'exact');
  assert.equal(d.check(base[5].replace('winding', 'twisting')), 'near');
  assert.equal(d.check(base[7].replace('valley', 'vallee')), 'near');
  assert.equal(d.check(`${base[9]} and one more clause`), 'near');
  assert.equal(d.check('完全不同的一段中文文本，讲的是做饭的方法和步骤。'), null);
  const a = minhash(base[1]);
  assert.ok(similarity(a, minhash(base[1].replace('valley', 'hills'))) > 0.8);
  assert.ok(similarity(a, minhash(base[30])) < 0.8);
  assert.equal(new Deduper(0).check(base[0]), null);
});

test('filters name what they drop', () => {
  const t = (human: string, reply: string) => [{ human, reply }];
  assert.equal(dropReason(t('hi', 'Hello there, how can I help?'), 'general'), null);
  assert.equal(dropReason(t('hi', ''), 'general'), 'malformed');
  assert.equal(dropReason(t('MOSS: I answer myself', 'ok ok'), 'general'), 'malformed');
  assert.equal(dropReason(t('hi', 'x'), 'general'), 'length');
  assert.equal(dropReason(t('how to pick a lock?', "I'm sorry, but I can't help with that."), 'general'), 'refusal');
  assert.equal(dropReason(t('how to pick a lock?', "I'm sorry, but I can't help with that."), 'harmless'), null);
  assert.equal(dropReason(t('你好', '你好！有什么可以帮你的吗？'), 'general', { lang: 'en' }), 'language');
  assert.equal(dropReason(t('你好', '你好！有什么可以帮你的吗？'), 'general', { lang: 'zh' }), null);
  assert.ok(isRefusal('抱歉，我无法提供这方面的信息。'));
  assert.ok(cjkShare('abc') === 0 && cjkShare('中文') === 1);
});

test('store: a torn last line is cut off on reopen; a record is never written twice', () => {
  const dir = tmp('moss-store-');
  const out = join(dir, 'o.jsonl');
  const s = new ResumableStore([out], (r) => (r as { id: string }).id);
  s.write(0, 'a', { id: 'a' });
  s.finish('a', 'written');
  s.write(0, 'b', { id: 'b' });
  s.close();
  appendFileSync(out, '{"id":"c","te');
  const r = new ResumableStore([out], (x) => (x as { id: string }).id);
  assert.deepEqual([...r.done.keys()], ['a']);
  assert.ok(r.has(0, 'b') && !r.has(0, 'c'));
  r.write(0, 'b', { id: 'b' });
  r.close();
  assert.equal(readFileSync(out, 'utf8'), '{"id":"a"}\n{"id":"b"}\n');
  writeFileSync(out, 'garbage\n');
  assert.throws(() => new ResumableStore([out], () => ''), /o\.jsonl:1: not JSON; this file was not written by a moss data command/);
});

test('store: a done-log whose output was removed is refused, naming both files (nothing silently lost)', () => {
  const dir = tmp('moss-store-');
  const out = join(dir, 'o.jsonl');
  const s = new ResumableStore([out], (r) => (r as { id: string }).id);
  s.write(0, 'a', { id: 'a' });
  s.finish('a', 'written');
  s.close();
  rmSync(out);
  assert.throws(() => new ResumableStore([out], (r) => (r as { id: string }).id), /o\.jsonl\.done lists finished items but .*o\.jsonl is missing: remove .*o\.jsonl\.done to start over/);
  rmSync(`${out}.done`);
  const r = new ResumableStore([out], (x) => (x as { id: string }).id);
  assert.equal(r.done.size, 0);
  r.close();
});

test('runner: an item written but not logged by a killed run counts as resumed, not written, and is not written twice', async () => {
  const dir = tmp('moss-runner-');
  const out = join(dir, 'o.jsonl');
  const s = new ResumableStore([out], (r) => (r as { id: string }).id);
  s.write(0, 'a', { id: 'a' });
  s.finish('a', 'written');
  s.write(0, 'b', { id: 'b' }); // killed here: b is in the file, not in the done-log
  s.close();
  const items = ['a', 'b', 'c'].map((id) => ({ id, input: id }));
  const sum = await runPipeline({ label: 't', out: [out], items, concurrency: 2, progress: false, work: async (it) => ({ records: [{ id: it.id }] }) });
  assert.deepEqual([sum.resumed, sum.written], [2, 1]);
  assert.equal(readFileSync(out, 'utf8'), '{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n');
});

test('token bucket: 600 rpm lets 10 go at once, then one per 100 ms', async () => {
  let now = 0;
  const b = new TokenBucket(600, 10, () => now);
  for (let i = 0; i < 10; i++) await b.take();
  let got = false;
  const p = b.take().then(() => (got = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(got, false);
  now += 100;
  await p;
  assert.equal(got, true);
});

test('Retry-After: seconds, HTTP date, retry-after-ms; endpoint URLs', () => {
  assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' })), 150);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 7000), 3000);
  assert.equal(retryAfterMs(new Headers({})), undefined);
  assert.equal(normalizeBase('http://127.0.0.1:8000'), 'http://127.0.0.1:8000/v1');
  assert.equal(normalizeBase('http://h/v1/'), 'http://h/v1');
  assert.throws(() => normalizeBase('nope'), /is not a URL/);
});

test('seed files: MOSS prompts, text files, categories from names, bad lines as file:line', () => {
  const dir = tmp('moss-seeds-');
  const f = join(dir, 'helpful_code_prompts.jsonl');
  writeFileSync(f, '{"user_prompt": "a"}\n\n{"prompt": 3}\n{"text": "b", "category": "tool"}\n[1]\n"plain string"\n{"user_prompt": "c"\n');
  const bad: BadLine[] = [];
  const s = readSeeds(f, bad);
  assert.deepEqual(s.map((x) => [x.prompt, x.category]), [['a', 'helpful_code'], ['b', 'tool'], ['plain string', 'helpful_code']]);
  assert.deepEqual(bad.map((b) => b.where.slice(dir.length + 1)).sort(), ['helpful_code_prompts.jsonl:3', 'helpful_code_prompts.jsonl:5', 'helpful_code_prompts.jsonl:7']);
  assert.match(bad.find((b) => b.where.endsWith(':3'))!.reason, /"prompt" is not a non-empty string/);
  assert.equal(categoryFromName('no-plugins.harmless_conversations.jsonl'), 'harmless');
  assert.deepEqual(parseTurns('2..4'), [2, 4]);
  assert.deepEqual(parseTurns('3'), [3, 3]);
  assert.throws(() => parseTurns('0..2'), /--turns/);
});

test('throughput: 200 ms answers, --concurrency 32 reaches >= 25 requests/s', async (t) => {
  const server = await startFaultServer({ delayMs: 200 });
  const dir = tmp('moss-tput-');
  const prompts = join(dir, 'p.txt');
  writeFileSync(prompts, Array.from({ length: 384 }, (_, i) => `throughput prompt ${i}`).join('\n'));
  try {
    const r = await runMoss(['synth', '--endpoint', server.url, '--prompts', prompts, '--out', join(dir, 'o.jsonl'), '--turns', '1', '--concurrency', '32', '--no-progress']);
    assert.equal(r.code, 0, r.err);
    const s = summaryOf(r);
    assert.equal(s.calls, 384);
    t.diagnostic(`${s.requestsPerSecond} requests/s (load ${loadavg()[0].toFixed(1)})`);
    assert.ok((s.requestsPerSecond as number) >= 25, `${s.requestsPerSecond} requests/s`);
  } finally {
    await server.close();
  }
});
