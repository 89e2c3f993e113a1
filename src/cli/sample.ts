/**
 * `moss sample --model <path> --contexts <file> --out <file.jsonl> --n K [--temperature T] [--seed S]`:
 * K responses per context from a local model (src/data/pipeline/sample.ts), written as
 * `{id, context, responses: [{text, logprob_sum, tokens}]}` lines; resumable like every data
 * command; a JSON summary on stdout. `--temperature` may list one value per sample (0.2,0.7,1);
 * `--batch-size` samples are decoded together (continuous batching, each with its own seed).
 */
import type { Command } from 'commander';
import { configureEngine } from '../backends/index.js';
import { generationDefaults } from '../generate/index.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { loadModel } from '../models/load.js';
import { createPlugins } from '../plugins/index.js';
import { readItems } from '../data/pipeline/inputs.js';
import { runPipeline } from '../data/pipeline/runner.js';
import { BatchSampler, encodeContext, promptContext, type SampleItem } from '../data/pipeline/sample.js';
import { number } from './flags.js';
import { engineFromFlags } from './options.js';
import { finish, readReporting } from './pipeline-flags.js';

interface Flags {
  model: string;
  tokenizer?: string;
  contexts: string;
  out: string;
  n: string;
  temperature: string;
  seed: string;
  maxNewTokens: string;
  plugins: boolean;
  searchDir?: string;
  maxErrors: string;
  batchSize: string;
  threads?: string;
  progress: boolean;
}

/** `{id?, context}` (a MOSS transcript) or `{id?, prompt|user_prompt}` (a plain prompt). */
function toItem(v: unknown, where: string): SampleItem {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  const o = v as Record<string, unknown>;
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : where;
  if (typeof o.context === 'string' && o.context) return { id, context: o.context };
  const p = o.prompt ?? o.user_prompt;
  if (typeof p === 'string' && p.trim()) return { id, context: promptContext(p.trim()) };
  throw new Error('no "context" or "prompt" string');
}

export function register(program: Command): void {
  program.command('sample').description('K sampled responses per context from a local model (for preference annotation)')
    .requiredOption('--model <path>', 'model folder (HF layout), .gguf or llama2.c .bin')
    .option('--tokenizer <path>', 'tokenizer (default: the model folder)')
    .requiredOption('--contexts <file>', 'JSONL of {id, context} (MOSS transcript, may end at <|MOSS|>:) or {id, prompt}')
    .requiredOption('--out <file.jsonl>', 'output (appended; a re-run resumes)')
    .requiredOption('--n <k>', 'responses per context')
    .option('--temperature <t>', 'sampling temperature, or one per sample: 0.2,0.7,1.0', '0.7')
    .option('--seed <s>', 'run seed (each sample gets its own, derived from it)', '0')
    .option('--max-new-tokens <n>', 'tokens per response at most', '256')
    .option('--no-plugins', 'end a sample at <eoc> instead of running its commands')
    .option('--search-dir <folder>', 'local corpus for Search commands')
    .option('--batch-size <n>', 'samples decoded together (each keeps its own seed and temperature)', '8')
    .option('--max-errors <n>', 'stop after this many failed contexts', '50')
    .option('--threads <n>', 'threads of the native backend')
    .option('--no-progress', 'no progress line on stderr')
    .action(async (f: Flags) => {
      const n = number('n', f.n, { int: true, min: 1, max: 1024 })!;
      const temps = f.temperature.split(',').map((t) => number('temperature', t.trim(), { min: 0, max: 5 })!);
      const seed = number('seed', f.seed, { int: true, min: 0 })!;
      const maxNew = number('max-new-tokens', f.maxNewTokens, { int: true, min: 1 })!;
      const batch = number('batch-size', f.batchSize, { int: true, min: 1, max: 256 })!;
      configureEngine(engineFromFlags({ threads: f.threads }));
      const [items, badLines] = readReporting((bad) => readItems(f.contexts, bad, toItem));
      const loaded = loadModel(f.model);
      const tokenizer = loadTokenizer(f.tokenizer ?? f.model);
      const defaults = generationDefaults(loaded.model.info, loaded.generationConfig);
      const plugins = f.plugins ? createPlugins(f.searchDir ? { search: { provider: 'local', dir: f.searchDir } } : {}) : undefined;
      const maxContext = Math.max(1, ...items.map((it) => { try { return encodeContext(it.input.context, tokenizer).length; } catch { return 1; } }));
      const sampler = new BatchSampler({ model: loaded.model, tokenizer, n, seed, temperatures: temps, maxNewTokens: maxNew, sampling: defaults, plugins, batch, maxContext });
      let tokens = 0;
      const summary = await runPipeline<SampleItem>({
        // enough contexts in flight to keep the batch full while the oldest finishes (output stays in input order)
        label: 'sample', out: [f.out], items, concurrency: 2 * Math.ceil(batch / n) + 1, maxErrors: number('max-errors', f.maxErrors, { int: true, min: 1 }), progress: f.progress,
        stats: () => ({ calls: 0, cacheHits: 0, retries: 0, failed: 0, promptTokens: sampler.promptTokens.fed, completionTokens: tokens }),
        work: async (it) => {
          const r = await sampler.sample(it.input);
          tokens += r.responses.reduce((s, x) => s + x.tokens, 0);
          return { records: [r] };
        },
      });
      sampler.dispose();
      loaded.model.dispose();
      finish(summary, { badLines, sampledTokens: tokens, promptTokensReused: sampler.promptTokens.reused, batchSize: batch });
    });
}
