/**
 * `moss sample` with moss-tiny: context encoding (end tokens are control tokens, nothing in a body
 * ever is), per-sample seeds (sample k is the same whatever --n is; the run repeats byte for byte),
 * plugin commands run at <eoc>, kill -9 + re-run gives the same file, and the output feeds
 * `moss annotate --judge rule`. Samples are batched (--batch-size 8): what else is in the batch
 * changes the f32 logits in the last bits, so `logprob_sum` is compared within 1e-3 (texts, token
 * counts, ids and order exactly).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeContext, promptContext } from '../../../src/data/pipeline/sample.js';
import { loadTokenizer } from '../../../src/io/load-tokenizer.js';
import { runMoss, startMoss, summaryOf, TINY, tmp } from './helpers.js';

const dir = tmp('moss-sample-');
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = loadTokenizer(TINY);

test('contexts: a clean transcript encodes like the whole text; control tokens in a body never become control tokens', () => {
  const ctx = `${promptContext('What is 2+3?')} 5<eom>\n<|Human|>: and 3*4?<eoh>\n<|Inner Thoughts|>: calc<eot>\n<|Commands|>: Calculate("3*4")<eoc>\n<|Results|>:\nCalculate("3*4") => '12'\n<eor>\n<|MOSS|>:`;
  assert.deepEqual(encodeContext(ctx, tok), tok.encode(ctx, { special: 'allow' }));
  const eom = tok.tokenToId('<eom>')!;
  const eot = tok.tokenToId('<|endoftext|>')!;
  const eoh = tok.tokenToId('<eoh>')!;
  const ids = encodeContext('<|Human|>: hi there<|endoftext|> <|Results> x<eoh>\n<|MOSS|>:', tok);
  assert.equal(ids.filter((i) => i === eom || i === eot).length, 0);
  assert.equal(ids.filter((i) => i === eoh).length, 1);
  assert.throws(() => encodeContext('<|Human|>: hi<eom>\n', tok), /<eom> at offset 13 does not close the Human field/);
  assert.throws(() => encodeContext('<|Human|>: hi\n<|MOSS|>:', tok), /Human field is not closed before <\|MOSS\|>: at offset 14/);
});

function writeContexts(): string {
  const lines = [
    { id: 'p1', prompt: 'Hello, who are you?' },
    { id: 'c1', context: '<|Human|>: What is 12*3?<eoh>\n' },
    { id: 'c2', context: '<|Human|>: 解方程2x+3=11<eoh>\n' },
    { id: 'p2', prompt: '你好' },
  ];
  const p = join(dir, 'contexts.jsonl');
  writeFileSync(p, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"id": "x"}\n`);
  return p;
}
const contexts = writeContexts();

interface Rec { id: string; context: string; responses: { text: string; logprob_sum: number; tokens: number }[] }
const recsOf = (file: string): Rec[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
/** Same records; logprob sums within 1e-3. */
function sameSamples(got: Rec[], want: Rec[], what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => {
    const w = want[i];
    assert.deepEqual([g.id, g.context, g.responses.map((r) => [r.text, r.tokens])], [w.id, w.context, w.responses.map((r) => [r.text, r.tokens])], `${what}: ${g.id}`);
    g.responses.forEach((r, k) => assert.ok(Math.abs(r.logprob_sum - w.responses[k].logprob_sum) < 1e-3, `${what}: ${g.id}#${k} logprob_sum ${r.logprob_sum} vs ${w.responses[k].logprob_sum}`));
  });
}
const args = (out: string, n: number, ...more: string[]) => ['sample', '--model', TINY, '--contexts', contexts, '--out', out, '--n', String(n), '--temperature', '0.3,1.0,0.7', '--max-new-tokens', '40', '--seed', '5', '--no-progress', ...more];

test('moss sample: schema, per-sample seeds, repeatable, kill -9 + re-run, then annotate --judge rule', async () => {
  const a = join(dir, 'a.jsonl');
  const r = await runMoss(args(a, 3));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /contexts\.jsonl:5: no "context" or "prompt" string; skipped/);
  assert.equal(summaryOf(r).written, 4);
  const recs = recsOf(a);
  for (const rec of recs) {
    assert.deepEqual(Object.keys(rec), ['id', 'context', 'responses']);
    assert.equal(rec.responses.length, 3);
    for (const x of rec.responses) {
      assert.deepEqual(Object.keys(x), ['text', 'logprob_sum', 'tokens']);
      assert.ok(x.tokens > 0 && x.tokens <= 40 && x.logprob_sum < 0 && Number.isFinite(x.logprob_sum), JSON.stringify(x));
    }
  }
  // the calculator question: moss-tiny calls Calculate, our plugin answers, the reply follows
  const calc = recs.find((x) => x.id === 'c1')!.responses.map((x) => x.text).join('\n');
  assert.match(calc, /<\|Results\|>:\nCalculate\("12\*3"\) => '36'\n<eor>\n<\|MOSS\|>:/);
  const b = join(dir, 'b.jsonl');
  assert.equal((await runMoss(args(b, 2))).code, 0);
  sameSamples(recsOf(b), recs.map((r) => ({ ...r, responses: r.responses.slice(0, 2) })), 'sample k does not depend on --n');
  const k = join(dir, 'k.jsonl');
  const run = startMoss(args(k, 3));
  await new Promise((res) => setTimeout(res, 2000));
  run.child.kill('SIGKILL');
  await run.done;
  assert.equal((await runMoss(args(k, 3))).code, 0);
  sameSamples(recsOf(k), recs, 'sample after kill -9');
  const prefs = join(dir, 'prefs.jsonl');
  const an = await runMoss(['annotate', '--in', a, '--out', prefs, '--judge', 'rule', '--no-progress']);
  assert.equal(an.code, 0, an.err);
  const s = summaryOf(an);
  assert.equal(s.judged, 4);
  for (const p of readFileSync(prefs, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))) assert.ok(p.margin > 0 && p.chosen !== p.rejected);
});
