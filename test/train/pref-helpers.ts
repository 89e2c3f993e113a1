/** Tiny model folders for the preference-recipe tests: a trained byte-level BPE with MOSS's control tokens and a random MOSS. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpe, trainedFiles } from '../../src/tokenizer/index.js';
import { newMoss } from '../../src/models/moss/init.js';
import { exportHfFolder } from '../../src/train/model-io.js';
import { SPECIAL_TOKENS } from '../../src/train/pretrain.js';

const TEXTS = ['Be brief.\n', '<|Human|>: what is 12+1?<|MOSS|>: it is 13.', 'hello hi ok bye same a b long n', 'Calculate("2+2") => calc <|Inner Thoughts|> <|Commands|> <|Results|>'];

/** Writes tokenizer files trained on `texts` into `dir`. */
export function trainTokenizerDir(dir: string, texts: string[] = TEXTS, vocab = 300): void {
  mkdirSync(dir, { recursive: true });
  const r = trainBpe(texts, vocab, { specialTokens: SPECIAL_TOKENS });
  for (const [f, t] of Object.entries(trainedFiles(r))) writeFileSync(join(dir, f), t);
}

/** A tiny random MOSS (vocab 300, width 16) in `dir`, with a tokenizer unless `withTokenizer` is false. */
export function tinyMossDir(dir: string, seed: number, withTokenizer = true): string {
  if (withTokenizer) trainTokenizerDir(dir);
  const { model, configJson } = newMoss({ vocabSize: 300, nEmbd: 16, nLayer: 1, nHead: 4, rotaryDim: 2, nPositions: 128 }, seed);
  exportHfFolder(dir, model, configJson, {});
  model.dispose();
  return dir;
}
