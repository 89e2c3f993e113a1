/**
 * moss-tiny v2's SFT generator: deterministic, every record valid MOSS data, plugins-on and
 * plugins-off dialogues in the data's two layouts, multi-turn, all ten intents, and held out by
 * construction: no training template (any slot value) and no generated prompt falls in what
 * src/data/heldout.ts reserves for `moss eval tools`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRecord, recordTurns } from '../../src/chat/format.js';
import { writeDocuments } from '../../src/data/docs.js';
import { EVAL_PHRASES, reservedForEval } from '../../src/data/heldout.js';
import { enWords, synthV2, TRAIN_TEMPLATES, zhWords } from '../../src/data/synth-v2.js';

const docs = mkdtempSync(join(tmpdir(), 'moss-v2-docs-'));
writeDocuments(docs);

test('synthV2: deterministic, valid records, plugins on and off, multi-turn, every intent', () => {
  const a = synthV2(400, 21, docs);
  assert.deepEqual(synthV2(400, 21, docs), a);
  assert.notDeepEqual(synthV2(400, 22, docs), a);
  for (const r of a) checkRecord(r);
  const off = a.filter((r) => r.meta_instruction.includes('- Calculator: disabled.'));
  assert.ok(off.length > 40 && off.length < 140, `${off.length} plugins-off dialogues of 400`);
  for (const r of off) for (const t of recordTurns(r)) {
    assert.equal(t.Commands, '<|Commands|>: None<eoc>\n');
    assert.equal(t['Tool Responses'], '<|Results|>: None<eor>\n'); // the no-plugins files' inline layout
  }
  assert.ok(a.some((r) => r.num_turns === 3) && a.some((r) => r.num_turns === 1));
  const humans = a.flatMap((r) => recordTurns(r).map((t) => t.Human ?? ''));
  for (const [what, re] of [['words', /plus|minus|times|divided by|加|减|乘以|除以/], ['percent', /%|percent|百分之/], ['power', /\^|power|squared|次方|次幂/], ['system', /;/], ['refusal', /bomb|virus|炸弹|病毒|system prompt|提示词/]] as const) {
    assert.ok(humans.some((h) => re.test(h)), `no ${what} prompt`);
  }
  assert.ok(a.flatMap((r) => recordTurns(r)).some((t) => (t.Commands ?? '').includes('Search(')));
  assert.ok(a.flatMap((r) => recordTurns(r)).some((t) => (t.Commands ?? '').includes('Text2Image(')));
});

test('held out by construction: no training template or generated prompt is an evaluation phrasing', () => {
  const samples = ['12+7', 'seven plus three', '3x+4=10', 'x+y=10;2x+3y=25', 'a cat on a mat', 'Who built Lumen Bridge?'];
  for (const [kind, langs] of Object.entries(TRAIN_TEMPLATES)) {
    for (const [lang, ts] of Object.entries(langs)) {
      for (const t of ts) for (const s of samples) assert.equal(reservedForEval(t(s), 'chat', null), null, `${kind}/${lang}: ${t(s)}`);
    }
  }
  // and the other way round: every evaluation template filled in is refused as training data
  for (const p of Object.values(EVAL_PHRASES)) for (const t of [...p.en('12+7'), ...p.zh('12+7')]) assert.notEqual(reservedForEval(t, 'calc', '12+7'), null, t);
  // the generated prompts themselves (the generator throws on a leak; this is the overlap check)
  const seen = synthV2(2000, 23, docs).flatMap((r) => recordTurns(r).map((t) => t.Human ?? ''));
  for (const h of seen) assert.equal(reservedForEval(h.replace(/^<\|Human\|>: |<eoh>\n$/g, ''), 'chat', null), null, h);
  assert.equal(enWords(47), 'forty-seven');
  assert.equal(zhWords(47), '四十七');
  assert.equal(zhWords(12), '十二');
});
