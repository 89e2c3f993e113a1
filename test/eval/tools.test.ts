/**
 * `moss eval tools` scoring and runner with scripted stand-in generators (no model): an oracle that
 * answers exactly as the synthetic data does must score 100%; stand-ins that pick the wrong plugin,
 * repeat a wrong number or drop an end token must lower exactly the matching rates.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TurnFields } from '../../src/chat/format.js';
import type { TokenGenerator } from '../../src/chat/loop.js';
import { TRAINING_SETS, isTrainingSeed } from '../../src/data/dialogues.js';
import { writeDocuments } from '../../src/data/docs.js';
import { synthConversations } from '../../src/data/synth-plugins.js';
import { formatSummary } from '../../src/eval/report.js';
import { containsNumber, replyHasAnswer, toolAnswer } from '../../src/eval/score.js';
import { evalTools } from '../../src/eval/tools.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { trainBpe, trainedFiles, type Tokenizer } from '../../src/tokenizer/index.js';
import { renderText } from '../../src/chat/format.js';

const SEED = 4242;
const N = 40;
const SPECIALS = ['<|endoftext|>', '<eoh>', '<eot>', '<eoc>', '<eor>', '<eom>'];

function tokenizer(): Tokenizer {
  const docs = mkdtempSync(join(tmpdir(), 'moss-evaltest-docs-'));
  writeDocuments(docs);
  const texts = synthConversations(60, 7, docs).map((c) => renderText(c.record));
  const dir = mkdtempSync(join(tmpdir(), 'moss-evaltest-tok-'));
  mkdirSync(dir, { recursive: true });
  for (const [f, t] of Object.entries(trainedFiles(trainBpe(texts, 500, { specialTokens: SPECIALS })))) writeFileSync(join(dir, f), t);
  return loadTokenizer(dir);
}
const tok = tokenizer();

/** What the synthetic data says for each prompt of the evaluation set (same generator, same seed). */
function expectedTurns(): Map<string, TurnFields> {
  const docs = mkdtempSync(join(tmpdir(), 'moss-evaltest-exp-'));
  writeDocuments(docs);
  const m = new Map<string, TurnFields>();
  const mix = { calc: 1, solve: 1, search: 1, image: 1, chat: 1 };
  for (const c of synthConversations(N, SEED, docs, mix, 0.5, 'eval')) {
    const t = c.record.chat.turn_1;
    m.set(t.Human!.slice('<|Human|>: '.length, t.Human!.lastIndexOf('<eoh>')), t);
  }
  return m;
}
const expected = expectedTurns();

type Edit = (part: 'plan' | 'reply', text: string, t: TurnFields) => string;

/** Answers from the synthetic record of the prompt's human text, after `edit`. */
function oracle(edit: Edit = (_p, s) => s): TokenGenerator {
  return {
    async *generate(promptIds) {
      const p = tok.decode(promptIds);
      const h = p.lastIndexOf('<|Human|>: ');
      const human = p.slice(h + '<|Human|>: '.length, p.indexOf('<eoh>', h));
      const t = expected.get(human);
      assert.ok(t, `unexpected prompt ${human}`);
      const text = p.endsWith('<|MOSS|>:') ? edit('reply', t.MOSS!.slice('<|MOSS|>:'.length, -1), t) : edit('plan', (t['Inner Thoughts']! + t.Commands!).slice(0, -1), t);
      for (const id of tok.encode(text, { special: 'allow' })) yield await Promise.resolve(id);
    },
  };
}

test('a perfect stand-in scores 100% on every check, en and zh, every category', async () => {
  const r = await evalTools({ generator: oracle(), tokenizer: tok, checkOverlap: false, n: N, seed: SEED });
  const s = r.summary;
  for (const k of ['wellFormed', 'rightPlugin', 'rightArgs', 'rightAnswer', 'repeatsResult'] as const) assert.equal(s.overall[k].rate, 1, `${k}: ${formatSummary(s)}`);
  assert.equal(s.overall.repeatsResult.n, s.groups.calc.items + s.groups.solve.items);
  for (const k of ['calc', 'solve', 'search', 'image', 'chat', 'en', 'zh']) assert.ok(s.groups[k]?.items > 0, `no ${k} items`);
  assert.equal(s.overall.rightAnswer.n, s.groups.calc.items + s.groups.solve.items + s.groups.search.items);
  assert.equal(s.overall.rightArgs.n, N - s.groups.chat.items);
  assert.equal(r.trainingSeed, false);
});

test('wrong plugin choice for arithmetic lowers right plugin, args and answer for calc only', async () => {
  const gen = oracle((part, s, t) => (t.Commands!.includes('Calculate(') ? (part === 'plan' ? s.replace('Calculate(', 'Solve(') : s) : s));
  const s = (await evalTools({ generator: gen, tokenizer: tok, checkOverlap: false, n: N, seed: SEED })).summary;
  assert.equal(s.groups.calc.rightPlugin.rate, 0);
  assert.equal(s.groups.calc.rightArgs.rate, 0);
  assert.equal(s.groups.solve.rightPlugin.rate, 1);
  assert.equal(s.overall.wellFormed.rate, 1);
  assert.ok(s.overall.rightPlugin.rate! < 1);
});

test('a reply with a wrong number fails right answer (calc, solve) but keeps plugin and args', async () => {
  const bump = (x: string): string => x.replace(/-?\d+(\.\d+)?/g, (d) => String(Number(d) + 1));
  const gen = oracle((part, s, t) => (part === 'reply' && (t.Commands!.includes('Calculate(') || t.Commands!.includes('Solve(')) ? bump(s) : s));
  const s = (await evalTools({ generator: gen, tokenizer: tok, checkOverlap: false, n: N, seed: SEED })).summary;
  assert.equal(s.groups.calc.rightAnswer.rate, 0, formatSummary(s));
  assert.equal(s.groups.solve.rightAnswer.rate, 0);
  assert.equal(s.groups.search.rightAnswer.rate, 1);
  assert.equal(s.overall.rightPlugin.rate, 1);
  assert.equal(s.overall.rightArgs.rate, 1);
});

test('a wrong argument fails right args; a missing end token fails well-formed', async () => {
  const gen = oracle((part, s, t) => {
    if (part === 'plan' && t.Commands!.includes('Calculate(')) return s.replace(/Calculate\("([^"]*)"\)/, 'Calculate("$1+1")');
    if (part === 'plan' && t.Commands!.includes('Text2Image(')) return s.replace('<eot>', '');
    return s;
  });
  const s = (await evalTools({ generator: gen, tokenizer: tok, checkOverlap: false, n: N, seed: SEED })).summary;
  assert.equal(s.groups.calc.rightArgs.rate, 0);
  assert.equal(s.groups.calc.rightPlugin.rate, 1);
  // the scripted reply still says the right number, which is not what the calculator returned for x+1
  assert.equal(s.groups.calc.repeatsResult.rate, 0);
  assert.equal(s.groups.solve.repeatsResult.rate, 1);
  assert.equal(s.groups.image.wellFormed.rate, 0);
  assert.equal(s.groups.calc.wellFormed.rate, 1);
});

test('training seeds are refused unless allowed, and then marked', async () => {
  assert.ok(TRAINING_SETS.every((s) => isTrainingSeed(s.seed)));
  await assert.rejects(evalTools({ generator: oracle(), tokenizer: tok, checkOverlap: false, n: 2, seed: 1 }), /seed 1 generated training data/);
  const r = await evalTools({ generator: { async *generate() {} }, tokenizer: tok, checkOverlap: false, n: 2, seed: 1, allowTrainingSeed: true });
  assert.equal(r.trainingSeed, true);
  assert.equal(r.summary.overall.wellFormed.rate, 0); // a generator that says nothing is not well-formed
});

test('numbers are matched whole; equation answers part by part', () => {
  assert.ok(containsNumber('23*47 = 1081.', '1081'));
  assert.ok(!containsNumber('10810', '1081'));
  assert.ok(!containsNumber('1081.5', '1081'));
  assert.ok(containsNumber('is -3.5.', '-3.5'));
  const e = { kind: 'solve' as const, lang: 'en' as const, command: 'Solve', arg: 'x+y=7;2x+3y=17', answer: 'x = 4, y = 3' };
  assert.equal(replyHasAnswer('The solution is x = 4, y = 3.', e), true);
  assert.equal(replyHasAnswer('The solution is x=4，y=3。', e), true);
  assert.equal(replyHasAnswer('The solution is x = 4, y = 31.', e), false);
  assert.equal(replyHasAnswer('anything', { ...e, kind: 'image', answer: null }), null);
});

test('the tool answer is read back from the Results field', () => {
  assert.equal(toolAnswer(`<|Results|>:\nCalculate("23*47") => '1081'\n<eor>\n`, 'calc'), '1081');
  assert.equal(toolAnswer(`<|Results|>:\nCalculate("1/0") => 'No result.'\n<eor>\n`, 'calc'), null);
  assert.equal(toolAnswer('<|Results|>:\nSolve("x+y=7;2x+3y=17") =>\nx = 4\ny = 3\n<eor>\n', 'solve'), 'x = 4, y = 3');
  assert.equal(toolAnswer('<|Results|>:\nSolve("x=x+1") =>\nNo result.\n<eor>\n', 'solve'), null);
});
