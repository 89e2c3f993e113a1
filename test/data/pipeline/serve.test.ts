/**
 * The data commands against a real `moss serve` (moss-tiny on loopback): `moss synth` writes
 * records that the SFT renderer and `moss train sft` take without a skip (plugin turns included),
 * repeats itself byte for byte (the server's sampling is seeded per request), survives a kill -9,
 * and a cached re-run makes no call; `moss annotate` with moss-tiny as a judge that cannot give
 * verdicts records `error`s, never preferences; `moss sample` → `moss annotate --judge rule`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderSft } from '../../../src/chat/format.js';
import { validateSft } from '../../../src/data/pipeline/validate.js';
import { loadTokenizer } from '../../../src/io/load-tokenizer.js';
import { runMoss, sameLines, startMoss, startServe, summaryOf, TINY, tmp } from './helpers.js';

const dir = tmp('moss-serve-data-');
let serve: { url: string; stop: () => Promise<void> };
const seeds = join(dir, 'seeds.jsonl');
writeFileSync(seeds, [
  { user_prompt: '写一首关于春天的短诗', category: 'helpful_writing' },
  { user_prompt: 'Hello, who are you?', category: 'honest' },
  { user_prompt: 'What is 15*4+7?', category: 'tool' },
  { user_prompt: 'Solve 3x+5=20', category: 'tool' },
  { user_prompt: '请帮我写一个Python函数，计算列表的平均值', category: 'helpful_code' },
  { user_prompt: 'Give me three ideas for a birthday party', category: 'helpful_brainstorming' },
].map((x) => JSON.stringify(x)).join('\n') + '\n');
const synthArgs = (out: string, ...more: string[]) => ['synth', '--endpoint', serve.url, '--prompts', seeds, '--out', out, '--turns', '1..2', '--max-tokens', '48', '--seed', '3', '--tokenizer', TINY, '--max-len', '513', '--no-progress', ...more];

before(async () => {
  serve = await startServe();
});
after(async () => {
  await serve.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('moss synth through moss serve: valid records, plugin turns, train sft takes all without a skip', async () => {
  const out = join(dir, 'synth.jsonl');
  const r = await runMoss(synthArgs(out, '--concurrency', '4', '--cache', join(dir, 'cache')));
  assert.equal(r.code, 0, r.err);
  const s = summaryOf(r);
  assert.equal((s.written as number) + Object.values(s.dropped as Record<string, number>).reduce((a, b) => a + b, 0), 6);
  assert.ok((s.written as number) >= 4, JSON.stringify(s));
  const tok = loadTokenizer(TINY);
  const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const rec of recs) {
    validateSft(rec, { tokenizer: tok, maxLen: 513 });
    assert.equal(renderSft(rec, tok, { maxLen: 513 })!.turns, rec.num_turns);
  }
  const calc = recs.find((x) => x.chat.turn_1.Human.includes('15*4+7'));
  if (calc) assert.match(calc.chat.turn_1['Tool Responses'], /^<\|Results\|>:\n(Calculate\("15\*4\+7"\) => '67'\n|None\n)<eor>\n$/);
  const train = await runMoss(['train', 'sft', '--init', TINY, '--data', out, '--out', join(dir, 'run'), '--steps', '1', '--batch-size', '1', '--context', '512', '--eval-every', '0', '--log-every', '1']);
  assert.equal(train.code, 0, train.err);
  assert.match(train.err, new RegExp(`${recs.length} conversations; no bad data`));
  assert.doesNotMatch(train.err, /skipped/);
  // a cached re-run of a fresh output makes no call and writes the same bytes
  const again = join(dir, 'synth-again.jsonl');
  const c = await runMoss(synthArgs(again, '--cache', join(dir, 'cache')));
  assert.equal(summaryOf(c).calls, 0);
  sameLines(readFileSync(again, 'utf8'), readFileSync(out, 'utf8'), 'cached re-run');
  // no cache, killed mid-run, then re-run: the server's seeded sampling gives the same file
  const killed = join(dir, 'synth-killed.jsonl');
  const run = startMoss(synthArgs(killed, '--concurrency', '2'));
  await new Promise((res) => setTimeout(res, 2500));
  run.child.kill('SIGKILL');
  await run.done;
  const partial = existsSync(killed) ? readFileSync(killed, 'utf8') : '';
  const rr = await runMoss(synthArgs(killed, '--concurrency', '2'));
  assert.equal(rr.code, 0, rr.err);
  sameLines(readFileSync(killed, 'utf8'), readFileSync(out, 'utf8'), `after kill -9 (${partial.split('\n').length - 1} lines before)`);
});

test('moss annotate with moss-tiny as the judge: no verdicts → errors, never preferences', async () => {
  const input = join(dir, 'pairs-in.jsonl');
  writeFileSync(input, `${JSON.stringify({ id: 'a', context: '<|Human|>: What is 2+3?<eoh>\n', responses: ['5', '6'] })}\n`);
  const out = join(dir, 'judged.jsonl');
  const r = await runMoss(['annotate', '--in', input, '--out', out, '--endpoint', serve.url, '--reasks', '1', '--no-progress']);
  assert.equal(r.code, 0, r.err);
  const s = summaryOf(r);
  const j = JSON.parse(readFileSync(`${out}.judgements.jsonl`, 'utf8'));
  if (s.pairs === 0) {
    assert.ok(['error', 'tie'].includes(j.status), j.status);
    assert.equal(readFileSync(out, 'utf8'), '');
  } else assert.equal(j.status, 'pair'); // only if the tiny model happened to write a consistent verdict
  for (const d of j.details) for (const g of d.games) assert.ok(g.verdict === null || ['A', 'B', 'C'].includes(g.verdict));
});
