/* global process */
/**
 * `npm run build:tiny:v1`: the recipe that built the bundled models/moss-tiny (v1) with the project's own recipes, from nothing,
 * sized to finish in about 45-50 minutes on 2 busy cores:
 * (1) write the bundled document set and synthetic plugin dialogues (src/data; training seeds are
 *     TRAINING_SEEDS in src/data/dialogues.ts: 1 = SFT dialogues, 2 = pre-training dialogues, 3-9 = later SFT stages),
 * (2) train a byte-level BPE (our trainer) on the text, with every merge that contains a digit
 *     removed so numbers are always spelled digit by digit (copying a number from a tool result
 *     into the reply is then copying the same tokens),
 * (3) pre-train a MOSS model on the text of the real MOSS SFT conversations (../shared/data/moss-sft,
 *     CC BY-NC: read, never copied), the bundled documents and synthetic dialogues,
 * (4) SFT (finetune_moss.py labels, no loss on human turns) on synthetic dialogues + the real plugin
 *     conversations of moss-sft, (5) a second, shorter SFT on fresh synthetic dialogues only (seed 3,
 *     more arithmetic and equations: copying numbers is what the first SFT learns last),
 * (6) a third SFT on fresh synthetic dialogues of up to 10 turns with no meta instruction (seed 4:
 *     about six times more supervised turns per row; copying arguments and results needs them),
 * (7) a fourth SFT like the third on fresh dialogues (seed 5; copying digits in order improves slowly),
 * (8) a fifth SFT on fresh dense dialogues (seed 6, half arithmetic) mixed with as many copy drills
 *     (src/data/drills.ts: "Repeat after me: 4+901-59" -> "4+901-59"; ordered copying is what is missing),
 * (9) a sixth SFT continuing from the fifth at a lower learning rate on fresh dense dialogues (seed 7, 60% arithmetic,
 *     65% Chinese) and copy drills (seed 7) half of which are repeated-digit runs and division results,
 * (10) a seventh SFT from the sixth, lower learning rate again, on seed 8 dialogues (70% arithmetic, 75% Chinese)
 *     and hard copy drills (seed 8),
 * (11) an eighth SFT from the seventh, lower learning rate again and twice the steps, on seed 9 dialogues
 *     (75% arithmetic, 80% Chinese) and hard copy drills (seed 9),
 * then export the HF folder + metrics into models/moss-tiny.
 * MOSS_TINY_SCALE (default 1) scales every step count (e.g. 0.1 for a quick smoke build);
 * MOSS_TINY_OUT / MOSS_TINY_WORK override the output / scratch folders; MOSS_TINY_CONTINUE=N
 * reuses the earlier stages already in the scratch folder and starts at that stage N (5 .. 11);
 * MOSS_TINY_STEPS5 .. 11 override the step count of stage 5 .. 11 (the cosine schedule is laid out over it);
 * MOSS_TINY_RESUME=1 resumes stage 5 .. 11 from its latest checkpoint (with MOSS_TINY_CONTINUE set to it).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderText } from '../dist/src/chat/format.js';
import { synthDialogues } from '../dist/src/data/dialogues.js';
import { copyDrills } from '../dist/src/data/drills.js';
import { writeDocuments } from '../dist/src/data/docs.js';
import { trainBpe, trainedFiles } from '../dist/src/tokenizer/index.js';
import { pretrain, PRETRAIN_DEFAULTS, SPECIAL_TOKENS } from '../dist/src/train/pretrain.js';
import { sft, SFT_DEFAULTS } from '../dist/src/train/sft.js';

const root = resolve(import.meta.dirname, '..');
const shared = process.env.MOSS_SHARED ?? join(root, '..', 'shared');
const out = process.env.MOSS_TINY_OUT ?? join(root, 'models', 'moss-tiny');
const work = process.env.MOSS_TINY_WORK ?? join(root, '.tmp', 'moss-tiny'); // not build/: node-gyp rebuild wipes it
const scale = Number(process.env.MOSS_TINY_SCALE ?? 1);
const t0 = Date.now();
const log = (l) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${l}\n`);
const from = Number(process.env.MOSS_TINY_CONTINUE ?? 1);
const context = 512;
const common = { dtype: 'bf16', evalBatches: 4, logEvery: 10, keepLast: 1 };
const tokDir = join(work, 'tokenizer');
const docsDir = join(work, 'docs');
const stage1 = join(work, 'stage1-summary.json');
const brief = (r) => ({ steps: r.step, firstLoss: r.losses[0]?.loss, lastLoss: r.losses.at(-1)?.loss, eval: r.evals.at(-1), tokPerS: Math.round(r.tokensPerS) });
if (from <= 4) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  // --- 1. data ---
  writeDocuments(docsDir);
  const sftSynth = synthDialogues(3000, 1, docsDir, 3);
  const preSynth = synthDialogues(1500, 2, docsDir, 3);
  writeFileSync(join(work, 'synth.jsonl'), sftSynth.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const sftDir = join(shared, 'data', 'moss-sft');
  const mossFiles = readdirSync(sftDir).filter((f) => f.endsWith('.jsonl')).sort().map((f) => join(sftDir, f));
  const pluginFiles = mossFiles.filter((f) => /[/\\]plugins\./.test(f));
  const mossTexts = [];
  for (const f of mossFiles) for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim()) mossTexts.push(renderText(JSON.parse(line)));
  const docTexts = readdirSync(docsDir).sort().map((f) => readFileSync(join(docsDir, f), 'utf8'));
  const texts = [...docTexts, ...mossTexts, ...preSynth.map(renderText)];
  writeFileSync(join(work, 'corpus.jsonl'), texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  log(`${mossFiles.length} MOSS files (${mossTexts.length} conversations), ${texts.length} documents for pre-training, ${sftSynth.length} synthetic SFT dialogues`);

  // --- 2. tokenizer: byte-level BPE, digits never merged ---
  const vocabTarget = 4096;
  const t = Date.now();
  const bpeTexts = [...docTexts, ...mossTexts.filter((_, i) => i % 2 === 0), ...sftSynth.slice(0, 1500).map(renderText)];
  const r = trainBpe(bpeTexts, vocabTarget + 600, { specialTokens: SPECIAL_TOKENS });
  const merges = r.merges.filter((m) => !/[0-9]/.test(m)).slice(0, vocabTarget - 256 - SPECIAL_TOKENS.length);
  const tok = { tokens: [...r.tokens.slice(0, 256), ...merges.map((m) => m.replace(' ', '')), ...r.specialTokens], merges, specialTokens: r.specialTokens };
  mkdirSync(tokDir, { recursive: true });
  for (const [f, text] of Object.entries(trainedFiles(tok))) writeFileSync(join(tokDir, f), text);
  log(`BPE: ${tok.tokens.length} tokens (${r.merges.length - r.merges.filter((m) => !/[0-9]/.test(m)).length} digit merges dropped) in ${((Date.now() - t) / 1000).toFixed(0)} s`);

  // --- 3. pre-train ---
  const model = { nEmbd: 256, nLayer: 4, nHead: 8, rotaryDim: 16 };
  const pre = pretrain({
    ...PRETRAIN_DEFAULTS, ...common, outDir: join(work, 'pretrain'), data: [join(work, 'corpus.jsonl')], tokenizer: tokDir, model, context,
    steps: Math.max(2, Math.round(40 * scale)), batchSize: 8, lr: 2e-3, minLr: 5e-4, warmupSteps: 10, evalEvery: 0, ckptEvery: 0,
  }, log);

  // --- 4. SFT ---
  const res = sft({
    ...SFT_DEFAULTS, ...common, outDir: join(work, 'sft'), init: join(work, 'pretrain', 'final'), tokenizer: tokDir, humanLoss: false,
    data: [...pluginFiles, join(work, 'synth.jsonl')], context, steps: Math.max(2, Math.round(320 * scale)), batchSize: 4, lr: 2e-3, minLr: 1e-4,
    warmupSteps: 15, weightDecay: 0.0, evalEvery: 80, ckptEvery: 80,
  }, log);

  writeFileSync(stage1, JSON.stringify({ seconds: Math.round((Date.now() - t0) / 1000), vocab: tok.tokens.length, model, pretrain: brief(pre), sft: brief(res) }, null, 2) + '\n');
}

// --- 5-11: SFT stages, each on fresh synthetic dialogues (from 8 on, plus copy drills) from the previous stage's weights ---
/**
 * One of stages 5-11: writes `synth` dialogues (synthDialogues(count, seed, docs, maxTurns, mix, meta,
 * zhShare)) and, when given, `drills` (copyDrills(count, seed, 10, hard)), trains `steps` (MOSS_TINY_STEPS<n>
 * overrides; scaled by MOSS_TINY_SCALE) from `init`/final into `out`, and writes stage<n>-summary.json; a
 * stage before MOSS_TINY_CONTINUE only reads its summary. Returns the summary.
 */
function sftStage(n, key, out, init, synth, drills, o) {
  const file = join(work, `stage${n}-summary.json`);
  if (from <= n) {
    const t = Date.now();
    const dialogues = synthDialogues(synth.count, synth.seed, docsDir, synth.maxTurns ?? 10, synth.mix, synth.meta ?? false, synth.zhShare);
    writeFileSync(join(work, synth.file), dialogues.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const data = [join(work, synth.file)];
    if (drills) {
      writeFileSync(join(work, drills.file), copyDrills(drills.count, drills.seed, 10, drills.hard).map((r) => JSON.stringify(r)).join('\n') + '\n');
      data.push(join(work, drills.file));
    }
    const steps = Number(process.env[`MOSS_TINY_STEPS${n}`] ?? o.steps);
    const res = sft({
      ...SFT_DEFAULTS, ...common, outDir: join(work, out), init: join(work, init, 'final'), tokenizer: tokDir, humanLoss: false,
      data, context, steps: Math.max(2, Math.round(steps * scale)), batchSize: 4, lr: o.lr, minLr: o.minLr,
      warmupSteps: o.warmup, weightDecay: 0.0, evalEvery: o.every, ckptEvery: o.every, keepLast: o.keepLast ?? common.keepLast,
      resume: from === n && process.env.MOSS_TINY_RESUME === '1',
    }, (l) => (l.startsWith('skipped ') ? undefined : log(l)));
    writeFileSync(file, JSON.stringify({ seconds: Math.round((Date.now() - t) / 1000), [key]: brief(res) }, null, 2) + '\n');
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

const s1 = JSON.parse(readFileSync(stage1, 'utf8'));
// 5. second SFT: fresh synthetic dialogues of 1-3 turns under the meta instruction, arithmetic and equations emphasised
const s5 = sftStage(5, 'sft2', 'sft2', 'sft',
  { file: 'synth2.jsonl', count: 2000, seed: 3, maxTurns: 3, meta: true, mix: { calc: 0.35, solve: 0.3, search: 0.15, image: 0.1, chat: 0.1 } },
  null, { steps: 300, lr: 2e-3, minLr: 1e-4, warmup: 10, every: 80 });
// 6. third SFT: dense meta-free dialogues (up to 10 turns), arithmetic and equations emphasised
const s6 = sftStage(6, 'sft3', 'sft3', 'sft2',
  { file: 'synth3.jsonl', count: 1500, seed: 4, mix: { calc: 0.4, solve: 0.35, search: 0.1, image: 0.05, chat: 0.1 } },
  null, { steps: 480, lr: 1.5e-3, minLr: 1e-4, warmup: 10, every: 120 });
// 7. fourth SFT: like the third, on fresh dialogues (seed 5)
const s7 = sftStage(7, 'sft4', 'sft4', 'sft3',
  { file: 'synth4.jsonl', count: 3000, seed: 5, mix: { calc: 0.45, solve: 0.35, search: 0.1, image: 0.05, chat: 0.05 } },
  null, { steps: 1400, lr: 1e-3, minLr: 1e-4, warmup: 10, every: 350 });
// 8. fifth SFT: seed 6 dialogues (half arithmetic) + as many copy drills
const s8 = sftStage(8, 'sft5', 'sft5', 'sft4',
  { file: 'synth5.jsonl', count: 12000, seed: 6, mix: { calc: 0.5, solve: 0.3, search: 0.08, image: 0.06, chat: 0.06 } },
  { file: 'drills.jsonl', count: 12000, seed: 6, hard: false },
  { steps: 1500, lr: 1e-3, minLr: 1e-4, warmup: 50, every: 250 });
// 9. sixth SFT, lower learning rate: seed 7 (60% arithmetic, 65% Chinese) + drills half of them hard
// (repeated-digit runs and division results)
const s9 = sftStage(9, 'sft6', 'sft6', 'sft5',
  { file: 'synth6.jsonl', count: 10000, seed: 7, mix: { calc: 0.6, solve: 0.2, search: 0.08, image: 0.06, chat: 0.06 }, zhShare: 0.65 },
  { file: 'drills6.jsonl', count: 6000, seed: 7, hard: true },
  { steps: 750, lr: 5e-4, minLr: 5e-5, warmup: 30, every: 200, keepLast: 10 });
// 10. seventh SFT, lower again: seed 8 (70% arithmetic, 75% Chinese: most misses were Chinese arithmetic arguments)
const s10 = sftStage(10, 'sft7', 'sft7', 'sft6',
  { file: 'synth7.jsonl', count: 8000, seed: 8, mix: { calc: 0.7, solve: 0.15, search: 0.05, image: 0.05, chat: 0.05 }, zhShare: 0.75 },
  { file: 'drills7.jsonl', count: 3000, seed: 8, hard: true },
  { steps: 600, lr: 3e-4, minLr: 3e-5, warmup: 20, every: 200, keepLast: 10 });
// 11. eighth SFT, lower again and twice the steps: seed 9 (75% arithmetic, 80% Chinese: the misses left were
// Chinese arguments losing their first digit and long results misquoted)
const s11 = sftStage(11, 'sft8', 'sft8', 'sft7',
  { file: 'synth8.jsonl', count: 8000, seed: 9, mix: { calc: 0.75, solve: 0.1, search: 0.05, image: 0.05, chat: 0.05 }, zhShare: 0.8 },
  { file: 'drills8.jsonl', count: 3000, seed: 9, hard: true },
  { steps: 1200, lr: 2e-4, minLr: 2e-5, warmup: 20, every: 300, keepLast: 10 });

// --- export ---
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(work, 'sft8', 'final'))) cpSync(join(work, 'sft8', 'final', f), join(out, f));
for (const [from, to] of [['sft8', 'sft8'], ['sft7', 'sft7'], ['sft6', 'sft6'], ['sft5', 'sft5'], ['sft4', 'sft4'], ['sft3', 'sft3'], ['sft2', 'sft2'], ['sft', 'sft'], ['pretrain', 'pretrain']]) {
  if (existsSync(join(work, from, 'loss.png'))) cpSync(join(work, from, 'loss.png'), join(out, `${to}-loss.png`));
}
const summary = {
  seconds: s1.seconds + s5.seconds + s6.seconds + s7.seconds + s8.seconds + s9.seconds + s10.seconds + s11.seconds, secondsStages1to4: s1.seconds, secondsStage5: s5.seconds,
  secondsStage6: s6.seconds, secondsStage7: s7.seconds, secondsStage8: s8.seconds, secondsStage9: s9.seconds, secondsStage10: s10.seconds, secondsStage11: s11.seconds,
  scale, vocab: s1.vocab, context, model: s1.model, pretrain: s1.pretrain, sft: s1.sft, sft2: s5.sft2, sft3: s6.sft3, sft4: s7.sft4, sft5: s8.sft5, sft6: s9.sft6, sft7: s10.sft7, sft8: s11.sft8,
};
writeFileSync(join(out, 'build-summary.json'), JSON.stringify(summary, null, 2) + '\n');
log(`done: ${JSON.stringify(summary)}`);
