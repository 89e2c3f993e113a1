/**
 * `moss train pretrain|sft|pm|steer|dpo`: the training recipes from the command line. Settings come from the
 * recipe defaults, then `--config file.json`, then flags (flags win); the final config is printed
 * and saved with every checkpoint.
 * Not here: the recipes themselves (src/train/pretrain.ts, src/train/sft.ts).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

type Opts = Record<string, unknown>;

const NUM = ['steps', 'batchSize', 'gradAccum', 'lr', 'minLr', 'warmupSteps', 'weightDecay', 'clip', 'evalEvery', 'evalBatches', 'ckptEvery', 'keepLast', 'logEvery', 'seed', 'context', 'vocabSize', 'loraRank', 'loraAlpha', 'loraDropout', 'beta', 'gamma', 'center', 'lmCoef', 'evalFraction', 'tags', 'nanTolerance'];

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Defaults < config file < flags (`--out` is the config's outDir). */
function merge(defaults: Opts, { out, ...o }: Opts): Opts {
  let file: Opts = {};
  if (typeof o.config === 'string') {
    try {
      file = JSON.parse(readFileSync(o.config, 'utf8')) as Opts;
    } catch (e) {
      throw new Error(`--config ${o.config}: ${(e as Error).message}`, { cause: e });
    }
  }
  const flags: Opts = {};
  for (const [k, v] of Object.entries({ ...o, outDir: out })) {
    if (k === 'config' || v === undefined) continue;
    if (NUM.includes(k)) {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`--${kebab(k)} must be a number, got ${String(v)}`);
      flags[k] = n;
    } else flags[k] = v;
  }
  const cfg = { ...defaults, ...file, ...flags };
  if (!cfg.outDir) throw new Error('missing --out <dir>');
  if (!Array.isArray(cfg.data) || !cfg.data.length) throw new Error('missing --data <files...>');
  return cfg;
}

function common(c: Command): Command {
  return c
    .option('--config <file>', 'JSON config (flags override it)')
    .option('--out <dir>', 'run folder (checkpoints, metrics.jsonl, loss.png, final/)')
    .option('--data <files...>', 'training files')
    .option('--steps <n>').option('--batch-size <n>').option('--grad-accum <n>').option('--lr <x>').option('--min-lr <x>')
    .option('--warmup-steps <n>').option('--weight-decay <x>').option('--clip <x>').option('--dtype <f32|bf16>')
    .option('--eval-every <n>').option('--eval-batches <n>').option('--ckpt-every <n>').option('--keep-last <n>').option('--log-every <n>')
    .option('--seed <n>').option('--context <n>', 'tokens per training row')
    .option('--nan-tolerance <n>', 'non-finite (NaN/Inf) loss steps in a row skipped before the run stops (default 0)')
    .option('--resume', 'continue from the latest checkpoint in --out');
}

const lora = (c: Command): Command => c
  .option('--lora-rank <n>', 'train LoRA adapters of this rank (0: full)').option('--lora-alpha <x>').option('--lora-dropout <x>')
  .option('--lora-targets <names...>', 'linear layers to adapt');

/** The action of a recipe that starts from --init (sft, pm, dpo, steer). */
const fromInit = (load: () => Promise<[(cfg: never) => unknown, unknown]>) => async (o: Opts): Promise<void> => {
  const [recipe, defaults] = await load();
  const cfg = merge(defaults as Opts, o);
  if (!cfg.init) throw new Error('missing --init <model dir>');
  recipe(cfg as never);
};

export function register(program: Command): void {
  const train = program.command('train').description('train models with the pretrain / sft / pm / steer / dpo recipes');
  common(train.command('pretrain').description('next-token pre-training on text / JSONL corpora'))
    .option('--tokenizer <dir>', 'tokenizer folder (default: train a BPE on the corpus)')
    .option('--vocab-size <n>', 'vocabulary of the trained BPE').option('--init <dir>', 'start from this model')
    .option('--n-embd <n>', 'model width').option('--n-layer <n>', 'layers').option('--n-head <n>', 'attention heads').option('--rotary-dim <n>', 'rotary dimensions per head')
    .action(async (o: Opts) => {
      const { pretrain, PRETRAIN_DEFAULTS } = await import('../train/pretrain.js');
      const shape = { nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead, rotaryDim: o.rotaryDim };
      const cfg = merge(PRETRAIN_DEFAULTS as unknown as Opts, { ...o, nEmbd: undefined, nLayer: undefined, nHead: undefined, rotaryDim: undefined });
      const model = { ...(cfg.model as Opts) };
      for (const [k, v] of Object.entries(shape)) {
        if (v === undefined) continue;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new Error(`--${kebab(k)} must be a positive integer, got ${String(v)}`);
        model[k] = n;
      }
      cfg.model = model;
      pretrain(cfg as never);
    });
  lora(common(train.command('sft').description('supervised fine-tuning on MOSS-format conversations'))
    .option('--init <dir>', 'model folder or checkpoint to fine-tune').option('--tokenizer <dir>')
    .option('--no-human-loss', 'no loss on human turns'))
    .action(fromInit(async () => { const m = await import('../train/sft.js'); return [m.sft, m.SFT_DEFAULTS]; }));
  const pref = (c: Command) => common(c).option('--init <dir>', 'policy folder or checkpoint to start from').option('--tokenizer <dir>')
    .option('--eval-data <files...>', 'held-out files (default: the last --eval-fraction of --data)').option('--eval-fraction <x>');
  pref(train.command('pm').description('a preference (reward) model from preference pairs'))
    .option('--center <x>', 'reward centering coefficient (0: off)')
    .option('--lm-coef <x>', 'weight of an LM loss on the chosen response (0: off)')
    .action(fromInit(async () => { const m = await import('../train/pm.js'); return [m.trainPm, m.PM_DEFAULTS]; }));
  lora(pref(train.command('dpo').description('direct preference optimisation (sigmoid, ipo, simpo, orpo, kto) on preference pairs'))
    .option('--ref <dir>', 'reference model (default: the initial policy)').option('--loss <type>', 'sigmoid | ipo | simpo | orpo | kto')
    .option('--beta <x>').option('--gamma <x>', "SimPO's target margin"))
    .action(fromInit(async () => { const m = await import('../train/dpo.js'); return [m.trainDpo, m.DPO_DEFAULTS]; }));
  pref(train.command('steer').description("MOSS preference-aware training: SFT on responses with the PM's quality tag in the prompt"))
    .option('--tags <k>', 'number of quality tags (quantile buckets of the PM score)').option('--pm <dir>', 'preference model that scores lines without a reward')
    .option('--raft', 'keep only the best-scored response per context, no tags (rejection-sampling fine-tuning)')
    .action(fromInit(async () => { const m = await import('../train/steer.js'); return [m.trainSteer, m.STEER_DEFAULTS]; }));
}
