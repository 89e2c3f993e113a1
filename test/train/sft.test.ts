/** The SFT recipe end to end on a tiny MOSS: bad data reported with file:line and skipped by rule; an HF folder comes out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpe, trainedFiles } from '../../src/tokenizer/index.js';
import { metaInstruction } from '../../src/chat/meta.js';
import { newMoss } from '../../src/models/moss/init.js';
import { exportHfFolder } from '../../src/train/model-io.js';
import { SPECIAL_TOKENS } from '../../src/train/pretrain.js';
import { sft, SFT_DEFAULTS } from '../../src/train/sft.js';

test('sft: malformed lines, bad records and over-long conversations are reported by file:line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moss-sft-'));
  const turn = (h: string, a: string) => ({ Human: `<|Human|>: ${h}<eoh>\n`, MOSS: `<|MOSS|>: ${a}<eom>\n` });
  const meta = 'Be brief.\n';
  const good = { conversation_id: 1, meta_instruction: meta, num_turns: 1, chat: { turn_1: turn('hi', 'hello') } };
  const long = { conversation_id: 2, meta_instruction: meta, num_turns: 2, chat: { turn_1: turn('hi', 'hello'), turn_2: turn('x'.repeat(400), 'ok') } };
  const tooLong = { conversation_id: 3, meta_instruction: meta, num_turns: 1, chat: { turn_1: turn('y'.repeat(400), 'ok') } };
  const file = join(dir, 'data.jsonl');
  writeFileSync(file, [JSON.stringify(good), '{oops', JSON.stringify({ meta_instruction: 1 }), JSON.stringify(long), JSON.stringify(tooLong), JSON.stringify(good)].join('\n') + '\n');
  // a tiny tokenizer and model folder
  const tokDir = join(dir, 'model');
  mkdirSync(tokDir);
  const r = trainBpe([meta, metaInstruction(), 'hello hi ok'], 300, { specialTokens: SPECIAL_TOKENS });
  for (const [f, t] of Object.entries(trainedFiles(r))) writeFileSync(join(tokDir, f), t);
  const { model, configJson } = newMoss({ vocabSize: 300, nEmbd: 16, nLayer: 1, nHead: 4, rotaryDim: 2, nPositions: 128 }, 1);
  exportHfFolder(tokDir, model, configJson, {});
  const lines: string[] = [];
  const res = sft({ ...SFT_DEFAULTS, outDir: join(dir, 'run'), init: tokDir, data: [file], context: 64, steps: 2, batchSize: 1, evalFraction: 0, logEvery: 1, ckptEvery: 0, evalEvery: 0 }, (l) => lines.push(l));
  const skipped = lines.filter((l) => l.startsWith('skipped '));
  assert.equal(skipped.length, 3, skipped.join('\n'));
  assert.match(skipped[0], new RegExp(`${file}:2: malformed JSON`));
  assert.match(skipped[1], /:3: bad record: meta_instruction is not a string/);
  // a conversation cut to the turns that fit is kept and said to be truncated, not skipped
  assert.deepEqual(lines.filter((l) => l.startsWith('truncated ')).map((l) => l.replace(/^.*:(\d+): /, '$1: ')), ['4: conversation longer than the context: kept 1 of 2 turns (meta instruction kept)']);
  // the real length of what did not fit, not the context + 1
  const m = /:5: conversation too long: the meta instruction and first turn are (\d+) tokens, the context holds 65$/.exec(skipped[2]);
  assert.ok(m && Number(m[1]) > 65, skipped[2]);
  assert.ok(lines.some((l) => l.startsWith('3 conversations; 1 truncated to the turns that fit; skipped 3 item(s)')), lines.join('\n'));
  assert.equal(res.step, 2);
  assert.ok(existsSync(join(dir, 'run', 'final', 'model.safetensors')) && existsSync(join(dir, 'run', 'final', 'merges.txt')));
});
