/**
 * `moss eval tools [--model <path>] [--n N] [--seed S] [--json] [--allow-training-seed]`: the
 * held-out tool-use evaluation (src/eval/tools.ts) of a MOSS model, decoded greedily through the
 * real plugin loop. Prints a table (or one JSON object with every item under --json).
 * The academic benchmarks (mmlu, ceval, cmmlu, gsm8k, humaneval) are registered from ./eval-bench.ts.
 * Not here: perplexity.
 */
import type { Command } from 'commander';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDocuments } from '../data/docs.js';
import { evalToolsReal, formatReal } from '../eval/tools-real.js';
import { createPrefixCache } from '../generate/prefix-blocks.js';
import { ModelGenerator } from '../generate/prefix-cache.js';
import { formatSummary } from '../eval/report.js';
import { evalPlugins, evalTools } from '../eval/tools.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { loadModel } from '../models/load.js';
import { DEFAULT_MODEL } from './model-files.js';
import { registerBench } from './eval-bench.js';
import { registerWinrate } from './eval-winrate.js';
import { number } from './flags.js';

interface Flags {
  model?: string;
  tokenizer?: string;
  n: string;
  seed: string;
  maxNewTokens: string;
  json?: boolean;
  allowTrainingSeed?: boolean;
  overlap: boolean;
  trainingData?: string;
  real: string | boolean;
  prefixCacheMb?: string;
}

/** A folder under ../shared/data from the working directory, when present. */
const sharedData = (name: string): string | undefined => (existsSync(join('..', 'shared', 'data', name)) ? join('..', 'shared', 'data', name) : undefined);

export function register(program: Command): void {
  const ev = program.command('eval').description('evaluate models');
  registerBench(ev);
  registerWinrate(ev);
  ev.command('tools')
    .description('held-out MOSS tool use (calculator, solver, search, text2image, chit-chat; en + zh), greedy, through the real plugin loop')
    .option('--model <path>', 'HF model folder (default: the bundled models/moss-tiny)')
    .option('--tokenizer <path>', 'tokenizer (default: the model folder)')
    .option('--n <n>', 'number of prompts', '200')
    .option('--seed <s>', 'prompt generator seed (must not be a training seed)', '1000')
    .option('--max-new-tokens <n>', 'generation budget per model call', '128')
    .option('--allow-training-seed', 'run on a training seed anyway (the report says so)')
    .option('--no-overlap', 'skip the check that no prompt occurs in the training data (the report then says so)')
    .option('--training-data <dir>', 'real SFT files the model was trained on, for the overlap check (default ../shared/data/moss-sft)')
    .option('--real <dir>', 'the real-human split: plugin turns of held-out MOSS conversations (default ../shared/data/moss-sft-heldout)')
    .option('--no-real', 'skip the real-human split')
    .option('--json', 'one JSON object: summary and every item')
    .option('--prefix-cache-mb <n>', 'MiB of keys/values of shared prompt prefixes (the meta instruction) kept for reuse (0 = off)')
    .action(async (f: Flags) => {
      const path = f.model ?? DEFAULT_MODEL;
      if (!existsSync(path)) throw new Error(`eval tools: ${path}: no such model folder`);
      const n = number('n', f.n, { int: true, min: 1 })!;
      const seed = number('seed', f.seed, { int: true, min: 0 })!;
      const maxNewTokens = number('max-new-tokens', f.maxNewTokens, { int: true, min: 1 })!;
      const loaded = loadModel(path);
      const tokenizer = loadTokenizer(f.tokenizer ?? path);
      const missing = ['<eoh>', '<eom>', '<eot>', '<eoc>', '<eor>'].filter((t) => tokenizer.tokenToId(t) === undefined);
      if (missing.length) throw new Error(`eval tools: ${f.tokenizer ?? path} is not a MOSS tokenizer (no ${missing.join(' ')} tokens)`);
      const eot = tokenizer.tokenToId('<|endoftext|>');
      const prefixCache = createPrefixCache(loaded.model, number('prefix-cache-mb', f.prefixCacheMb, { min: 0 }), loaded.model.info.maxPositions);
      const generator = new ModelGenerator(loaded.model, { temperature: 0, prefixCache, stopIds: [...loaded.model.info.eosIds, ...(eot !== undefined ? [eot] : [])] });
      const t0 = performance.now();
      const trainDir = f.trainingData ?? sharedData('moss-sft');
      if (f.trainingData && !existsSync(f.trainingData)) throw new Error(`--training-data: ${f.trainingData}: no such folder`);
      const trainingFiles = trainDir ? readdirSync(trainDir).filter((x) => x.endsWith('.jsonl')).sort().map((x) => join(trainDir, x)) : [];
      if (f.overlap && !trainingFiles.length) process.stderr.write('eval tools: no real SFT training files found (--training-data); checking overlap with the synthetic training data only\n');
      const res = await evalTools({
        generator, tokenizer, n, seed, maxNewTokens, allowTrainingSeed: f.allowTrainingSeed, checkOverlap: f.overlap, trainingFiles,
        maxContext: Math.min(2048, loaded.model.info.maxPositions),
        onItem: f.json ? undefined : (it, i) => process.stderr.write(`\r${i + 1}/${n}`),
      });
      const realDir = f.real === false ? undefined : typeof f.real === 'string' ? f.real : sharedData('moss-sft-heldout');
      if (typeof f.real === 'string' && !existsSync(f.real)) throw new Error(`--real: ${f.real}: no such folder`);
      let real: Awaited<ReturnType<typeof evalToolsReal>> | null = null;
      if (realDir) {
        if (!f.json) process.stderr.write('\n');
        const docs = mkdtempSync(join(tmpdir(), 'moss-eval-real-'));
        try {
          writeDocuments(docs);
          real = await evalToolsReal({
            generator, tokenizer, plugins: evalPlugins(docs), dir: realDir, maxNewTokens, maxContext: Math.min(2048, loaded.model.info.maxPositions),
            onItem: f.json ? undefined : (_it, i, total) => process.stderr.write(`\rreal ${i + 1}/${total}`),
          });
        } finally {
          rmSync(docs, { recursive: true, force: true });
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const overlap = f.overlap ? `checked against ${trainingFiles.length} real SFT files + the synthetic training sets: 0 seen` : 'NOT CHECKED (--no-overlap)';
      if (f.json) {
        process.stdout.write(`${JSON.stringify({ model: path, n, seed: res.seed, split: 'eval', overlap, trainingSeed: res.trainingSeed, seconds, summary: res.summary, items: res.items, real: real && { dir: realDir, overall: real.overall, groups: real.groups, items: real.items } })}\n`);
        return;
      }
      process.stderr.write('\n');
      process.stdout.write(`moss eval tools: ${path}, ${n} held-out synthetic prompts (evaluation templates and number ranges), seed ${seed}, greedy, ${seconds.toFixed(0)} s\noverlap with training prompts: ${overlap}\n`);
      process.stdout.write(`${formatSummary(res.summary)}\n`);
      if (real) process.stdout.write(`\nreal human prompts: plugin turns of ${realDir}\n${formatReal(real)}\n`);
    });
}
