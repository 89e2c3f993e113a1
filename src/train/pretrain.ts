/**
 * `moss train pretrain`: next-token pre-training of a MOSS model on text / JSONL corpora, read top
 * to bottom like nanoGPT's train.py: defaults, config, (optionally) train a byte-level BPE on the
 * corpus, tokenize and pack, build the model, run the shared loop, export an HF folder.
 * Not here: corpora larger than memory, distributed training.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { trainBpe, trainedFiles } from '../tokenizer/index.js';
import { BadDataLog, readTextCorpus } from './corpus.js';
import { packDocuments, splitTail } from './data.js';
import { LOOP_DEFAULTS, trainLoop, type LoopConfig, type LoopResult } from './loop.js';
import { exportFinal, loadTrainableMoss } from './model-io.js';
import { newMoss, type MossShape } from '../models/moss/init.js';

export const SPECIAL_TOKENS = ['<|endoftext|>', '<eoh>', '<eot>', '<eoc>', '<eor>', '<eom>'];

// --- defaults (override with a JSON config file and/or flags) ---
export interface PretrainConfig extends LoopConfig {
  /** Corpus files (.txt: blank-line separated documents; .jsonl: one {"text": …} per line). */
  data: string[];
  textField: string;
  /** Tokenizer folder; with `vocabSize` and no tokenizer, one is trained on the corpus first. */
  tokenizer: string | null;
  vocabSize: number;
  /** Start from this model folder/checkpoint instead of a fresh init. */
  init: string | null;
  model: Omit<MossShape, 'vocabSize' | 'nPositions'>;
  /** Tokens per training row (context). */
  context: number;
  /** Fraction of rows held out for eval. */
  evalFraction: number;
  resume: boolean;
}

export const PRETRAIN_DEFAULTS: Omit<PretrainConfig, 'outDir' | 'data'> = {
  ...LOOP_DEFAULTS, textField: 'text', tokenizer: null, vocabSize: 4096, init: null,
  model: { nEmbd: 256, nLayer: 4, nHead: 8, rotaryDim: 16 }, context: 256, evalFraction: 0.05, resume: false,
};

export function pretrain(cfg: PretrainConfig, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): LoopResult {
  mkdirSync(cfg.outDir, { recursive: true });
  log(`config: ${JSON.stringify(cfg)}`);
  // --- data ---
  const bad = new BadDataLog((m) => log(m));
  const docs = readTextCorpus(cfg.data, bad, cfg.textField);
  log(`${docs.length} documents; ${bad.summary()}`);
  // --- tokenizer ---
  let tokDir = cfg.tokenizer;
  if (!tokDir) {
    tokDir = join(cfg.outDir, 'tokenizer');
    mkdirSync(tokDir, { recursive: true });
    const t0 = performance.now();
    const r = trainBpe(docs.map((d) => d.text), cfg.vocabSize, { specialTokens: SPECIAL_TOKENS });
    for (const [f, text] of Object.entries(trainedFiles(r))) writeFileSync(join(tokDir, f), text);
    log(`trained a ${r.tokens.length}-token BPE in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${tokDir}`);
  }
  const tok = loadTokenizer(tokDir);
  const eos = tok.encode('<|endoftext|>', { special: 'allow' });
  if (eos.length !== 1) throw new Error(`${tokDir}: <|endoftext|> is not a single token`);
  const rows = packDocuments(docs.map((d) => tok.encode(d.text, { special: 'allow' })), cfg.context, eos[0]);
  const { train, held } = splitTail(rows, cfg.evalFraction, 64);
  log(`${train.length} training rows, ${held.length} eval rows of ${cfg.context} tokens`);
  // --- model ---
  const { model, configJson } = cfg.init
    ? loadTrainableMoss(cfg.init, cfg.seed)
    : newMoss({ ...cfg.model, vocabSize: tok.vocabSize, nPositions: Math.max(cfg.context, 2048), bosId: eos[0], eosId: eos[0] }, cfg.seed);
  log(`model: ${model.numParameters()} parameters`);
  // --- train ---
  const res = trainLoop({ model, train, eval: held, cfg, config: { ...cfg, tokenizer: tokDir, model: configJson }, resume: cfg.resume, log, progress: true });
  const final = exportFinal(cfg.outDir, model, configJson, tokDir, { eos_token_id: eos[0], max_new_tokens: 256 }); // carries its tokenizer: `sft --init` finds it
  log(`done: step ${res.step}, ${res.tokensPerS.toFixed(0)} tok/s; model in ${final}`);
  return res;
}
