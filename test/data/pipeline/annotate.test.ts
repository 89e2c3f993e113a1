/**
 * `moss annotate` end to end: the rule judge (no endpoint) prefers replies with the calculator's
 * result; an endpoint judge through the fault-injecting server gives the same pairs and
 * judgements as a clean one (and a cached re-run makes no call, a kill -9 + re-run the same files);
 * a judge that always prefers position A gives only ties (no pair) and a position-A rate of 1; a
 * judge with no verdict gives `error`, never a pair; bad input lines are reported as file:line.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFaultServer, type ReqBody } from './fault-server.js';
import { runMoss, sameLines, startMoss, summaryOf, tmp } from './helpers.js';

const dir = tmp('moss-annotate-');
after(() => rmSync(dir, { recursive: true, force: true }));

const ctx = (q: string) => `<|Human|>: ${q}<eoh>\n`;
const turn = (expr: string, reply: string) => `<|Inner Thoughts|>: use the calculator<eot>\n<|Commands|>: Calculate("${expr}")<eoc>\n<|Results|>:\nNone\n<eor>\n<|MOSS|>: ${reply}<eom>\n`;

/** 12 items: even ones verifiable arithmetic, odd ones free text where the "good" reply says so. */
function writeInput(): string {
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) {
    const expr = `${i + 2}*${i + 5}`;
    const right = (i + 2) * (i + 5);
    lines.push(JSON.stringify(i % 2 === 0
      ? { id: `calc-${i}`, context: ctx(`What is ${expr}?`), responses: [{ text: turn(expr, `It is ${right + 1}.`) }, { text: turn(expr, `It is ${right}.`) }, { text: turn(expr, `It is ${right - 3}.`) }] }
      : { id: `free-${i}`, context: ctx(`Tell me about topic ${i}`), responses: [{ text: ` a bad answer ${i}<eom>` }, { text: ` a good answer ${i}<eom>` }] }));
    if (i === 4) lines.push('{"id": "broken", "context": "x", "responses": ["only one"]}');
  }
  const p = join(dir, 'samples.jsonl');
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}
const input = writeInput();
const lines = (p: string) => readFileSync(p, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('rule judge: the reply with the plugin result is chosen; unverifiable items make no pair; no endpoint needed', async () => {
  const out = join(dir, 'rule.jsonl');
  const r = await runMoss(['annotate', '--in', input, '--out', out, '--judge', 'rule', '--no-progress']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /samples\.jsonl:6: "responses" is not an array of at least 2; skipped/);
  const s = summaryOf(r);
  assert.deepEqual([s.items, s.pairs, s.unverifiable, s.judgeErrors, s.badLines, s.calls], [12, 6, 6, 0, 1, 0]);
  const pairs = lines(out);
  assert.equal(pairs.length, 6);
  for (const p of pairs) {
    assert.deepEqual(Object.keys(p), ['id', 'context', 'chosen', 'rejected', 'margin', 'judge', 'reasons']);
    const i = Number(p.id.split('-')[1]);
    assert.ok(p.chosen.includes(`It is ${(i + 2) * (i + 5)}.`), p.chosen);
    assert.equal(p.margin, 1);
    assert.equal(p.judge, 'rule');
    assert.match(p.reasons[0], /reply has the plugin result/);
  }
  const js = lines(`${out}.judgements.jsonl`);
  assert.deepEqual(js[0].scores, [0, 1, 0]);
  assert.equal(js.find((j: { id: string }) => j.id === 'free-1').status, 'unverifiable');
});

/** The judge: prefers whichever shown answer contains "good" or the right product; position A when told to be biased. */
function judgeAnswer(mode: 'fair' | 'alwaysA' | 'mute') {
  return (b: ReqBody): string => {
    if (mode === 'mute') return 'Both answers have merit.';
    if (mode === 'alwaysA') return 'Assistant A is better. [[A]]';
    const u = b.messages[1].content;
    const a = u.split("[The Start of Assistant A's Answer]\n")[1].split("\n[The End of Assistant A's Answer]")[0];
    const q = u.match(/What is (\d+)\*(\d+)\?/);
    const good = (x: string) => (q ? x.includes(`It is ${Number(q[1]) * Number(q[2])}.`) : x.includes('good'));
    const bb = u.split("[The Start of Assistant B's Answer]\n")[1].split("\n[The End of Assistant B's Answer]")[0];
    return good(a) && !good(bb) ? 'A is right. [[A]]' : good(bb) && !good(a) ? 'B is right. [[B]]' : 'Equal. [[C]]';
  };
}

test('pairwise endpoint judge: faulty run = clean run, cached re-run makes no call, kill -9 + re-run gives the same files', async () => {
  const clean = await startFaultServer({ answer: judgeAnswer('fair') });
  const faulty = await startFaultServer({ answer: judgeAnswer('fair'), faults: ['429', '500', 'timeout', 'truncated', 'malformed', 'slow'], faultsPerRequest: 2 });
  const slow = await startFaultServer({ answer: judgeAnswer('fair'), delayMs: 30 });
  const args = (url: string, out: string, ...more: string[]) => ['annotate', '--in', input, '--out', out, '--endpoint', url, '--model', 'judge-1', '--no-progress', '--timeout', '0.8', ...more];
  try {
    const ref = join(dir, 'pair-clean.jsonl');
    const r = await runMoss(args(clean.url, ref));
    assert.equal(r.code, 0, r.err);
    const s = summaryOf(r);
    // [[A]] in 18 of 48 games: the right-vs-wrong games split A/B evenly, wrong-vs-wrong ones are [[C]]
    assert.deepEqual([s.pairs, s.ties, s.judgeErrors, s.positionARate, s.inconsistentRate], [12, 0, 0, 18 / 48, 0]);
    const pairs = lines(ref);
    for (const p of pairs) {
      assert.equal(p.judge, 'pair-v2:judge-1');
      assert.ok(/good answer|It is (\d+)\./.test(p.chosen));
      assert.equal(p.reasons.length, 2); // both games of the chosen-vs-rejected pair
    }
    assert.equal(pairs.find((p: { id: string }) => p.id === 'calc-0').margin, 1.5); // 2 wins vs 0 wins + 1 tie
    const out = join(dir, 'pair-faulty.jsonl');
    const cache = join(dir, 'judge-cache');
    const f = await runMoss(args(faulty.url, out, '--cache', cache, '--stream', '--concurrency', '12'));
    assert.equal(f.code, 0, f.err);
    sameLines(readFileSync(out, 'utf8'), readFileSync(ref, 'utf8'), 'faulty pairs');
    sameLines(readFileSync(`${out}.judgements.jsonl`, 'utf8'), readFileSync(`${ref}.judgements.jsonl`, 'utf8'), 'faulty judgements');
    rmSync(out);
    rmSync(`${out}.judgements.jsonl`);
    rmSync(`${out}.done`);
    const before = faulty.requests;
    const c = await runMoss(args(faulty.url, out, '--cache', cache));
    assert.equal(faulty.requests, before);
    assert.equal(summaryOf(c).calls, 0);
    sameLines(readFileSync(out, 'utf8'), readFileSync(ref, 'utf8'), 'cached pairs');
    for (const [k, ms] of [450, 800, 1100].entries()) {
      const o = join(dir, `pair-kill-${k}.jsonl`);
      const run = startMoss(args(slow.url, o, '--concurrency', '2'));
      await new Promise((res) => setTimeout(res, ms));
      run.child.kill('SIGKILL');
      await run.done;
      const again = await runMoss(args(slow.url, o, '--concurrency', '2'));
      assert.equal(again.code, 0, again.err);
      sameLines(readFileSync(o, 'utf8'), readFileSync(ref, 'utf8'), `pairs after kill at ${ms} ms`);
      sameLines(readFileSync(`${o}.judgements.jsonl`, 'utf8'), readFileSync(`${ref}.judgements.jsonl`, 'utf8'), `judgements after kill at ${ms} ms`);
    }
  } finally {
    await clean.close();
    await faulty.close();
    await slow.close();
  }
});

test('a judge that always prefers position A: every verdict a tie, no pair; a mute judge: errors, no pair', async () => {
  const biased = await startFaultServer({ answer: judgeAnswer('alwaysA') });
  const mute = await startFaultServer({ answer: judgeAnswer('mute') });
  try {
    const out = join(dir, 'biased.jsonl');
    const r = await runMoss(['annotate', '--in', input, '--out', out, '--endpoint', biased.url, '--no-progress']);
    assert.equal(r.code, 0, r.err);
    const s = summaryOf(r);
    assert.deepEqual([s.pairs, s.ties, s.judgeErrors, s.positionARate, s.inconsistentRate], [0, 12, 0, 1, 1]);
    assert.equal(readFileSync(out, 'utf8'), '');
    for (const j of lines(`${out}.judgements.jsonl`)) for (const d of j.details) assert.equal(d.winner, 'tie');
    const m = join(dir, 'mute.jsonl');
    const e = await runMoss(['annotate', '--in', input, '--out', m, '--endpoint', mute.url, '--reasks', '1', '--no-progress']);
    assert.equal(e.code, 0, e.err);
    const es = summaryOf(e);
    assert.deepEqual([es.pairs, es.judgeErrors, es.errors], [0, 12, 0]);
    assert.equal(readFileSync(m, 'utf8'), '');
    // 6 items x 3 pairs + 6 items x 1 pair, 2 games each, 2 answers per game (one re-ask)
    assert.equal(mute.requests, (6 * 3 + 6) * 2 * 2);
  } finally {
    await biased.close();
    await mute.close();
  }
});
