/**
 * `moss eval tools` held out by construction: every evaluation-split conversation uses a phrasing,
 * number range, subject or chit-chat line reserved for evaluation, no training-split conversation
 * does (the training generator would throw), a prompt found in a training file refuses the score,
 * and the real-human split reads the 93 plugin turns of ../shared/data/moss-sft-heldout (skipped
 * plainly without it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { metaInstruction } from '../../src/chat/meta.js';
import { writeDocuments } from '../../src/data/docs.js';
import { reservedForEval } from '../../src/data/heldout.js';
import { synthConversations } from '../../src/data/synth-plugins.js';
import { normNumber, realCases, recordedNumbers } from '../../src/eval/tools-real.js';
import { evalTools } from '../../src/eval/tools.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const HELDOUT = join(ROOT, '..', 'shared', 'data', 'moss-sft-heldout');
const docs = mkdtempSync(join(tmpdir(), 'moss-heldout-'));
writeDocuments(docs);
const human = (h: string): string => h.slice('<|Human|>: '.length, h.lastIndexOf('<eoh>'));
const mix = { calc: 1, solve: 1, search: 1, image: 1, chat: 1 };

test('evaluation prompts are all reserved; training prompts never are', () => {
  for (const seed of [1000, 5, 77]) {
    for (const c of synthConversations(300, seed, docs, mix, 0.5, 'eval')) {
      const t = c.record.chat.turn_1;
      assert.ok(reservedForEval(human(t.Human!), c.expect.kind, c.expect.arg), `not reserved: ${t.Human}`);
    }
  }
  // the training split of every moss-tiny seed, as drawn (reserved prompts would have thrown)
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
    for (const c of synthConversations(1500, seed, docs, mix)) assert.equal(reservedForEval(human(c.record.chat.turn_1.Human!), c.expect.kind, c.expect.arg), null);
  }
  assert.match(reservedForEval('Work out 2+3', 'calc', '2+3')!, /evaluation template/);
  assert.match(reservedForEval('What is 1200+3?', 'calc', '1200+3')!, /operand of 1000/);
  assert.match(reservedForEval('Solve 12x+3=27', 'solve', '12x+3=27')!, /coefficient of 11–19/);
  assert.match(reservedForEval('Solve x+y=45;2x+3y=110', 'solve', 'x+y=45;2x+3y=110')!, /solution of 20–29/);
  assert.match(reservedForEval('Solve x^2-21x+110=0', 'solve', 'x^2-21x+110=0')!, /root of 10–15/);
  // synth-v2's coefficients 20–99, solutions 30–79 and roots 16–40 stay outside the reserved ranges
  assert.equal(reservedForEval('Solve 25x+3=53', 'solve', '25x+3=53'), null);
  assert.equal(reservedForEval('Solve x+y=70;1x+2y=105', 'solve', 'x+y=70;1x+2y=105'), null);
  assert.equal(reservedForEval('Solve x^2-21x+20=0', 'solve', 'x^2-21x+20=0'), null);
  assert.equal(reservedForEval('What is 12+3?', 'calc', '12+3'), null);
  // synth-v2's long operands (2000–999999) stay outside the reserved 1000–1999
  assert.equal(reservedForEval('What is 2000+3?', 'calc', '2000+3'), null);
  assert.match(reservedForEval('What is 3+1999?', 'calc', '3+1999')!, /operand of 1000–1999/);
});

test('a prompt seen in a training file refuses the score', async () => {
  const tok = loadTokenizer(join(ROOT, 'models', 'moss-tiny'));
  const prompt = human(synthConversations(4, 31, docs, mix, 0.5, 'eval')[2].record.chat.turn_1.Human!);
  const file = join(docs, 'train.jsonl');
  const rec = (h: string): string => JSON.stringify({ conversation_id: 1, meta_instruction: metaInstruction(), num_turns: 1, chat: { turn_1: { Human: `<|Human|>: ${h}<eoh>\n`, MOSS: '<|MOSS|>: ok<eom>\n' } } });
  writeFileSync(file, `${rec('unrelated')}\n${rec(`  ${prompt} `)}\n`);
  const silent = { async *generate() {} };
  const none = { sets: [], drills: [] };
  await assert.rejects(evalTools({ generator: silent, tokenizer: tok, n: 4, seed: 31, trainingFiles: [file], trainingSets: none }), /refusing to score: 1 of 4 prompts occur in the training data/);
  writeFileSync(file, `${rec('unrelated')}\n`);
  const r = await evalTools({ generator: silent, tokenizer: tok, n: 4, seed: 31, trainingFiles: [file], trainingSets: none });
  assert.deepEqual(r.items.map((i) => i.seen), [false, false, false, false]);
  writeFileSync(file, '{"chat": 3}\n');
  await assert.rejects(evalTools({ generator: silent, tokenizer: tok, n: 1, seed: 31, trainingFiles: [file], trainingSets: none }), /train\.jsonl:1: /);
});

test('the real-human split: plugin turns of moss-sft-heldout with checkable numbers', { skip: existsSync(HELDOUT) ? false : `${HELDOUT} is not there` }, () => {
  const cases = realCases(HELDOUT);
  assert.equal(cases.length, 93);
  const names = new Set(cases.flatMap((c) => c.expected));
  assert.deepEqual([...names].sort(), ['Calculate', 'Search', 'Solve', 'Text2Image']);
  assert.ok(cases.filter((c) => c.numbers.length).length >= 20);
  assert.deepEqual(recordedNumbers('Calculate("(12/2)*(2*6+(12-1)*3)") => \'270.0\'\n'), ['270']);
  assert.deepEqual(recordedNumbers('Solve("2/5*x+3/5*x=130") =>\nx = 130.000000000000\n'), ['130']);
  assert.equal(normNumber('-3.50'), '-3.5');
});
