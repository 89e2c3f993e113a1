/**
 * src/data/dialogues.ts: multi-turn synthetic dialogues are valid SFT records built from the
 * single-turn generator's turns in order, restricted-switch conversations stay single-turn, and
 * `withMeta: false` drops only the meta instruction.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkRecord } from '../../src/chat/format.js';
import { metaInstruction } from '../../src/chat/meta.js';
import { synthDialogues } from '../../src/data/dialogues.js';
import { writeDocuments } from '../../src/data/docs.js';
import { synthConversations } from '../../src/data/synth-plugins.js';

const docs = mkdtempSync(join(tmpdir(), 'moss-dialogues-'));
writeDocuments(docs);
const ALL_ON = metaInstruction({ innerThoughts: true, search: true, calculator: true, solver: true, text2image: true });

test('dialogues chain the generator turns in order under one meta instruction', () => {
  const ds = synthDialogues(40, 9, docs, 3);
  const pool = synthConversations(120, 9, docs).map((c) => c.record);
  assert.equal(ds.length, 40);
  let next = 0;
  let multi = 0;
  for (const d of ds) {
    checkRecord(d);
    const turns = Object.values(d.chat);
    assert.equal(turns.length, d.num_turns);
    assert.ok(d.num_turns >= 1 && d.num_turns <= 3);
    if (d.num_turns > 1) {
      multi++;
      assert.equal(d.meta_instruction, ALL_ON);
    }
    // every turn is the next pool conversation's turn (skipping restricted-switch ones after the first)
    for (const [k, t] of turns.entries()) {
      while (k > 0 && pool[next].meta_instruction !== ALL_ON) next++;
      assert.deepEqual(t, pool[next].chat.turn_1);
      if (k === 0) assert.equal(d.meta_instruction, pool[next].meta_instruction);
      next++;
    }
  }
  assert.ok(multi > 10, `only ${multi} multi-turn dialogues`);
});

test('withMeta false keeps the turns and empties the meta instruction', () => {
  const a = synthDialogues(10, 5, docs, 4);
  const b = synthDialogues(10, 5, docs, 4, {}, false);
  assert.deepEqual(b.map((d) => d.chat), a.map((d) => d.chat));
  assert.ok(b.every((d) => d.meta_instruction === ''));
});
