/**
 * Model folders for the recipes: create a fresh MOSS model of a given shape, or load one from an HF
 * folder (config.json + model.safetensors) or a training checkpoint as owned, trainable tensors,
 * and export a trained model as an HF folder (config.json, model.safetensors,
 * generation_config.json, tokenizer files copied by the caller).
 * Not here: sharded or PyTorch .bin checkpoints for training (convert them first).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { View } from '../backends/backend.js';
import { readSafetensors, writeSafetensors } from '../io/index.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { applyLora, loraParameters, mergeLora } from '../nn/lora.js';
import type { Tensor } from '../tensor/index.js';
import type { Json } from '../models/config.js';
import { parseMossConfig, type MossForCausalLM } from '../models/moss/model.js';
import { expectRole } from '../models/role.js';
import { initMossWeights, mossConfigJson, mossFromTensors, type MossShape } from '../models/moss/init.js';
import { copyInto, loadCheckpoint } from './checkpoint.js';

/** What every fine-tuning recipe does first: the out folder, the config line, the tokenizer (default: the init folder's). */
export function startRecipe(cfg: { outDir: string; init: string; tokenizer: string | null }, log: (l: string) => void): { tokDir: string; tok: Tokenizer } {
  mkdirSync(cfg.outDir, { recursive: true });
  log(`config: ${JSON.stringify(cfg)}`);
  const tokDir = cfg.tokenizer ?? cfg.init;
  return { tokDir, tok: loadTokenizer(tokDir) };
}

/** The LoRA settings of the recipes that can train adapters (sft, dpo). */
export interface LoraSettings {
  /** LoRA rank (0: full fine-tuning). */
  loraRank: number;
  loraAlpha: number;
  loraDropout: number;
  /** Linear layers to adapt, by name suffix. */
  loraTargets: string[];
}

/** With `loraRank` > 0 freezes the model, adds LoRA adapters and returns their parameters; else undefined (all train). */
export function addLora(model: MossForCausalLM, cfg: LoraSettings & { seed: number },
  log: (l: string) => void): [string, Tensor][] | undefined {
  if (cfg.loraRank <= 0) return undefined;
  model.requiresGrad_(false);
  const n = applyLora(model, { rank: cfg.loraRank, alpha: cfg.loraAlpha, dropout: cfg.loraDropout, targets: cfg.loraTargets, seed: cfg.seed });
  const params = loraParameters(model);
  log(`LoRA: ${n} layers adapted, ${params.reduce((s, [, p]) => s + p.numel, 0)} trainable parameters`);
  return params;
}

/** Writes `<outDir>/final`: any LoRA merged into the base, an HF folder carrying its tokenizer files. */
export function exportFinal(outDir: string, model: MossForCausalLM, configJson: Record<string, unknown>, tokDir: string, gen: Record<string, unknown>): string {
  mergeLora(model);
  const final = join(outDir, 'final');
  exportHfFolder(final, model, configJson, gen);
  copyTokenizer(tokDir, final);
  return final;
}

/** Loads a MOSS model to train from an HF folder or checkpoint (weights copied, never mapped). */
export function loadTrainableMoss(dir: string, seed = 0): { model: MossForCausalLM; configJson: Record<string, unknown> } {
  const ckpt = existsSync(join(dir, 'state.json'));
  const cfgPath = join(dir, 'config.json');
  const ck = ckpt ? loadCheckpoint(dir) : null;
  const runConfig = ck ? ck.config : null;
  if (runConfig?.role === 'pm') expectRole({ architectures: ['MossForSequenceClassification'] }, dir, 'policy');
  const configJson = runConfig ? ((runConfig.model ?? {}) as Record<string, unknown>) : (JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>);
  expectRole(configJson, dir, 'policy');
  const c = parseMossConfig(configJson as Json, cfgPath);
  const model = mossFromTensors(c, initMossWeights(c, seed));
  const saved = ck ? ck.model : readSafetensors(join(dir, 'model.safetensors')).tensors;
  copyInto(model.stateDict(), saved, dir);
  model.train();
  return { model, configJson };
}


/** Tokenizer files a model folder carries (byte-level BPE or tokenizer.json). */
export const TOKENIZER_FILE_NAMES = ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'added_tokens.json', 'tokenizer.json', 'tokenizer_config.json'];

/** Copies the tokenizer files in `from` into the model folder `to`, so the folder is self-contained. */
export function copyTokenizer(from: string, to: string): void {
  for (const f of TOKENIZER_FILE_NAMES) if (existsSync(join(from, f))) cpSync(join(from, f), join(to, f));
}

/** Writes config.json, model.safetensors and generation_config.json into `dir`. */
export function exportHfFolder(dir: string, model: MossForCausalLM, configJson: Record<string, unknown>, gen: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
  writeFileSync(join(dir, 'generation_config.json'), `${JSON.stringify(gen, null, 2)}\n`);
  writeSafetensors(join(dir, 'model.safetensors'), model.stateDict() as Map<string, View>, { format: 'pt' });
}

export { mossConfigJson, type MossShape };
