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
import { readJson, type Json } from '../models/config.js';
import { hfWeights } from '../models/hf-weights.js';
import { Linear } from '../nn/index.js';
import { MossForCausalLM, parseMossConfig } from '../models/moss/model.js';
import { expectRole } from '../models/role.js';
import { WeightLoader, type WeightSource } from '../models/weights.js';
import { loadCheckpoint } from './checkpoint.js';
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

/**
 * Loads a PM folder written by `moss train pm`, or one of its step checkpoints (`<out>/step-N`, to
 * score the best checkpoint by held-out accuracy; its tokenizer is the run's --tokenizer or --init).
 * Refuses a policy folder or a policy run's checkpoint, naming both roles. `tokDir`: where the
 * tokenizer is.
 */
export function loadRewardModel(dir: string, backend: Backend = defaultBackend()): { model: MossForCausalLM; config: Record<string, unknown>; tokDir: string } {
  if (existsSync(join(dir, 'state.json'))) {
    const ck = loadCheckpoint(dir);
    const run = ck.config;
    const cfg = (run.model ?? {}) as Json;
    if (run.role !== 'pm') expectRole({ architectures: cfg.architectures ?? ['MossForCausalLM'] }, dir, 'preference');
    const file = join(ck.path, 'model.safetensors');
    const src: WeightSource = {
      origin: file,
      has: (n) => ck.model.has(n === 'score.weight' ? 'lm_head.weight' : n),
      get: (n) => {
        const v = ck.model.get(n === 'score.weight' ? 'lm_head.weight' : n);
        return v === undefined ? undefined : { view: v, file };
      },
      whereMissing: () => file,
      views: () => ck.model.values(),
    };
    const model = MossForCausalLM.load(parseMossConfig(cfg, join(ck.path, 'config.json')), new WeightLoader(src, backend, join(ck.path, 'config.json')), 'score');
    const tokDir = String(run.tokenizer ?? run.init);
    if (!existsSync(tokDir)) throw new Error(`${dir}: the run's tokenizer folder ${tokDir} (its --tokenizer or --init) is not there`);
    return { model, config: { ...cfg, architectures: ['MossForSequenceClassification'], num_labels: 1 }, tokDir };
  }
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${dir}: no config.json (not a model folder)`);
  const cfg = readJson(file);
  expectRole(cfg, dir, 'preference');
  const model = MossForCausalLM.load(parseMossConfig(cfg, file), new WeightLoader(hfWeights(dir), backend, file), 'score');
  return { model, config: cfg, tokDir: dir };
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
