/**
 * `moss synth` end to end against scripted OpenAI-compatible servers: a clean run gives valid MOSS
 * SFT records (the format module and the SFT renderer of moss-tiny accept every one; plugin turns
 * carry our calculator's results); runs through injected faults (429 + Retry-After, 500, timeouts,
 * truncated SSE, malformed JSON, slow answers), plain and streamed, write the same bytes; with
 * --cache a re-run makes no call; `kill -9` at random points and a re-run give the same file; an
 * always-failing endpoint stops at --max-errors, and the state resumes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderSft } from '../../../src/chat/format.js';
import { validateSft } from '../../../src/data/pipeline/validate.js';
import { loadTokenizer } from '../../../src/io/load-tokenizer.js';
import { startFaultServer, type FaultServer } from './fault-server.js';
import { runMoss, sameLines, scriptedAnswer, startMoss, summaryOf, TINY, tmp, writeSeeds } from './helpers.js';

const dir = tmp('moss-synth-');
const seeds = writeSeeds(dir);
let clean: FaultServer;
let ref = '';
const args = (url: string, out: string, ...more: string[]) => ['synth', '--endpoint', url, '--prompts', seeds, '--out', out, '--turns', '1..3', '--seed', '7', '--no-progress', '--timeout', '0.8', ...more];

before(async () => {
  clean = await startFaultServer({ answer: scriptedAnswer });
});
after(async () => {
  await clean.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a clean run: valid SFT records, plugin results from our plugins, bad lines reported as file:line', async () => {
  const out = join(dir, 'clean.jsonl');
  const r = await runMoss(args(clean.url, out, '--tokenizer', TINY, '--max-len', '2048'));
  assert.equal(r.code, 0, r.err);
  const s = summaryOf(r);
  assert.match(r.err, new RegExp(`${seeds.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: not JSON`));
  assert.deepEqual([s.items, s.written, s.errors, s.badLines, s.repeatedSeeds, s.stopped], [24, 24, 0, 1, 1, null]);
  ref = readFileSync(out, 'utf8');
  const tok = loadTokenizer(TINY);
  const recs = ref.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, 24);
  const turns = new Set<number>();
  for (const rec of recs) {
    validateSft(rec, { tokenizer: tok, maxLen: 2048 });
    assert.equal(renderSft(rec, tok, { maxLen: 2048 })!.turns, rec.num_turns);
    turns.add(rec.num_turns);
  }
  assert.deepEqual([...turns].sort(), [1, 2, 3]);
  const tool = recs.find((x) => x.chat.turn_1.Human.includes('What is 5*8+10?'));
  assert.equal(tool.category, 'tool');
  assert.match(tool.meta_instruction, /- Calculator: enabled\. API: Calculate\(expression\)/);
  assert.equal(tool.chat.turn_1.Commands, '<|Commands|>: Calculate("5*8+10")<eoc>\n');
  assert.equal(tool.chat.turn_1['Tool Responses'], '<|Results|>:\nCalculate("5*8+10") => \'50\'\n<eor>\n');
  assert.equal(tool.chat.turn_1.MOSS, '<|MOSS|>: The result is 50.<eom>\n');
  const plain = recs.find((x) => x.category === 'helpful_code');
  assert.equal(plain.chat.turn_1['Tool Responses'], '<|Results|>: None<eor>\n');
  // the simulated user's "[User]:" prefix is removed
  for (const rec of recs) for (const t of Object.values(rec.chat) as { Human: string }[]) assert.ok(!t.Human.includes('[User]'), t.Human);
});

test('through injected faults (plain and streamed) the file is identical; with --cache a re-run makes no call', async () => {
  const kinds = ['429', '429s', '500', 'timeout', 'truncated', 'malformed', 'slow'] as const;
  for (const stream of [false, true]) {
    const faulty = await startFaultServer({ answer: scriptedAnswer, faults: kinds, faultsPerRequest: 2 });
    try {
      const out = join(dir, `faulty-${stream}.jsonl`);
      const cache = join(dir, `cache-${stream}`);
      const r = await runMoss(args(faulty.url, out, '--cache', cache, '--concurrency', '16', ...(stream ? ['--stream'] : [])));
      assert.equal(r.code, 0, r.err);
      sameLines(readFileSync(out, 'utf8'), ref, `faulty run, stream ${stream}`);
      assert.ok((summaryOf(r).retries as number) > 20, `retries ${summaryOf(r).retries}`);
      for (const f of kinds) assert.ok(faulty.injected[f] > 0, `fault ${f} never injected: ${JSON.stringify(faulty.injected)}`);
      rmSync(out);
      rmSync(`${out}.done`);
      const before = faulty.requests;
      const again = await runMoss(args(faulty.url, out, '--cache', cache, ...(stream ? ['--stream'] : [])));
      assert.equal(again.code, 0, again.err);
      assert.equal(faulty.requests, before, 'the cached re-run called the endpoint');
      assert.equal(summaryOf(again).calls, 0);
      sameLines(readFileSync(out, 'utf8'), ref, `cached re-run, stream ${stream}`);
    } finally {
      await faulty.close();
    }
  }
});

test('kill -9 at random points, then a re-run: the same file as an uninterrupted run', async () => {
  const slow = await startFaultServer({ answer: scriptedAnswer, delayMs: 40 });
  try {
    // deterministic "random" kill times (ms after start), with and without the cache
    const kills = [350, 700, 1000, 1400, 600];
    for (const [i, ms] of kills.entries()) {
      const out = join(dir, `kill-${i}.jsonl`);
      const extra = i % 2 ? ['--cache', join(dir, `kill-cache-${i}`)] : [];
      const run = startMoss(args(slow.url, out, '--concurrency', '3', ...extra));
      await new Promise((r) => setTimeout(r, ms));
      run.child.kill('SIGKILL');
      const killed = await run.done;
      const partial = existsSync(out) ? readFileSync(out, 'utf8') : '';
      assert.ok(ref.startsWith(partial.slice(0, partial.lastIndexOf('\n') + 1)), `kill ${i}: the partial file is not a prefix`);
      const r = await runMoss(args(slow.url, out, '--concurrency', '3', ...extra));
      assert.equal(r.code, 0, r.err);
      sameLines(readFileSync(out, 'utf8'), ref, `kill ${i} at ${ms} ms (${killed.signal}, ${partial.split('\n').length - 1} lines written before)`);
      const s = summaryOf(r);
      assert.equal((s.resumed as number) + (s.written as number), 24);
    }
  } finally {
    await slow.close();
  }
});

test('an always-failing endpoint stops after --max-errors with a summary; the state resumes', async () => {
  const down = await startFaultServer({ alwaysStatus: 503 });
  const out = join(dir, 'down.jsonl');
  try {
    const r = await runMoss(args(down.url, out, '--max-errors', '3', '--max-retries', '2', '--concurrency', '2'));
    assert.equal(r.code, 1);
    const s = summaryOf(r);
    assert.equal(s.written, 0);
    assert.equal(s.errors, 3);
    assert.match(String(s.stopped), /^max-errors: 3 items failed/);
    assert.match(r.err, /stopped: max-errors/);
    assert.match((s.errorSamples as string[])[0], /HTTP 503: scripted outage/);
    assert.ok(down.requests <= 4 * 3 + 2 * 3, `requests ${down.requests}`); // in-flight items finish their retries
    const resumed = await runMoss(args(clean.url, out));
    assert.equal(resumed.code, 0, resumed.err);
    sameLines(readFileSync(out, 'utf8'), ref, 'resumed after the outage');
  } finally {
    await down.close();
  }
});

test('user mistakes are one line', async () => {
  const r = await runMoss(['synth', '--endpoint', 'ftp://x', '--prompts', seeds, '--out', join(dir, 'x.jsonl')]);
  assert.equal(r.code, 1);
  assert.equal(r.err.trim(), 'moss: --endpoint: "ftp://x" is not http(s)');
  const t = await runMoss(['synth', '--endpoint', clean.url, '--prompts', seeds, '--out', join(dir, 'x.jsonl'), '--turns', '3..1']);
  assert.equal(t.err.trim(), 'moss: --turns: "3..1" is not A..B with 1 <= A <= B <= 64');
  const m = await runMoss(['synth', '--endpoint', clean.url, '--prompts', join(dir, 'missing.jsonl'), '--out', join(dir, 'x.jsonl')]);
  assert.match(m.err.trim(), /^moss: .*missing\.jsonl: no such file or folder$/);
});
