/**
 * The one training loop every recipe shares: AdamW (decay on matrices only, as nanoGPT), cosine
 * schedule with warmup, gradient accumulation, global-norm clipping, f32 or bf16 (bf16 weights in
 * the model, f32 master weights in the optimizer), periodic eval (loss and token accuracy),
 * checkpoints (atomic, last N kept) with everything needed to resume the same loss curve
 * (weights, optimizer moments, step, RNG states, data position), metrics JSONL, a progress bar and
 * a loss-curve PNG at the end. It guards its results: a step whose loss or gradient norm is NaN/Inf
 * makes no update, more than `nanTolerance` such steps in a row stop the run with an error naming
 * the step, and weights that are not finite are never written as a checkpoint.
 * Not here: data-parallel training, activation checkpointing, loss scaling for f16.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { View } from '../backends/backend.js';
import { AdamW, clipGradNorm, cosineWithWarmup, type Module } from '../nn/index.js';
import { defaultGenerator, noGrad, ops, tensor, tidy, zeros, type Generator, type Tensor } from '../tensor/index.js';
import { copyInto, firstNonFinite, latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Batcher, IGNORE, type DataPosition, type Row } from './data.js';
import { MetricsWriter, readMetrics } from './metrics.js';
import { plotLines } from './plot.js';
import { Progress } from './progress.js';

/** A causal LM as the loop sees it: token ids (B, T) i32 -> logits (B, T, V). */
export interface LanguageModel extends Module {
  forward(ids: Tensor): Tensor;
}

/** What a recipe's loss function gives back for one micro-batch. */
export interface StepOutput {
  /** Scalar loss to minimise (with grad). */
  loss: Tensor;
  /** Extra numbers to log (averaged over the micro-batches of a step), e.g. TRL's rewards/accuracies. */
  metrics?: Record<string, number>;
  /** Tokens processed (for tok/s); default batch size × row length. */
  tokens?: number;
}

/** Eval results: `loss` and `acc` (token accuracy, or pairwise accuracy for preference recipes) plus extras. */
export type EvalOutput = { loss: number; acc: number } & Record<string, number>;

export interface LoopConfig {
  /** Run folder: checkpoints, metrics.jsonl, loss.png. */
  outDir: string;
  /** Optimizer steps in total. */
  steps: number;
  /** Rows per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip (0: off). */
  clip: number;
  dtype: 'f32' | 'bf16';
  /** Evaluate every N steps (0: only at the end). */
  evalEvery: number;
  evalBatches: number;
  /** Checkpoint every N steps (0: only at the end). */
  ckptEvery: number;
  keepLast: number;
  logEvery: number;
  seed: number;
  /** Consecutive steps with a NaN/Inf loss or gradient norm (each skipped, no update) tolerated before the run stops. */
  nanTolerance: number;
}

export const LOOP_DEFAULTS: Omit<LoopConfig, 'outDir'> = {
  steps: 1000, batchSize: 8, gradAccum: 1, lr: 1e-3, minLr: 1e-4, warmupSteps: 50, weightDecay: 0.1, beta1: 0.9, beta2: 0.95,
  clip: 1.0, dtype: 'f32', evalEvery: 100, evalBatches: 8, ckptEvery: 200, keepLast: 3, logEvery: 10, seed: 1337,
  nanTolerance: 0,
};

export interface LoopInput<I = Row> {
  model: Module;
  train: readonly I[];
  eval?: readonly I[];
  /** Loss of one micro-batch; default: next-token cross-entropy of a LanguageModel over Rows. */
  lossFn?: (batch: I[]) => StepOutput;
  /** Eval over items (no grad, eval mode); default: loss and token accuracy over Rows. */
  evalFn?: (items: readonly I[]) => EvalOutput;
  cfg: LoopConfig;
  /** The full run config, saved with every checkpoint. */
  config: Record<string, unknown>;
  /** Trainable parameters by name (default: all of the model's). LoRA passes its adapters. */
  params?: [string, Tensor][];
  /** Save only the trainable parameters in checkpoints (LoRA: the base is unchanged). */
  saveTrainableOnly?: boolean;
  /** Resume from this checkpoint (or run folder); `true`: the latest in cfg.outDir. */
  resume?: boolean | string;
  /** Extra generators to checkpoint (the default generator is always saved). */
  generators?: Generator[];
  /** Test hook: stop right after this step, saving nothing (a killed run). */
  haltAfter?: number;
  log?: (line: string) => void;
  progress?: boolean;
}

export interface LoopResult {
  step: number;
  losses: { step: number; loss: number }[];
  evals: ({ step: number } & EvalOutput)[];
  tokensPerS: number;
}

/** One micro-batch as tensors: ids (B, T), targets (B*T). */
function toTensors(rows: readonly Row[], like: Tensor): [Tensor, Tensor] {
  const B = rows.length;
  const T = rows[0].input.length;
  const ids = new Int32Array(B * T);
  const tg = new Int32Array(B * T);
  rows.forEach((r, b) => {
    ids.set(r.input, b * T);
    tg.set(r.target, b * T);
  });
  const o = { dtype: 'i32' as const, backend: like.backend };
  return [tensor(ids, [B, T], o), tensor(tg, [B * T], o)];
}

/** The default loss: next-token cross-entropy of a language model over packed rows. */
function rowLoss(model: LanguageModel): (rows: Row[]) => StepOutput {
  return (rows) => {
    const [ids, tg] = toTensors(rows, model.parameters()[0]);
    const logits = model.forward(ids);
    return { loss: ops.crossEntropy(logits.reshape(-1, logits.shape[2]), tg), tokens: ids.numel };
  };
}

/** Mean loss and token accuracy over rows (no grad, eval mode). */
export function evaluate(model: LanguageModel, rows: readonly Row[], batchSize: number, maxBatches: number): { loss: number; acc: number } {
  const like = model.parameters()[0];
  let lossSum = 0;
  let right = 0;
  let count = 0;
  model.eval();
  noGrad(() => {
    for (let b = 0; b < maxBatches && b * batchSize < rows.length; b++) {
      const batch = rows.slice(b * batchSize, (b + 1) * batchSize);
      tidy(() => {
        const [ids, tg] = toTensors(batch, like);
        const logits = model.forward(ids);
        const flat = logits.reshape(-1, logits.shape[2]).to('f32');
        lossSum += ops.crossEntropy(flat, tg, { reduction: 'sum' }).item();
        const pred = ops.argmax(flat, -1).toInt32Array();
        const t = tg.toInt32Array();
        for (let i = 0; i < t.length; i++) {
          if (t[i] === IGNORE) continue;
          count++;
          if (pred[i] === t[i]) right++;
        }
      });
    }
  });
  model.train();
  return { loss: lossSum / Math.max(count, 1), acc: right / Math.max(count, 1) };
}

/** Runs (or resumes) training; returns the losses it computed in this process. */
export function trainLoop<I = Row>(inp: LoopInput<I>): LoopResult {
  const { model, cfg } = inp;
  const lossFn = inp.lossFn ?? (rowLoss(model as LanguageModel) as unknown as (b: I[]) => StepOutput);
  const evalFn = inp.evalFn ?? ((items: readonly I[]) => evaluate(model as LanguageModel, items as unknown as readonly Row[], cfg.batchSize, cfg.evalBatches) as EvalOutput);
  const log = inp.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const named = inp.params ?? model.namedParameters();
  const params = named.map(([, p]) => p);
  const gens = [defaultGenerator, ...(inp.generators ?? [])];

  // --- optimizer: bf16 weights train through f32 master copies ---
  const masters = cfg.dtype === 'bf16' ? params.map((p) => noGrad(() => p.to('f32')).keep().requiresGrad_(true)) : params;
  const decay = masters.filter((p) => p.ndim >= 2);
  const noDecay = masters.filter((p) => p.ndim < 2);
  const groups = [{ params: decay, weightDecay: cfg.weightDecay }, { params: noDecay, weightDecay: 0 }].filter((g) => g.params.length);
  const opt = new AdamW(groups, { lr: cfg.lr, betas: [cfg.beta1, cfg.beta2] });

  // --- state to save / restore ---
  const modelTensors = (): Map<string, Tensor> => (inp.saveTrainableOnly ? new Map(named) : model.stateDict());
  const optTensors = (): Map<string, Tensor> => {
    const m = opt.stateTensors();
    if (cfg.dtype === 'bf16') named.forEach(([n], i) => m.set(`master.${n}`, masters[i]));
    return m;
  };
  const batcher = new Batcher<I>(inp.train, cfg.batchSize, cfg.seed);
  let step = 0;
  let tokensSeen = 0;
  gens.forEach((g, i) => g.seed(cfg.seed + i)); // a fresh run is a function of its config alone
  if (inp.resume) {
    const from = inp.resume === true ? latestCheckpoint(cfg.outDir) : inp.resume;
    if (!from) throw new Error(`--resume: no checkpoint in ${cfg.outDir}`);
    const ck = loadCheckpoint(from);
    copyInto(modelTensors(), ck.model, `resume ${ck.path}`);
    copyInto(optTensors(), ck.optimizer, `resume ${ck.path}`);
    const st = ck.state as { step: number; optimizerStep: number; data: DataPosition; rng: number[][]; tokens: number };
    step = st.step;
    tokensSeen = st.tokens;
    opt.stepCount = st.optimizerStep;
    batcher.pos = { ...st.data };
    st.rng.forEach((s, i) => gens[i]?.setState(s));
    log(`resumed from ${ck.path} at step ${step}`);
  }
  const save = () => {
    const bad = firstNonFinite(modelTensors()) ?? firstNonFinite(optTensors());
    if (bad) throw new Error(`step ${step}: ${bad} is not finite; no checkpoint written (the last good one: ${latestCheckpoint(cfg.outDir) ?? 'none'})`);
    return saveCheckpoint(cfg.outDir, step, {
      model: modelTensors() as Map<string, View>,
      optimizer: optTensors() as Map<string, View>,
      state: { step, optimizerStep: opt.stepCount, data: batcher.pos, rng: gens.map((g) => g.getState()), tokens: tokensSeen },
      config: inp.config,
    }, cfg.keepLast);
  };

  const metrics = new MetricsWriter(join(cfg.outDir, 'metrics.jsonl'), inp.resume ? step : undefined);
  const result: LoopResult = { step, losses: [], evals: [], tokensPerS: 0 };
  const bar = inp.progress ? new Progress({ total: cfg.steps, unit: 'tok' }, step) : null;
  const runEval = () => {
    if (!inp.eval?.length) return;
    model.eval();
    const e = noGrad(() => evalFn(inp.eval!));
    model.train();
    result.evals.push({ step, ...e });
    metrics.write({ step, ...Object.fromEntries(Object.entries(e).map(([k, v]) => [`eval_${k}`, v])) });
    const acc = Number.isNaN(e.acc) ? '' : `, ${inp.evalFn ? 'accuracy' : 'token accuracy'} ${(100 * e.acc).toFixed(1)}%`;
    log(`step ${step}: eval loss ${e.loss.toFixed(4)}${acc}`);
  };
  const t0 = performance.now();
  let timedTokens = 0;
  let badInARow = 0;
  model.train();

  try {
    // --- the loop ---
    while (step < cfg.steps) {
      const lr = cosineWithWarmup(step, { lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, minLr: cfg.minLr });
      opt.setLr(lr);
      let lossSum = 0;
      let tokPerStep = 0;
      const extra: Record<string, number> = {};
      for (let micro = 0; micro < cfg.gradAccum; micro++) {
        lossSum += tidy(() => {
          const out = lossFn(batcher.next());
          (cfg.gradAccum > 1 ? ops.div(out.loss, cfg.gradAccum) : out.loss).backward();
          tokPerStep += out.tokens ?? 0;
          for (const [k, v] of Object.entries(out.metrics ?? {})) extra[k] = (extra[k] ?? 0) + v / cfg.gradAccum;
          return out.loss.item();
        });
      }
      if (cfg.dtype === 'bf16') {
        noGrad(() => params.forEach((p, i) => {
          masters[i].grad?.dispose();
          masters[i].grad = p.grad ? p.grad.to('f32').keep() : zeros(p.shape, { backend: p.backend }).keep();
        }));
      }
      const gradNorm = cfg.clip > 0 ? clipGradNorm(masters, cfg.clip) : NaN;
      const loss = lossSum / cfg.gradAccum;
      const finite = Number.isFinite(loss) && (cfg.clip <= 0 || Number.isFinite(gradNorm));
      if (finite) {
        badInARow = 0;
        opt.step();
      }
      opt.zeroGrad();
      if (cfg.dtype === 'bf16') {
        for (const p of params) {
          p.grad?.dispose();
          p.grad = null;
        }
        if (finite) params.forEach((p, i) => p.backend.copy(p, masters[i]));
      }
      if (!finite) {
        badInARow++;
        const what = `step ${step + 1}: loss ${loss}${cfg.clip > 0 ? `, gradient norm ${gradNorm}` : ''}`;
        if (badInARow > cfg.nanTolerance) {
          throw new Error(`${what}: ${badInARow} non-finite step(s) in a row, more than --nan-tolerance ${cfg.nanTolerance}; training stopped, no checkpoint written (the last good one: ${latestCheckpoint(cfg.outDir) ?? 'none'}); try a lower --lr`);
        }
        log(`${what}: not finite, update skipped (${badInARow} of --nan-tolerance ${cfg.nanTolerance} in a row)`);
      }
      step++;
      tokensSeen += tokPerStep;
      timedTokens += tokPerStep;
      result.losses.push({ step, loss });
      const tps = timedTokens / ((performance.now() - t0) / 1000);
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        metrics.write({ step, loss, lr, grad_norm: gradNorm, tokens: tokensSeen, tok_per_s: Math.round(tps), ...extra });
        if (!bar) log(`step ${step}/${cfg.steps}: loss ${loss.toFixed(4)}, lr ${lr.toExponential(2)}, ${tps.toFixed(0)} tok/s`);
      }
      bar?.update(step, tokPerStep, `loss ${loss.toFixed(3)}`);
      if (cfg.evalEvery > 0 && step % cfg.evalEvery === 0 && step < cfg.steps) runEval();
      if (inp.haltAfter !== undefined && step >= inp.haltAfter) {
        result.step = step;
        return result;
      }
      if (cfg.ckptEvery > 0 && step % cfg.ckptEvery === 0 && step < cfg.steps) save();
    }
    bar?.finish();
    runEval();
    save();
    result.step = step;
    result.tokensPerS = timedTokens / ((performance.now() - t0) / 1000);
    writeLossPlot(cfg.outDir);
    return result;
  } finally {
    // optimizer moments and f32 master weights are this run's alone
    opt.dispose();
    if (cfg.dtype === 'bf16') for (const m of masters) m.dispose();
  }
}

/** Writes loss.png (blue: train loss, orange: eval loss) from the run's metrics.jsonl. */
export function writeLossPlot(outDir: string): void {
  const recs = readMetrics(join(outDir, 'metrics.jsonl'));
  const trainPts = recs.filter((r) => typeof r.loss === 'number').map((r) => [r.step as number, r.loss as number] as [number, number]);
  const evalPts = recs.filter((r) => typeof r.eval_loss === 'number').map((r) => [r.step as number, r.eval_loss as number] as [number, number]);
  writeFileSync(join(outDir, 'loss.png'), plotLines([{ points: trainPts }, { points: evalPts }]));
}
