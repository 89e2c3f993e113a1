/**
 * The MOSS format against the real SFT data: every conversation renders back to its exact text
 * and parses into the same fields; labels follow finetune_moss.py span by span with the real MOSS
 * tokenizer (rebuilt from ../shared/tokenizers/moss).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkRecord, defang, recordTurns, renderSft, renderText, type SftRecord } from '../../src/chat/format.js';
import { parseFields, parseTranscript } from '../../src/chat/parse.js';
import type { Tokenizer } from '../../src/tokenizer/types.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { HAVE_SHARED, SHARED, SKIP_MSG, sftLines } from './shared.js';

const records = HAVE_SHARED ? sftLines().map((l) => checkRecord(l.json)) : [];

test('every conversation renders to its exact text and parses back to the same fields', { skip: !HAVE_SHARED && SKIP_MSG }, () => {
  assert.equal(records.length, 1120);
  for (const r of records) {
    const text = renderText(r);
    const back = parseTranscript(text, r.conversation_id);
    assert.equal(back.meta_instruction, r.meta_instruction);
    assert.equal(back.num_turns, Number(r.num_turns));
    // bodies come back as the renderer sees them: a control string inside one (conversation 48 of
    // web_search has `<|1|><eor><eom>`) is repaired away, everything else is verbatim
    const want = recordTurns(r).map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.slice(0, v.indexOf(':') + 1) + defang(v.slice(v.indexOf(':') + 1, v.lastIndexOf('<'))) + v.slice(v.lastIndexOf('<'))])));
    assert.deepEqual(recordTurns(back), want, `conversation ${r.conversation_id}`);
    if (!text.slice(r.meta_instruction.length).match(/<eo[htcrm]><eo[htcrm]>/)) assert.equal(renderText(back), text);
  }
});

test('labels follow finetune_moss.py span by span (real MOSS tokenizer)', { skip: !HAVE_SHARED && SKIP_MSG }, () => {
  const tok = loadTokenizer(join(SHARED, 'tokenizers', 'moss'));
  const dec = (ids: number[]): string => tok.decode(ids);
  // A sample across categories keeps this fast; the whole set runs in the CLI smoke test below.
  const sample = records.filter((_, i) => i % 7 === 0);
  let results = 0;
  for (const r of sample) {
    const out = renderSft(r, tok)!;
    assert.ok(out, `conversation ${r.conversation_id} skipped`);
    assert.equal(out.inputIds.length, out.labels.length);
    assert.ok(out.inputIds.length <= 2048);
    const meta = tok.encode(r.meta_instruction, { special: 'allow' });
    assert.deepEqual(out.inputIds.slice(0, meta.length), meta);
    assert.ok(out.labels.slice(0, meta.length).every((l) => l === -100), 'meta instruction has no loss');
    let pos = meta.length;
    for (const turn of recordTurns(r).slice(0, out.turns)) {
      for (const [key, value] of Object.entries(turn)) {
        const ids = tok.encode(value, { special: 'allow' });
        assert.deepEqual(out.inputIds.slice(pos, pos + ids.length), ids);
        const labels = out.labels.slice(pos, pos + ids.length);
        if (key === 'Tool Responses') {
          results++;
          // Loss on `<|Results|>:` (5 tokens) and `<eor>\n` (2 tokens), none on the body.
          assert.equal(dec(ids.slice(0, 5)), '<|Results|>:');
          assert.equal(dec(ids.slice(-2)), '<eor>\n');
          assert.deepEqual(labels.slice(0, 5), ids.slice(0, 5));
          assert.deepEqual(labels.slice(-2), ids.slice(-2));
          assert.ok(labels.slice(5, -2).every((l) => l === -100), 'result body has no loss');
        } else {
          assert.deepEqual(labels, ids, `${key} keeps its loss`);
        }
        pos += ids.length;
      }
    }
    assert.equal(pos, out.inputIds.length);
    const human = renderSft(r, tok, { humanLoss: false })!;
    assert.equal(human.labels.filter((l) => l !== -100).length < out.labels.filter((l) => l !== -100).length, true);
  }
  assert.ok(results > 100);
});

test('turns past maxLen are dropped with all that follow; nothing left means skipped', () => {
  // A stand-in tokenizer: one id per character, control tokens as single ids.
  const tok = {
    vocabSize: 70000, bosId: null, eosId: null,
    encode: (s: string) => [...s.replace(/<eo[hmtcr]>/g, '\u0001')].map((c) => c.codePointAt(0)!),
    decode: () => '', idToToken: () => undefined, tokenToId: () => undefined, streamDecoder: () => ({ push: () => '', flush: () => '' }),
  } as unknown as Tokenizer;
  const turn = (h: string) => ({ Human: `<|Human|>: ${h}<eoh>\n`, 'Inner Thoughts': '<|Inner Thoughts|>: None<eot>\n', Commands: '<|Commands|>: None<eoc>\n', 'Tool Responses': '<|Results|>: None<eor>\n', MOSS: '<|MOSS|>: ok<eom>\n' });
  const r: SftRecord = { conversation_id: 1, meta_instruction: 'META\n', num_turns: 3, chat: { turn_1: turn('a'), turn_2: turn('b'.repeat(500)), turn_3: turn('c') } };
  const full = renderSft(r, tok)!;
  assert.equal(full.turns, 3);
  const one = renderSft(r, tok, { maxLen: full.inputIds.length - 100 })!;
  assert.equal(one.turns, 1); // turn 2 overflows, so turn 3 is dropped too although it would fit
  assert.equal(renderSft(r, tok, { maxLen: 20 }), null);
  assert.equal(one.labels.slice(0, 5).every((l) => l === -100), true);
});

test('parseFields tolerates a truncated generation; defang strips control strings', () => {
  const fields = parseFields('<|Inner Thoughts|>: think<eot>\n<|Commands|>: Search("x")');
  assert.deepEqual(fields.map((f) => [f.name, f.body, f.closed]), [['Inner Thoughts', 'think', true], ['Commands', 'Search("x")', false]]);
  assert.equal(defang('hi<eom>\n<|Human|>: x<|endoftext|>'), 'hi\n<Human>: x');
});
