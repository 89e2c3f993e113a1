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
import { calcPairs, PAIR_PHRASES, toolPairs } from '../../src/data/calc-pairs.js';
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

test('calcPairs split eval: held out by construction (every operand set has one of 1000-1999, which the training split never draws; no context shared); the chosen reply states the real plugin result, the rejected one another number', () => {
  const ctxRe = /^<\|Human\|>: (.*)<eoh>\n<\|Inner Thoughts\|>: .*<eot>\n<\|Commands\|>: Calculate\("(.*)"\)<eoc>\n<\|Results\|>:\nCalculate\("(.*)"\) => '(.*)'\n<eor>\n<\|MOSS\|>:$/s;
  const reserved = (arg: string) => (arg.match(/\d+/g) ?? []).some((n) => Number(n) >= 1000 && Number(n) <= 1999);
  const held = calcPairs(60, 202, '', { withMeta: false, far: 1, split: 'eval' });
  const train = calcPairs(300, 101, '', { withMeta: false, far: 1 });
  assert.ok(held.length >= 55 && train.length >= 280, `${held.length} ${train.length}`);
  const evalTemplates = [/^Work out /, /^What do you get for /, /^Please evaluate /, /^I need the value of /, /得多少？$/, /^算一算/, /^请问.*的值是多少？$/, /的计算结果是什么？$/];
  for (const [split, pairs] of [['eval', held], ['train', train]] as const) {
    for (const p of pairs) {
      const m = ctxRe.exec(p.context);
      assert.ok(m, p.context);
      const [, human, arg, arg2, result] = m;
      assert.equal(arg2, arg);
      assert.equal(reserved(arg), split === 'eval', `${split}: ${arg}`);
      assert.equal(evalTemplates.some((re) => re.test(human)), split === 'eval', `${split}: ${human}`);
      assert.equal(result, calculate(arg), arg);
      assert.equal(p.answer, result);
      assert.ok(p.chosen.endsWith('<eom>') && p.chosen.includes(result), p.chosen);
      assert.notEqual(p.rejected, p.chosen);
      const num = (s: string) => /(-?\d+(\.\d+)?)[。.]<eom>$/.exec(s)![1];
      assert.equal(num(p.chosen), result, p.chosen);
      assert.notEqual(num(p.rejected), result, p.rejected);
      const stem = (s: string) => s.replace(/-?\d+(\.\d+)?(?=[。.]<eom>$)/, '');
      assert.equal(stem(p.rejected), stem(p.chosen), 'the same sentence, another number');
    }
  }
  const trainCtx = new Set(train.map((p) => p.context));
  assert.equal(held.filter((p) => trainCtx.has(p.context)).length, 0);
  assert.ok(held.every((p) => p.id.startsWith('calc-eval-202-')));
  assert.deepEqual(calcPairs(60, 202, '', { withMeta: false, far: 1 }).map((p) => p.context).filter((c) => held.some((h) => h.context === c)), [], 'the train split of the same seed draws other conversations');
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
