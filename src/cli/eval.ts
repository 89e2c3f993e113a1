/**
 * `moss eval tools [--model <path>] [--n N] [--seed S] [--json] [--allow-training-seed]`: the
 * held-out tool-use evaluation (src/eval/tools.ts) of a MOSS model, decoded greedily through the
 * real plugin loop. Prints a table (or one JSON object with every item under --json).
 * The academic benchmarks (mmlu, ceval, cmmlu, gsm8k, humaneval) are registered from ./eval-bench.ts.
 * Not here: perplexity.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ModelGenerator } from '../chat/generator-adapter.js';
import { formatSummary } from '../eval/report.js';
import { evalTools } from '../eval/tools.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { loadModel } from '../models/load.js';
import { DEFAULT_MODEL } from './model-files.js';
import { registerBench } from './eval-bench.js';
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
}

export function register(program: Command): void {
  const ev = program.command('eval').description('evaluate models');
  registerBench(ev);
  ev.command('tools')
    .description('held-out MOSS tool use (calculator, solver, search, text2image, chit-chat; en + zh), greedy, through the real plugin loop')
    .option('--model <path>', 'HF model folder (default: the bundled models/moss-tiny)')
    .option('--tokenizer <path>', 'tokenizer (default: the model folder)')
    .option('--n <n>', 'number of prompts', '200')
    .option('--seed <s>', 'prompt generator seed (must not be a training seed)', '1000')
    .option('--max-new-tokens <n>', 'generation budget per model call', '128')
    .option('--allow-training-seed', 'run on a training seed anyway (the report says so)')
    .option('--no-overlap', 'do not check which prompts also occur in the training data')
    .option('--json', 'one JSON object: summary and every item')
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
      const generator = new ModelGenerator(loaded.model, { temperature: 0, stopIds: [...loaded.model.info.eosIds, ...(eot !== undefined ? [eot] : [])] });
      const t0 = performance.now();
      const res = await evalTools({
        generator, tokenizer, n, seed, maxNewTokens, allowTrainingSeed: f.allowTrainingSeed, checkOverlap: f.overlap,
        maxContext: Math.min(2048, loaded.model.info.maxPositions),
        onItem: f.json ? undefined : (it, i) => process.stderr.write(`\r${i + 1}/${n}`),
      });
      const seconds = (performance.now() - t0) / 1000;
      if (f.json) {
        process.stdout.write(`${JSON.stringify({ model: path, n, seed: res.seed, trainingSeed: res.trainingSeed, seconds, summary: res.summary, items: res.items })}\n`);
        return;
      }
      process.stderr.write('\n');
      process.stdout.write(`moss eval tools: ${path}, ${n} prompts, seed ${seed}${res.trainingSeed ? ' (A TRAINING SEED)' : ''}, greedy, ${seconds.toFixed(0)} s\n`);
      process.stdout.write(`${formatSummary(res.summary)}\n`);
    });
}
