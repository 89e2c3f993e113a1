/* global process */
/**
 * `npm run build:tiny`: moss-tiny v2 as ONE declarative recipe (RECIPE below), run top to bottom in
 * one process with the roadmap's own tools:
 *   data      — the bundled documents; SFT dialogues from src/data/synth-v2.ts (many phrasing
 *               templates per intent and language: arithmetic in symbols and words, percentages,
 *               powers, equations and systems, search, drawing, chit-chat, refusals; plugins-on AND
 *               plugins-off meta instructions; 1..N turns), held out from `moss eval tools` by
 *               construction (the generator refuses src/data/heldout.ts's templates, subjects and
 *               number ranges) and checked again here (overlap check before training);
 *   tokenizer — a byte-level BPE (our trainer), merges containing a digit dropped;
 *   pretrain  — the documents, the real MOSS SFT conversations (../shared, read by path) and v2 dialogues;
 *   sft       — v2 dialogues + the real plugin conversations; then a dense multi-turn SFT mixed with
 *               copy drills (src/data/drills.ts); then v1's copy schedule (arithmetic-heavy dialogues
 *               with more drills, then hard drills) and a stage of one-digit operands; a copy probe
 *               (held-out drill strings, exact match) after every SFT stage;
 *   preference— `moss sample` from the SFT model on fresh training prompts under the plugins-on meta
 *               instruction, `moss annotate --judge rule` (verified pairs), plus calculator and
 *               tool-use pairs (src/data/calc-pairs.ts), then DPO.
 * Writes the HF folder + build-summary.json into MOSS_TINY_OUT (default .tmp/moss-tiny-v2/out: the
 * bundled models/moss-tiny (v1, `npm run build:tiny:v1`) is replaced only by hand, after `moss eval
 * tools` shows v2 is better). MOSS_TINY_SCALE (default 1) scales every step and data count (0.01
 * for a smoke build); MOSS_TINY_MICRO=1 also shrinks the model, context and vocabulary (tests);
 * MOSS_TINY_WORK overrides the scratch folder; MOSS_TINY_FROM=<stage> goes on from its earlier stages. Same inputs, same bits: every stage is seeded.
 * Not here: hyper-parameter search; the v1 recipe (scripts/build-tiny-v1.mjs).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fieldText, noneFields, recordTurns, renderText } from '../dist/src/chat/format.js';
import { calcPairs, toolPairs } from '../dist/src/data/calc-pairs.js';
import { writeDocuments } from '../dist/src/data/docs.js';
import { copyDrills, drillText } from '../dist/src/data/drills.js';
import { generateAll } from '../dist/src/generate/generate.js';
import { loadTokenizer } from '../dist/src/io/load-tokenizer.js';
import { loadModel } from '../dist/src/models/load.js';
import { Generator } from '../dist/src/tensor/index.js';
import { reservedForEval } from '../dist/src/data/heldout.js';
import { synthV2 } from '../dist/src/data/synth-v2.js';
import { trainBpe, trainedFiles } from '../dist/src/tokenizer/index.js';
import { trainDpo, DPO_DEFAULTS } from '../dist/src/train/dpo.js';
import { pretrain, PRETRAIN_DEFAULTS, SPECIAL_TOKENS } from '../dist/src/train/pretrain.js';
import { sft, SFT_DEFAULTS } from '../dist/src/train/sft.js';

const root = resolve(import.meta.dirname, '..');
const shared = process.env.MOSS_SHARED ?? join(root, '..', 'shared');
const work = resolve(process.env.MOSS_TINY_WORK ?? join(root, '.tmp', 'moss-tiny-v2'));
const out = resolve(process.env.MOSS_TINY_OUT ?? join(work, 'out'));
const scale = Number(process.env.MOSS_TINY_SCALE ?? 1);
const micro = process.env.MOSS_TINY_MICRO === '1';

// ---------------------------------------------------------------- the recipe
// dialogues of the copy stages: mostly arithmetic and equations (v1's stages 8-11 were 50-75% arithmetic)
const ARITH_MIX = { calc: 0.3, words: 0.1, percent: 0.1, power: 0.1, linear: 0.15, system: 0.1, search: 0.05, image: 0.03, chat: 0.05, refusal: 0.02 };
const RECIPE = {
  model: micro ? { nEmbd: 32, nLayer: 1, nHead: 4, rotaryDim: 8 } : { nEmbd: 256, nLayer: 4, nHead: 8, rotaryDim: 16 },
  context: micro ? 2048 : 512,
  vocab: micro ? 800 : 4096,
  common: { dtype: 'bf16', evalBatches: 4, logEvery: 10, keepLast: 1, ckptEvery: 0 },
  data: {
    pretrainDialogues: { n: 3000, seed: 21, maxTurns: 3 },
    sft: { n: 9000, seed: 22, maxTurns: 3, pluginsOffShare: 0.2 },
    dense: { n: 6000, seed: 23, maxTurns: 6, pluginsOffShare: 0.2 },
    drills: { n: 3000, seed: 27 },
    hardDrills: { n: 3000, seed: 28 },
    // the copy stages (v1's schedule, scripts/build-tiny-v1.mjs stages 8-11: it is what taught v1 to copy arguments)
    arith: { n: 6000, seed: 31, maxTurns: 6, pluginsOffShare: 0.2, mix: ARITH_MIX },
    copyDrills: { n: 12000, seed: 32 },
    arithHard: { n: 3000, seed: 33, maxTurns: 6, pluginsOffShare: 0.2, mix: ARITH_MIX },
    copyHardDrills: { n: 6000, seed: 34 },
    // one-digit operands: "What is 7+8?" came out as Calculate("7^8") (in training, small pairs were mostly powers)
    smallArith: { n: 4000, seed: 35, maxTurns: 6, pluginsOffShare: 0.2, mix: ARITH_MIX, smallOperands: 0.5 },
    copyProbe: { n: micro ? 4 : 100, seed: 90 },
    samplePrompts: { n: 300, seed: 24 },
    calcPairs: { n: 3000, seed: 25 },
    toolPairs: { n: 1200, seed: 26 },
  },
  stages: [
    { name: 'pretrain', recipe: 'pretrain', steps: 500, batchSize: 8, lr: 2e-3, minLr: 2e-4, warmupSteps: 20 },
    { name: 'sft', recipe: 'sft', init: 'pretrain', data: ['sft', 'moss-plugins'], steps: 2400, batchSize: 4, lr: 2e-3, minLr: 1e-4, warmupSteps: 20 },
    { name: 'sft-dense', recipe: 'sft', init: 'sft', data: ['dense', 'drills', 'hard-drills'], steps: 1600, batchSize: 4, lr: 1e-3, minLr: 5e-5, warmupSteps: 20 },
    { name: 'copy', recipe: 'sft', init: 'sft-dense', data: ['arith', 'copy-drills'], steps: 1200, batchSize: 4, lr: 1e-3, minLr: 1e-4, warmupSteps: 50 },
    { name: 'copy-hard', recipe: 'sft', init: 'copy', data: ['arith-hard', 'copy-hard-drills'], steps: 600, batchSize: 4, lr: 3e-4, minLr: 2e-5, warmupSteps: 20 },
    { name: 'small', recipe: 'sft', init: 'copy-hard', data: ['small-arith', 'drills'], steps: 400, batchSize: 4, lr: 3e-4, minLr: 2e-5, warmupSteps: 20 },
    { name: 'dpo', recipe: 'dpo', init: 'small', data: ['prefs', 'calc-pairs', 'tool-pairs'], steps: 200, batchSize: 8, lr: 2e-5, minLr: 2e-6, warmupSteps: 10, beta: 0.1 },
  ],
};

const t0 = Date.now();
const log = (l) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${l}\n`);
const n = (k) => Math.max(8, Math.round(k * scale));
const steps = (k) => Math.max(2, Math.round(k * scale));
const jsonl = (file, rows) => writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const brief = (r) => ({ steps: r.step, firstLoss: r.losses[0]?.loss, lastLoss: r.losses.at(-1)?.loss, eval: r.evals.at(-1), tokPerS: Math.round(r.tokensPerS), ...(r.copyProbe ? { copyProbe: r.copyProbe } : {}) });
// MOSS_TINY_FROM=<stage>: go on from the previous stages' outputs in MOSS_TINY_WORK (every data file and
// the tokenizer are regenerated identically; the stages before <stage> are not rerun)
const from = process.env.MOSS_TINY_FROM;
const fromAt = from ? RECIPE.stages.findIndex((s) => s.name === from) : 0;
if (fromAt < 0) throw new Error(`MOSS_TINY_FROM=${from}: no such stage (${RECIPE.stages.map((s) => s.name).join(', ')})`);
if (fromAt > 0 && !existsSync(join(work, RECIPE.stages[fromAt - 1].name, 'final'))) throw new Error(`MOSS_TINY_FROM=${from}: ${join(work, RECIPE.stages[fromAt - 1].name, 'final')} is not there`);
if (!fromAt) rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const docsDir = join(work, 'docs');
const tokDir = join(work, 'tokenizer');
const file = (name) => join(work, `${name}.jsonl`);

// ---------------------------------------------------------------- data (+ overlap check)
writeDocuments(docsDir);
const v2 = (k) => synthV2(n(RECIPE.data[k].n), RECIPE.data[k].seed, docsDir, RECIPE.data[k]);
const sets = { sft: v2('sft'), dense: v2('dense'), arith: v2('arith'), 'arith-hard': v2('arithHard'), 'small-arith': v2('smallArith') };
for (const [name, recs] of Object.entries(sets)) {
  for (const r of recs) for (const t of recordTurns(r)) {
    const leak = reservedForEval(t.Human.replace(/^<\|Human\|>: |<eoh>\n$/g, ''), 'chat', null);
    if (leak) throw new Error(`build:tiny: ${name} ${r.conversation_id} overlaps the held-out split: ${leak}`);
  }
  jsonl(file(name), recs);
}
// copy drills ("Repeat after me: 4+901-59" -> "4+901-59", src/data/drills.ts): without them the SFT model
// calls the right plugin but writes made-up arguments (0% right args at 2400 SFT steps; v1 learned to copy from them)
jsonl(file('drills'), copyDrills(n(RECIPE.data.drills.n), RECIPE.data.drills.seed, 10, false));
jsonl(file('hard-drills'), copyDrills(n(RECIPE.data.hardDrills.n), RECIPE.data.hardDrills.seed, 10, true));
jsonl(file('copy-drills'), copyDrills(n(RECIPE.data.copyDrills.n), RECIPE.data.copyDrills.seed, 10, false));
jsonl(file('copy-hard-drills'), copyDrills(n(RECIPE.data.copyHardDrills.n), RECIPE.data.copyHardDrills.seed, 10, true));
const sftDir = join(shared, 'data', 'moss-sft');
const mossFiles = existsSync(sftDir) ? readdirSync(sftDir).filter((f) => f.endsWith('.jsonl')).sort().map((f) => join(sftDir, f)) : [];
if (!mossFiles.length) log(`no ${sftDir}: building without the real MOSS conversations`);
const mossRecs = mossFiles.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)));
const mossKept = mossRecs.slice(0, micro ? n(mossRecs.length) : mossRecs.length);
const docTexts = readdirSync(docsDir).filter((f) => !f.startsWith('.')).sort().map((f) => readFileSync(join(docsDir, f), 'utf8'));
const corpus = [...docTexts, ...mossKept.map(renderText), ...v2('pretrainDialogues').map(renderText)];
jsonl(file('corpus'), corpus.map((text) => ({ text })));
jsonl(file('moss-plugins'), mossKept.filter((r) => /^plugins\./.test(String(r.category ?? '')) || Object.values(r.chat ?? {}).some((t) => !/None<eoc>/.test(t.Commands ?? 'None<eoc>'))));
log(`data: ${corpus.length} pre-training documents, ${Object.values(sets).map((r) => r.length).join(' + ')} v2 dialogues (0 held-out prompts)`);

// ---------------------------------------------------------------- tokenizer: digits never merged
{
  const t = Date.now();
  const r = trainBpe(corpus.filter((_, i) => i % 2 === 0), RECIPE.vocab + 600, { specialTokens: SPECIAL_TOKENS });
  const merges = r.merges.filter((m) => !/[0-9]/.test(m)).slice(0, RECIPE.vocab - 256 - SPECIAL_TOKENS.length);
  const tok = { tokens: [...r.tokens.slice(0, 256), ...merges.map((m) => m.replace(' ', '')), ...r.specialTokens], merges, specialTokens: r.specialTokens };
  mkdirSync(tokDir, { recursive: true });
  for (const [f, text] of Object.entries(trainedFiles(tok))) writeFileSync(join(tokDir, f), text);
  log(`BPE: ${tok.tokens.length} tokens in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

// ---------------------------------------------------------------- preference data (between SFT and DPO)
function preferenceData(policy) {
  const prompts = synthV2(n(RECIPE.data.samplePrompts.n), RECIPE.data.samplePrompts.seed, docsDir, { mix: { calc: 0.5, words: 0.2, percent: 0.15, power: 0.15 }, pluginsOffShare: 0, maxTurns: 1 });
  jsonl(file('contexts'), prompts.map((r) => ({ id: r.conversation_id, context: r.meta_instruction + r.chat.turn_1.Human })));
  // `moss sample` and `moss annotate` resume from their outputs and `.done` logs: never from another policy's samples
  for (const f of ['samples', 'prefs']) for (const p of [file(f), `${file(f)}.done`, `${file(f)}.judgements.jsonl`]) rmSync(p, { force: true });
  const moss = (...args) => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'moss.js'), ...args], { encoding: 'utf8', cwd: work });
    if (r.status !== 0) throw new Error(`moss ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  };
  const s = moss('sample', '--model', policy, '--contexts', file('contexts'), '--out', file('samples'), '--n', '4', '--temperature', '0.7', '--seed', '1', '--max-new-tokens', '48', '--search-dir', docsDir, '--no-progress', '--threads', '2');
  const a = moss('annotate', '--in', file('samples'), '--out', file('prefs'), '--judge', 'rule', '--no-progress');
  if (!existsSync(file('prefs'))) writeFileSync(file('prefs'), '');
  jsonl(file('calc-pairs'), calcPairs(n(RECIPE.data.calcPairs.n), RECIPE.data.calcPairs.seed, docsDir, { withMeta: false }));
  const tools = toolPairs(n(RECIPE.data.toolPairs.n), RECIPE.data.toolPairs.seed).map((p) => ({ ...p, meta_instruction: '' }));
  jsonl(file('tool-pairs'), tools);
  log(`preference data: ${s.written} contexts sampled x4, rule judge: ${a.pairs} pairs, ${a.ties} ties, ${a.unverifiable} unverifiable; + ${n(RECIPE.data.calcPairs.n)} calculator pairs + ${tools.length} tool-use pairs`);
  return { sampled: s.written, pairs: a.pairs, ties: a.ties, unverifiable: a.unverifiable, calcPairs: n(RECIPE.data.calcPairs.n), toolPairs: tools.length };
}

// ---------------------------------------------------------------- copy probe (after every SFT stage)
// Greedy replies to "Repeat after me: <s>" for strings drawn from the drill generator with a seed no
// training set uses (src/data/drills.ts drillText; the plugins-on empty fields, no meta instruction):
// the share whose reply contains <s> exactly (not inside a longer number). Calculator arguments are
// such copies; v2's first build routed right and copied nothing (0% right args), so the build says it.
async function copyProbe(dir) {
  const { model } = loadModel(dir);
  const tok = loadTokenizer(dir);
  const eom = tok.encode('<eom>', { special: 'allow' })[0];
  const g = new Generator(RECIPE.data.copyProbe.seed * 7919 + 1);
  const strings = Array.from({ length: RECIPE.data.copyProbe.n }, () => drillText(g));
  const prompts = strings.map((s) => tok.encode(Object.values({ Human: fieldText('Human', ` Repeat after me: ${s}`), ...noneFields(true) }).join('') + '<|MOSS|>:', { special: 'allow' }));
  const { ids } = await generateAll(model, prompts, { maxNewTokens: 64, temperature: 0, stopIds: [eom], seed: 1 });
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ok = ids.filter((row, i) => new RegExp(`(^|[^0-9.])${esc(strings[i])}($|[^0-9])`).test(tok.decode(row, { skipSpecial: true }))).length;
  return { n: strings.length, exact: ok, rate: ok / strings.length, example: { string: strings[0], reply: tok.decode(ids[0], { skipSpecial: true }).trim() } };
}

// ---------------------------------------------------------------- stages
const summary = { recipe: RECIPE, scale, micro, from, stages: {} };
// going on from a stage: the earlier stages' figures come from the previous run's summary (each keeps its own seconds)
const prevSummary = join(out, 'build-summary.json');
if (fromAt > 0 && existsSync(prevSummary)) {
  const prev = JSON.parse(readFileSync(prevSummary, 'utf8'));
  for (const st of RECIPE.stages.slice(0, fromAt)) if (prev.stages?.[st.name]) summary.stages[st.name] = prev.stages[st.name];
  summary.earlierRuns = [...(prev.earlierRuns ?? []), { from: prev.from ?? null, seconds: prev.seconds }];
}
for (const st of RECIPE.stages.slice(fromAt)) {
  const t = Date.now();
  const base = { ...RECIPE.common, outDir: join(work, st.name), steps: steps(st.steps), batchSize: st.batchSize, lr: st.lr, minLr: st.minLr, warmupSteps: st.warmupSteps, evalEvery: 0 };
  const init = st.init && join(work, st.init, 'final');
  const quiet = (l) => (l.startsWith('skipped ') || l.startsWith('truncated ') ? undefined : log(l)); // per-item lines; the counts come in the summary line
  let res;
  if (st.recipe === 'pretrain') {
    res = pretrain({ ...PRETRAIN_DEFAULTS, ...base, data: [file('corpus')], tokenizer: tokDir, model: RECIPE.model, context: RECIPE.context }, quiet);
  } else if (st.recipe === 'sft') {
    res = sft({ ...SFT_DEFAULTS, ...base, init, humanLoss: false, weightDecay: 0, data: st.data.map(file), context: RECIPE.context }, quiet);
    res.copyProbe = await copyProbe(join(work, st.name, 'final'));
    log(`${st.name}: copy probe ${res.copyProbe.exact}/${res.copyProbe.n} (${JSON.stringify(res.copyProbe.example)})`);
  } else {
    summary.preference = preferenceData(init);
    res = trainDpo({ ...DPO_DEFAULTS, ...base, init, beta: st.beta, data: st.data.map(file), context: RECIPE.context, evalFraction: 0.05 }, quiet);
  }
  summary.stages[st.name] = { seconds: Math.round((Date.now() - t) / 1000), ...brief(res) };
}

// ---------------------------------------------------------------- export
const last = join(work, RECIPE.stages.at(-1).name, 'final');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(last)) cpSync(join(last, f), join(out, f));
for (const st of RECIPE.stages) if (existsSync(join(work, st.name, 'loss.png'))) cpSync(join(work, st.name, 'loss.png'), join(out, `${st.name}-loss.png`));
summary.seconds = Math.round((Date.now() - t0) / 1000);
writeFileSync(join(out, 'build-summary.json'), JSON.stringify(summary, null, 2) + '\n');
log(`done in ${summary.seconds} s: ${out}`);
