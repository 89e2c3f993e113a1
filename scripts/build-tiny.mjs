/* global process */
/**
 * `npm run build:tiny`: rebuilds models/moss-tiny with the project's own recipes, from nothing:
 * (1) write the bundled document set and synthetic plugin conversations (src/data, seed 1),
 * (2) pre-train a byte-level BPE + MOSS model on the text of the real MOSS SFT conversations
 *     (../shared/data/moss-sft, CC BY-NC: read, never copied) and the synthetic ones,
 * (3) SFT on both with finetune_moss.py labels, (4) export the HF folder + metrics into models/moss-tiny.
 * MOSS_TINY_SCALE (default 1) scales every step count (e.g. 0.25 for a quick smoke build).
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderText } from '../dist/src/chat/format.js';
import { writeDocuments } from '../dist/src/data/docs.js';
import { synthConversations } from '../dist/src/data/synth-plugins.js';
import { pretrain, PRETRAIN_DEFAULTS } from '../dist/src/train/pretrain.js';
import { sft, SFT_DEFAULTS } from '../dist/src/train/sft.js';

const root = resolve(import.meta.dirname, '..');
const shared = process.env.MOSS_SHARED ?? join(root, '..', 'shared');
const out = join(root, 'models', 'moss-tiny');
const work = join(root, 'build', 'moss-tiny');
const scale = Number(process.env.MOSS_TINY_SCALE ?? 1);
const t0 = Date.now();
const log = (l) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${l}\n`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// --- 1. data ---
const docsDir = join(work, 'docs');
writeDocuments(docsDir);
const synth = synthConversations(4000, 1, docsDir);
writeFileSync(join(work, 'synth.jsonl'), synth.map((c) => JSON.stringify(c.record)).join('\n') + '\n');
const sftDir = join(shared, 'data', 'moss-sft');
const mossFiles = readdirSync(sftDir).filter((f) => f.endsWith('.jsonl')).map((f) => join(sftDir, f));
const texts = [];
for (const f of mossFiles) for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim()) texts.push(renderText(JSON.parse(line)));
for (const c of synth) texts.push(renderText(c.record));
writeFileSync(join(work, 'corpus.jsonl'), texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
log(`${mossFiles.length} MOSS files, ${texts.length} documents for pre-training`);

// --- 2. pre-train ---
const model = { nEmbd: 256, nLayer: 4, nHead: 8, rotaryDim: 16 };
const pre = pretrain({
  ...PRETRAIN_DEFAULTS, outDir: join(work, 'pretrain'), data: [join(work, 'corpus.jsonl')], vocabSize: 4096, model, context: 384,
  steps: Math.round(600 * scale), batchSize: 8, lr: 2e-3, minLr: 2e-4, warmupSteps: 30, evalEvery: 100, ckptEvery: 200, logEvery: 10,
}, log);

// --- 3. SFT ---
const res = sft({
  ...SFT_DEFAULTS, outDir: join(work, 'sft'), init: join(work, 'pretrain', 'final'), tokenizer: join(work, 'pretrain', 'tokenizer'),
  data: [...mossFiles, join(work, 'synth.jsonl')], context: 384, steps: Math.round(1200 * scale), batchSize: 8, lr: 1e-3, minLr: 1e-4,
  warmupSteps: 30, evalEvery: 100, ckptEvery: 200, logEvery: 10,
}, log);

// --- 4. export ---
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(work, 'sft', 'final'))) cpSync(join(work, 'sft', 'final', f), join(out, f));
cpSync(join(work, 'sft', 'loss.png'), join(out, 'sft-loss.png'));
cpSync(join(work, 'pretrain', 'loss.png'), join(out, 'pretrain-loss.png'));
const summary = {
  seconds: Math.round((Date.now() - t0) / 1000), scale,
  pretrain: { steps: pre.step, firstLoss: pre.losses[0]?.loss, lastLoss: pre.losses.at(-1)?.loss, eval: pre.evals.at(-1), tokPerS: Math.round(pre.tokensPerS) },
  sft: { steps: res.step, firstLoss: res.losses[0]?.loss, lastLoss: res.losses.at(-1)?.loss, eval: res.evals.at(-1), tokPerS: Math.round(res.tokensPerS) },
};
writeFileSync(join(out, 'build-summary.json'), JSON.stringify(summary, null, 2) + '\n');
log(`done: ${JSON.stringify(summary)}`);
