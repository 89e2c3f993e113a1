/**
 * `--quantize q4_0|q8_0` on `moss chat|generate|serve`: declared on those commands here (one place
 * for all three) and resolved before the command runs — the model folder is converted once into a
 * cached GGUF (src/models/quantize-cache.ts; beside the model, else ~/.cache/moss/quantized or
 * $MOSS_CACHE/quantized) with a progress bar, `--model` is pointed at it, and `--tokenizer`
 * (when the command has one and it was not given) at the original folder. Without the flag, an
 * HF folder whose weights exceed the free memory is refused with a message naming the flag.
 * Deliberately does not: quantize anything itself.
 */
import type { Command } from 'commander';
import { freemem, homedir, totalmem } from 'node:os';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkFitsInMemory, ensureQuantized } from '../models/quantize-cache.js';
import { Progress } from '../train/progress.js';

export const QUANTIZE_COMMANDS = new Set(['chat', 'generate', 'serve']);

/** Adds the --quantize option to the commands that load a model. */
export function declareQuantizeFlag(program: Command): void {
  for (const c of program.commands) {
    if (QUANTIZE_COMMANDS.has(c.name()) && !c.options.some((o) => o.long === '--quantize')) {
      c.option('--quantize <type>', 'q4_0 or q8_0: convert an HF model folder once into a cached GGUF and run that');
    }
  }
}

/** Applies --quantize (or the memory check) to `cmd`'s options; `model` is the resolved --model path. */
export function applyQuantizeFlag(cmd: Command, env: NodeJS.ProcessEnv = process.env): void {
  const o = cmd.opts() as { model?: string; quantize?: string; tokenizer?: string };
  const model = o.model;
  if (typeof model !== 'string' || !existsSync(model)) return;
  if (o.quantize === undefined) {
    // f16 weights that cannot fit would only thrash: say which flag fixes it
    checkFitsInMemory(model, Math.max(freemem(), totalmem() * 0.9));
    return;
  }
  if (o.quantize !== 'q4_0' && o.quantize !== 'q8_0') throw new Error(`--quantize: "${o.quantize}" is not q4_0 or q8_0`);
  if (!statSync(model).isDirectory()) throw new Error(`--quantize: ${model} is not an HF model folder (quantize files with \`moss quantize\`)`);
  const cacheDir = join(env.MOSS_CACHE || join(homedir(), '.cache', 'moss'), 'quantized');
  let bar: Progress | null = null;
  let last = 0;
  const out = ensureQuantized(model, o.quantize, {
    cacheDir,
    onConvert: (from, to) => process.stderr.write(`converting ${from} to ${o.quantize} once: ${to}\n`),
    onProgress: (p) => {
      bar ??= new Progress({ total: Math.max(1, Math.round(p.total / 1e6)), unit: 'MB' });
      const mb = Math.round(p.done / 1e6);
      bar.update(mb, mb - last, p.tensor);
      last = mb;
      if (p.done === p.total) bar.finish();
    },
  });
  cmd.setOptionValue('model', out);
  if (cmd.options.some((x) => x.long === '--tokenizer') && o.tokenizer === undefined) cmd.setOptionValue('tokenizer', model);
}
