/**
 * `moss quantize --model <in> --type q8_0|q4_0|q4_k_m|q5_k_m|q6_k --out <file.gguf>`: parses the flags, shows a
 * progress bar (MB done / total, MB/s, ETA, current tensor) on stderr and calls the library's
 * streaming converter (src/models/quantize.ts, which documents what is written).
 * Deliberately does not: hold any conversion logic itself.
 */
import type { Command } from 'commander';
import { quantizeModel, type KMix, type QuantType, type QuantizeResult } from '../models/quantize.js';
import { isKMix } from '../models/kquant-mix.js';
import { Progress } from '../train/progress.js';

/** The library converter with a progress bar on stderr (when `progress` is set). */
function quantizeWithProgress(input: string, q: QuantType | KMix, out: string, progress = false): QuantizeResult {
  let bar: Progress | null = null;
  let lastMb = 0;
  const r = quantizeModel(input, q, out, {
    onProgress: progress
      ? (p) => {
          bar ??= new Progress({ total: Math.max(1, Math.round(p.total / 1e6)), unit: 'MB' });
          const mb = Math.round(p.done / 1e6);
          bar.update(mb, mb - lastMb, `${p.index + 1}/${p.count} ${p.tensor}`);
          lastMb = mb;
        }
      : undefined,
  });
  (bar as Progress | null)?.finish();
  return r;
}

export function register(program: Command): void {
  if (program.commands.some((c) => c.name() === 'quantize')) return;
  program
    .command('quantize')
    .description('write a GGUF with 2-d weights quantized to q8_0, q4_0 or a llama.cpp k-quant mix (q4_k_m, q5_k_m, q6_k; norms and biases stay f32), streaming tensor by tensor')
    .requiredOption('--model <path>', 'an HF folder (moss incl. GPTQ int4/int8, codegen, llama, mistral, qwen2), a .gguf or a llama2.c .bin')
    .requiredOption('--type <type>', 'q8_0, q4_0, q4_k_m, q5_k_m or q6_k')
    .requiredOption('--out <file>', 'output .gguf')
    .option('--quiet', 'no progress bar')
    .action((o: { model: string; type: string; out: string; quiet?: boolean }) => {
      if (o.type !== 'q8_0' && o.type !== 'q4_0' && !isKMix(o.type)) throw new Error(`--type: "${o.type}" is not q8_0, q4_0, q4_k_m, q5_k_m or q6_k`);
      if (!o.out.endsWith('.gguf')) throw new Error(`--out: "${o.out}" should end in .gguf`);
      const r = quantizeWithProgress(o.model, o.type, o.out, !o.quiet);
      const gb = r.inputBytes / 1e9;
      process.stdout.write(`wrote ${o.out}: ${r.tensors} tensors, arch ${r.arch}, ${o.type}; ${gb.toFixed(2)} GB of weights in ${r.seconds.toFixed(1)} s (${(gb / Math.max(r.seconds, 1e-9)).toFixed(2)} GB/s)\n`);
    });
}
