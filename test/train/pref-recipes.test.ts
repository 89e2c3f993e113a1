/**
 * The pm / dpo / steer recipes end to end on a tiny MOSS: bad pairs reported with file:line and
 * skipped with counts; a run killed between checkpoints and resumed follows the uninterrupted loss
 * curve exactly (as the SFT loop test); a PM where a policy is expected (and the reverse) fails
 * naming both; a reference with another tokenizer is refused; pairs render with the SFT mask.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSft } from '../../src/chat/format.js';
import { metaInstruction, parseQuality, withQuality } from '../../src/chat/meta.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { loadModel } from '../../src/models/load.js';
import { trainTokenizerDir, tinyMossDir } from './pref-helpers.js';
import { BadDataLog } from '../../src/train/corpus.js';
import { DPO_DEFAULTS, trainDpo } from '../../src/train/dpo.js';
import { IGNORE } from '../../src/train/data.js';
import { loadTrainableMoss } from '../../src/train/model-io.js';
import { readPairs } from '../../src/train/pairs.js';
import { PM_DEFAULTS, trainPm } from '../../src/train/pm.js';
import { loadRewardModel, scoreSeqs } from '../../src/train/reward-model.js';
import { qualityTags, STEER_DEFAULTS, trainSteer } from '../../src/train/steer.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'moss-pref-'));
const quiet = () => {};

/** Pairs in both forms: plain text and MOSS conversation records. */
function pairLines(n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = 10 + i;
    const ctx = `<|Human|>: what is ${a}+1?<eoh>\n<|MOSS|>:`;
    if (i % 2) lines.push(JSON.stringify({ context: ctx, chosen: ` it is ${a + 1}.<eom>`, rejected: ` it is ${a + 2}.<eom>` }));
    else {
      lines.push(JSON.stringify({
        meta_instruction: 'Be brief.\n', num_turns: 1, chat: { turn_1: { Human: `<|Human|>: what is ${a}+1?<eoh>\n` } },
        chosen: { MOSS: `<|MOSS|>: it is ${a + 1}.<eom>\n` }, rejected: `<|MOSS|>: it is ${a + 3}.<eom>\n`,
      }));
    }
  }
  return lines;
}

function setup(): { dir: string; model: string; data: string } {
  const dir = tmp();
  const model = tinyMossDir(join(dir, 'model'), 7);
  const data = join(dir, 'pairs.jsonl');
  writeFileSync(data, `${pairLines(12).join('\n')}\n`);
  return { dir, model, data };
}

test('pairs: prompt and plugin-result body carry no loss; the completion is the SFT labels, ending at <eom>', () => {
  const { model } = setup();
  const tok = loadTokenizer(model);
  const dir = tmp();
  const f = join(dir, 'p.jsonl');
  const turn = { Human: '<|Human|>: 2+2?<eoh>\n', 'Inner Thoughts': '<|Inner Thoughts|>: calc<eot>\n', Commands: '<|Commands|>: Calculate("2+2")<eoc>\n' };
  const rec = { conversation_id: 1, meta_instruction: 'Be brief.\n', num_turns: 1, chat: { turn_1: turn } };
  const chosen = { 'Tool Responses': "<|Results|>:\nCalculate(\"2+2\") => '4'\n<eor>\n", MOSS: '<|MOSS|>: it is 4<eom>\n' };
  writeFileSync(f, `${JSON.stringify({ ...rec, chosen, rejected: { ...chosen, MOSS: '<|MOSS|>: it is 5<eom>\n' } })}\n`);
  const [p] = readPairs([f], tok, { context: 512 }, new BadDataLog(null));
  const sft = renderSft({ ...rec, chat: { turn_1: { ...turn, ...chosen } } }, tok, { maxLen: 1e9 })!;
  const eom = tok.encode('<eom>', { special: 'allow' })[0];
  assert.equal(p.chosen.ids.at(-1), eom, 'ends at <eom> (the newline after it is dropped)');
  assert.deepEqual(p.chosen.ids, sft.inputIds.slice(0, p.chosen.ids.length));
  const promptLen = renderSft({ ...rec }, tok, { maxLen: 1e9 })!.inputIds.length;
  assert.equal(p.chosen.promptLen, promptLen);
  p.chosen.labels.forEach((l, i) => assert.equal(l, i < promptLen ? IGNORE : sft.labels[i], `label ${i}`));
  assert.ok(sft.labels.slice(promptLen).some((l) => l === IGNORE), 'the Results body is masked as in SFT');
  // the plain-text form tokenises the context and the reply apart, as at inference
  const g = join(dir, 'q.jsonl');
  writeFileSync(g, `${JSON.stringify({ context: 'Be brief.\n<|Human|>: hi<eoh>\n<|MOSS|>:', chosen: ' hello<eom>\n', rejected: ' bye<eom>' })}\n`);
  const [q] = readPairs([g], tok, { context: 512 }, new BadDataLog(null));
  const ctx = tok.encode('Be brief.\n<|Human|>: hi<eoh>\n<|MOSS|>:', { special: 'allow' });
  assert.deepEqual(q.chosen.ids, [...ctx, ...tok.encode(' hello<eom>', { special: 'allow' })]);
  assert.deepEqual(q.chosen.ids, tok.encode('Be brief.\n<|Human|>: hi<eoh>\n<|MOSS|>: hello<eom>', { special: 'allow' }), 'field-wise ids equal whole-string ids');
  assert.equal(q.chosen.labels.filter((l) => l !== IGNORE).length, q.chosen.ids.length - ctx.length);
});

test('bad pairs are reported with file:line and skipped with counts', () => {
  const { model, dir } = setup();
  const tok = loadTokenizer(model);
  const f = join(dir, 'bad.jsonl');
  const ctx = '<|Human|>: hi<eoh>\n<|MOSS|>:';
  writeFileSync(f, [
    JSON.stringify({ context: ctx, chosen: ' a<eom>', rejected: ' b<eom>' }),
    JSON.stringify({ context: ctx, chosen: ' same<eom>', rejected: ' same<eom>' }),
    JSON.stringify({ context: ctx, chosen: '<eom>', rejected: ' b<eom>' }),
    JSON.stringify({ context: ctx, chosen: ' a<eom>', rejected: ` ${'long '.repeat(80)}<eom>` }),
    '{oops',
    JSON.stringify({ context: ctx, chosen: ' a<eom>' }),
  ].join('\n'));
  const lines: string[] = [];
  const bad = new BadDataLog((m) => lines.push(m));
  const pairs = readPairs([f], tok, { context: 64 }, bad);
  assert.equal(pairs.length, 1);
  lines.sort((a, b) => Number(/:(\d+):/.exec(a)![1]) - Number(/:(\d+):/.exec(b)![1])); // malformed JSON is found first, when the file is read
  assert.match(lines[0], new RegExp(`^skipped ${f}:2: chosen and rejected are identical$`));
  assert.match(lines[1], /:3: chosen response is empty$/);
  assert.match(lines[2], /:4: rejected is \d+ tokens with its context, longer than the context \(64\)$/);
  assert.match(lines[3], /:5: malformed JSON/);
  assert.match(lines[4], /:6: needs "chosen" and "rejected"/);
  assert.match(bad.summary(), /^skipped 5 item\(s\): /);
});

function resumeCheck(run: (outDir: string, haltAfter?: number, resume?: boolean) => { losses: { step: number; loss: number }[] }): void {
  const a = run(join(tmp(), 'run'));
  const dir = join(tmp(), 'run');
  run(dir, 5);
  const b = run(dir, undefined, true);
  assert.deepEqual(b.losses.map((l) => l.step), [4, 5, 6, 7, 8]); // from the step-3 checkpoint
  for (const l of b.losses) assert.equal(l.loss, a.losses[l.step - 1].loss, `step ${l.step}`);
}

const loopCfg = { steps: 8, batchSize: 2, ckptEvery: 3, evalEvery: 4, logEvery: 1, evalFraction: 0.25, context: 64, lr: 1e-3, warmupSteps: 2 };

test('pm: held-out accuracy reported, stats saved; killed and resumed it follows the same loss curve; moss score loads it, a policy loader refuses it', () => {
  const { model, data } = setup();
  let out = '';
  resumeCheck((outDir, haltAfter, resume = false) => {
    out = outDir;
    return trainPm({ ...PM_DEFAULTS, outDir, init: model, data: [data], ...loopCfg, resume }, quiet, { haltAfter });
  });
  const cfg = JSON.parse(readFileSync(join(out, 'final', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(cfg.architectures, ['MossForSequenceClassification']);
  for (const k of ['reward_mean', 'reward_std', 'eval_accuracy']) assert.equal(typeof cfg[k], 'number', k);
  const pm = loadRewardModel(join(out, 'final'));
  assert.equal(pm.model.lm_head.weight.shape.join('x'), '1x16');
  pm.model.dispose();
  assert.throws(() => loadModel(join(out, 'final')), /is a preference model .*MossForSequenceClassification.*, but a policy .* is expected here/);
  assert.throws(() => loadTrainableMoss(join(out, 'final')), /is a preference model .*, but a policy/);
  assert.throws(() => loadTrainableMoss(join(out, 'step-00000006')), /is a preference model .*, but a policy/);
  assert.throws(() => loadRewardModel(model), /is a policy .*MossForCausalLM.*, but a preference model .* is expected here/);
  // a step checkpoint loads as a PM too (moss score / steer --pm on the best checkpoint): the last
  // checkpoint holds the weights of the exported final/ folder, read through another path
  const ck = loadRewardModel(join(out, 'step-00000008'));
  assert.equal(ck.tokDir, model);
  const fin = loadRewardModel(join(out, 'final'));
  const seqs = readPairs([data], loadTokenizer(model), { context: 64 }, new BadDataLog(null)).flatMap((p) => [p.chosen, p.rejected]);
  const pad = loadTokenizer(model).encode('<eom>', { special: 'allow' })[0];
  const a = scoreSeqs(ck.model, seqs, pad);
  assert.equal(a.length, 24);
  assert.deepEqual(a, scoreSeqs(fin.model, seqs, pad));
  assert.ok(new Set(a).size > 1);
  ck.model.dispose();
  fin.model.dispose();
});

test('dpo (sigmoid, reference precomputed once): killed and resumed it follows the same loss curve; the cache is reused', () => {
  const { model, data } = setup();
  const logs: string[] = [];
  let out = '';
  resumeCheck((outDir, haltAfter, resume = false) => {
    out = outDir;
    return trainDpo({ ...DPO_DEFAULTS, outDir, init: model, data: [data], ...loopCfg, lr: 1e-3, resume }, (l) => logs.push(l), { haltAfter });
  });
  assert.ok(logs.some((l) => /reference log-probs for 12 pairs read from/.test(l)), 'the resumed run reads the cache');
  assert.throws(() => loadRewardModel(join(out, 'step-00000006')), /step-00000006 is a policy .*, but a preference model .* is expected here/);
});

test('dpo with LoRA and simpo; a reference whose tokenizer differs is refused', () => {
  const { model, data, dir } = setup();
  const r = trainDpo({ ...DPO_DEFAULTS, outDir: join(dir, 'lora'), init: model, data: [data], ...loopCfg, loss: 'simpo', beta: 2, gamma: 0.5, loraRank: 2, lr: 1e-2 }, quiet);
  assert.equal(r.step, 8);
  assert.ok(existsSync(join(dir, 'lora', 'final', 'model.safetensors')));
  const other = join(dir, 'other');
  mkdirSync(other);
  trainTokenizerDir(other, ['completely different words here', 'zebra quartz'], 300);
  tinyMossDir(other, 3, false);
  assert.throws(() => trainDpo({ ...DPO_DEFAULTS, outDir: join(dir, 'ref'), init: model, ref: other, data: [data], ...loopCfg }, quiet), /--ref .*other: its tokenizer differs from the policy's/);
});

test('steer: quantile tags in the meta instruction (no loss); killed and resumed it follows the same loss curve', () => {
  const { model, dir } = setup();
  const f = join(dir, 'scored.jsonl');
  writeFileSync(f, `${Array.from({ length: 12 }, (_, i) => JSON.stringify({ context: `Be brief.\n<|Human|>: n ${i}<eoh>\n<|MOSS|>:`, response: ` ok ${i}<eom>`, reward: i / 10 })).join('\n')}\n`);
  assert.deepEqual(qualityTags([0, 1, 2, 3, 4, 5, 6, 7], 4).tags, [1, 1, 2, 2, 3, 3, 4, 4]);
  assert.equal(parseQuality(withQuality(metaInstruction(), 3, 4))?.tag, 3);
  assert.equal(withQuality(withQuality('x\n', 1, 4), 4, 4), 'x\n- Response quality: 4/4.\n');
  let out = '';
  resumeCheck((outDir, haltAfter, resume = false) => {
    out = outDir;
    return trainSteer({ ...STEER_DEFAULTS, outDir, init: model, data: [f], ...loopCfg, resume }, quiet, { haltAfter });
  });
  assert.equal(JSON.parse(readFileSync(join(out, 'final', 'generation_config.json'), 'utf8')).quality_tags, 4);
});
