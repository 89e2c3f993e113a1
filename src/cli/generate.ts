/**
 * `moss generate`: load a model (HF folder, .gguf or llama2.c .bin), encode a prompt (or take ids),
 * and generate, streaming text to stdout or printing one JSON object with --json. Settings come
 * from the flags, then generation_config.json, then MOSS's defaults for MOSS models (greedy
 * otherwise). Ctrl-C stops the generation (a second Ctrl-C exits). Not here: chat formatting
 * (moss chat), serving, batching several prompts.
 */
import type { Command } from 'commander';
import { configureEngine } from '../backends/index.js';
import { generate, generationDefaults, type GenerateOptions, type GenerationStats } from '../generate/index.js';
import { loadModel } from '../models/load.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { cancellable, number, withSamplingFlags, type SamplingFlags } from './flags.js';
import { findTokenizer, modelPath } from './model-files.js';
import { engineFromFlags } from './options.js';

interface Flags extends SamplingFlags {
  model?: string;
  tokenizer?: string;
  prompt?: string;
  promptIds?: string;
  maxNewTokens?: string;
  seed?: string;
  stop: string[];
  threads?: string;
  json?: boolean;
}


function parseIds(s: string): number[] {
  return s.split(/[\s,]+/).filter((x) => x.length > 0).map((x) => {
    if (!/^\d+$/.test(x)) throw new Error(`--prompt-ids: "${x}" is not a non-negative integer`);
    return Number(x);
  });
}

async function run(o: Flags): Promise<void> {
  if ((o.prompt === undefined) === (o.promptIds === undefined)) throw new Error('generate: give exactly one of --prompt or --prompt-ids');
  configureEngine(engineFromFlags({ threads: o.threads }));
  const path = modelPath('generate', o.model);
  const loaded = loadModel(path);
  const { model } = loaded;
  let tok: Tokenizer | null = null;
  try {
    tok = findTokenizer(path, o.tokenizer);
  } catch (e) {
    if (o.tokenizer !== undefined) throw e; // not found is fine with --prompt-ids, the error below otherwise
  }
  let promptIds: number[];
  if (o.promptIds !== undefined) promptIds = parseIds(o.promptIds);
  else {
    if (!tok) throw new Error(`generate: no tokenizer found for ${o.model}; pass --tokenizer <path> or use --prompt-ids`);
    promptIds = tok.encode(o.prompt!, { addBos: model.info.addsBos });
  }
  if (promptIds.length === 0) throw new Error('generate: the prompt is empty (this model adds no BOS); give some text or --prompt-ids');
  const defaults = generationDefaults(model.info, loaded.generationConfig);
  const stopIds = new Set(defaults.stopIds);
  if (loaded.format === 'llama2c') stopIds.add(1); // run.c stops when BOS comes back
  if (o.stop.length && !tok) throw new Error('generate: --stop needs a tokenizer (pass --tokenizer)');
  const opts: GenerateOptions = withSamplingFlags({
    ...defaults,
    maxNewTokens: number('max-new-tokens', o.maxNewTokens, { int: true, min: 1 }) ?? defaults.maxNewTokens,
    seed: number('seed', o.seed, { int: true, min: 0 }),
    stopIds: [...stopIds],
    stopStrings: o.stop,
    decoder: tok ? () => tok.streamDecoder() : undefined,
    vocabSize: tok?.vocabSize, // padding rows past the tokenizer's vocabulary are never sampled
  }, o);
  const stats = {} as GenerationStats;
  opts.stats = stats;
  const ids: number[] = [];
  const dec = tok?.streamDecoder();
  const hold = Math.max(0, ...o.stop.map((s) => s.length - 1)); // text that may start a stop string
  let text = '';
  let printed = 0;
  await cancellable(async (signal) => {
    opts.signal = signal;
    for await (const id of generate(model, promptIds, opts)) {
      ids.push(id);
      if (!dec || stopIds.has(id)) continue;
      text += dec.push(id);
      const cut = firstStop(text, o.stop);
      if (cut >= 0) text = text.slice(0, cut);
      if (!o.json) {
        const upto = cut >= 0 ? text.length : Math.max(printed, text.length - hold);
        process.stdout.write(text.slice(printed, upto));
        printed = upto;
      }
    }
  });
  if (dec && firstStop(text, o.stop) < 0) text += dec.flush();
  const cut = firstStop(text, o.stop);
  if (cut >= 0) text = text.slice(0, cut);
  const reason = stats.finishReasons[0];
  if (o.json) {
    const perS = (n: number, ms: number): number => (ms > 0 ? Math.round((n / ms) * 1000 * 100) / 100 : 0);
    process.stdout.write(`${JSON.stringify({
      model: o.model,
      prompt_ids: promptIds,
      ids,
      text: tok ? text : null,
      finish_reason: reason === 'abort' ? 'abort' : reason,
      usage: { prompt_tokens: stats.promptTokens, completion_tokens: stats.completionTokens },
      timings: { prefill_ms: Math.round(stats.prefillMs * 100) / 100, decode_ms: Math.round(stats.decodeMs * 100) / 100, prefill_tokens_per_s: perS(stats.promptTokens, stats.prefillMs), decode_tokens_per_s: perS(stats.decodeSteps, stats.decodeMs) },
      seed: stats.seed,
    })}\n`);
  } else if (dec) process.stdout.write(`${text.slice(printed)}\n`);
  else process.stdout.write(`${ids.join(' ')}\n`);
  model.dispose();
}

function firstStop(text: string, stops: readonly string[]): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate text from a prompt with a model (HF folder, .gguf or llama2.c .bin)')
    .option('--model <path>', 'HF checkpoint folder, .gguf file or llama2.c .bin (default: the bundled models/moss-tiny)')
    .option('--tokenizer <path>', 'tokenizer (default: the model folder / .gguf, or tok512.bin / tokenizer.bin beside a .bin)')
    .option('--prompt <text>', 'prompt text')
    .option('--prompt-ids <csv>', 'prompt token ids, e.g. 1,306,4658')
    .option('--max-new-tokens <n>', 'tokens to generate at most (default 256 or generation_config.json)')
    .option('--temperature <t>', '0 = greedy')
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)')
    .option('--top-p <p>', 'nucleus sampling threshold (1 = off)')
    .option('--min-p <p>', 'drop tokens below p x the top probability (0 = off)')
    .option('--repetition-penalty <r>', 'HF-style repetition penalty (1 = off)')
    .option('--seed <s>', 'sampling seed (default random; printed with --json)')
    .option('--stop <text>', 'stop when the output contains this text (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--threads <n>', 'threads for the native backend')
    .option('--json', 'print one JSON object (prompt_ids, ids, text, finish_reason, usage, timings)')
    .action((o: Flags) => run(o));
}
