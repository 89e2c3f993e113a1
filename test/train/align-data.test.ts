/**
 * The verifiable preference data of the end-to-end alignment checks (docs/alignment.md): tool-use
 * pairs (phrasings of neither the training nor the evaluation split; the chosen turn calls the
 * plugin, the rejected one skips it and states a wrong number) and the rule judge's reward.
 * Scored with `moss eval tools`' own scorer (src/eval/score.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PAIR_PHRASES, toolPairs } from '../../src/data/calc-pairs.js';
import { reservedForEval } from '../../src/data/heldout.js';
import { replyHasAnswer } from '../../src/eval/score.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { BadDataLog } from '../../src/train/corpus.js';
import { IGNORE } from '../../src/train/data.js';
import { readPairs } from '../../src/train/pairs.js';
import { calculate, solve } from '../../src/plugins/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test('toolPairs: new phrasings, the chosen turn calls the plugin and states its result, the rejected skips it with a wrong number', () => {
  const pairs = toolPairs(40, 105);
  assert.ok(pairs.length >= 35, `${pairs.length}`);
  const kinds = new Set<string>();
  for (const p of pairs) {
    const human = p.chat.turn_1.Human!;
    const text = /^<\|Human\|>: (.*)<eoh>\n$/s.exec(human)![1];
    const cmd = /^<\|Commands\|>: (Calculate|Solve)\("(.*)"\)<eoc>\n$/.exec(p.chosen.Commands)!;
    assert.ok(cmd, p.chosen.Commands);
    kinds.add(cmd[1]);
    const kind = cmd[1] === 'Calculate' ? 'calc' : 'solve';
    assert.ok(PAIR_PHRASES[kind].en(cmd[2]).includes(text) || PAIR_PHRASES[kind].zh(cmd[2]).includes(text), text);
    assert.equal(reservedForEval(text, kind, cmd[2]), null);
    // the answer is the real plugin's, the chosen reply states it, the rejected one does not
    assert.equal(p.answer, kind === 'calc' ? calculate(cmd[2]) : solve(cmd[2]).join(', '));
    const expect = { kind, lang: 'en', command: cmd[1], arg: cmd[2], answer: p.answer } as const;
    assert.equal(replyHasAnswer(p.chosen.MOSS, expect), true, p.chosen.MOSS);
    assert.equal(replyHasAnswer(p.rejected.MOSS, expect), false, p.rejected.MOSS);
    assert.equal(p.rejected.Commands, '<|Commands|>: None<eoc>\n');
    assert.ok(p.meta_instruction.length > 0);
  }
  assert.deepEqual([...kinds].sort(), ['Calculate', 'Solve']);
  assert.deepEqual(toolPairs(5, 105), pairs.slice(0, toolPairs(5, 105).length)); // deterministic per seed
});

test('toolPairs render as conversation pairs: loss on thoughts, command and reply, none on the prompt or the plugin result', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-toolpairs-'));
  const file = join(dir, 'p.jsonl');
  writeFileSync(file, toolPairs(4, 105).map((p) => JSON.stringify(p)).join('\n') + '\n');
  const tok = loadTokenizer(join(ROOT, 'models', 'moss-tiny'));
  const bad = new BadDataLog(() => {});
  const items = readPairs([file], tok, { context: 1024 }, bad);
  assert.equal(items.length, 4);
  for (const it of items) {
    const learned = (s: typeof it.chosen) => tok.decode(s.ids.filter((_, i) => s.labels[i] !== IGNORE));
    const c = learned(it.chosen);
    assert.match(c, /<\|Commands\|>: (Calculate|Solve)\(/);
    assert.ok(!/=>/.test(c), `the plugin result carries no loss: ${c}`);
    assert.ok(!c.includes('<|Human|>') && !c.includes('MOSS is a conversational'), c);
    assert.ok(c.endsWith('<eom>') && learned(it.rejected).includes('<|Commands|>: None<eoc>'), c);
  }
});
