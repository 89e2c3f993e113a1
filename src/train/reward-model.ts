/**
 * The preference model (PM): a MOSS causal-LM backbone whose head is `score = Linear(C, 1,
 * bias=False)` instead of the LM head (HF's …ForSequenceClassification with num_labels 1), read at
 * the last real token. Made from a policy (head initialised N(0, 1/(C+1)) as OpenRLHF), saved as an
 * HF-style folder (`transformer.*` + `score.weight`, config.json with architectures
 * MossForSequenceClassification, num_labels 1, and the reward mean/std measured after training for
 * normalisation), loaded back for `moss score`.
 * Not here: LLaMA-family PMs (training builds MOSS models only), the loss (./losses.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, View } from '../backends/backend.js';
import { defaultBackend } from '../backends/index.js';
import { writeSafetensors } from '../io/index.js';
import { readJson } from '../models/config.js';
import { hfWeights } from '../models/hf-weights.js';
import { Linear } from '../nn/index.js';
import { MossForCausalLM, parseMossConfig } from '../models/moss/model.js';
import { expectRole } from '../models/role.js';
import { WeightLoader } from '../models/weights.js';
import { Generator, noGrad, randn, tidy } from '../tensor/index.js';
import { copyTokenizer } from './model-io.js';
import type { Seq } from './pairs.js';
import { rewardsOf } from './pref-batch.js';

/**
 * Turns a loaded policy into a PM in place: a fresh score head takes the LM head's place. The old
 * LM head is disposed, or with `keepLmHead` returned frozen (for the optional LM loss on the chosen
 * response; it is not trained and not saved with the PM).
 */
export function toRewardModel(model: MossForCausalLM, seed: number, o: { keepLmHead?: boolean } = {}): Linear | null {
  const C = model.config.nEmbd;
  const w = randn([1, C], { backend: model.backend, generator: new Generator(seed), std: 1 / Math.sqrt(C + 1), requiresGrad: true }).keep();
  const old = model.lm_head;
  model.lm_head = new Linear(w, null);
  if (!o.keepLmHead) {
    old.dispose();
    return null;
  }
  for (const p of old.parameters()) p.requiresGrad_(false);
  return old;
}

/** Reward statistics saved with the PM (for normalising scores). */
export interface RewardStats {
  reward_mean: number;
  reward_std: number;
  reward_min: number;
  reward_max: number;
  eval_accuracy?: number;
}

/** Writes the PM as an HF-style folder: config.json, model.safetensors (score.weight), tokenizer files. */
export function exportRewardModel(dir: string, model: MossForCausalLM, configJson: Record<string, unknown>, stats: RewardStats, tokDir: string): void {
  mkdirSync(dir, { recursive: true });
  const cfg = { ...configJson, architectures: ['MossForSequenceClassification'], num_labels: 1, pooling: 'last_token', ...stats };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const sd = new Map<string, View>();
  for (const [k, t] of model.stateDict()) sd.set(k === 'lm_head.weight' ? 'score.weight' : k, t);
  writeSafetensors(join(dir, 'model.safetensors'), sd, { format: 'pt' });
  copyTokenizer(tokDir, dir);
}

/** Loads a PM folder written by `moss train pm` (refuses a policy folder, naming both roles). */
export function loadRewardModel(dir: string, backend: Backend = defaultBackend()): { model: MossForCausalLM; config: Record<string, unknown> } {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${dir}: no config.json (not a model folder)`);
  const cfg = readJson(file);
  expectRole(cfg, dir, 'preference');
  const model = MossForCausalLM.load(parseMossConfig(cfg, file), new WeightLoader(hfWeights(dir), backend, file), 'score');
  return { model, config: cfg };
}

/** Rewards of many sequences, scored in batches without grad (order kept). */
export function scoreSeqs(model: MossForCausalLM, seqs: readonly Seq[], pad: number, batchSize = 8): number[] {
  const out: number[] = [];
  const was = model.training;
  model.eval();
  noGrad(() => {
    for (let i = 0; i < seqs.length; i += batchSize) {
      tidy(() => out.push(...rewardsOf(model, seqs.slice(i, i + batchSize), pad).toFloat32Array()));
    }
  });
  model.train(was);
  return out;
}
