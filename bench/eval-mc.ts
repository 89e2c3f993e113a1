/**
 * `npm run bench -- eval-mc [--json] [--model DIR] [--limit N] [--shots K]`: MMLU multiple-choice
 * scoring speed, shared-prefix path (one prefill per question, choices from its KV cache; batch 1
 * and batch 8) against the naive path (one full forward per choice, as lm-evaluation-harness runs a
 * causal LM) on the same questions of the same model; the log-likelihoods must agree (1e-3) and
 * the predictions be identical before a speed is reported. Default: models/moss-tiny, 3 subjects
 * × 10 questions, 0-shot and 5-shot.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMc } from '../src/eval/bench/data.js';
import { evalMc, type McSample } from '../src/eval/bench/mc.js';
import { loadTokenizer } from '../src/io/load-tokenizer.js';
import { loadModel } from '../src/models/load.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (args: string[], name: string, dflt: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const modelDir = arg(args, '--model', join(repo, 'models', 'moss-tiny'));
  const limit = Number(arg(args, '--limit', '10'));
  const shotsList = args.includes('--shots') ? [Number(arg(args, '--shots', '0'))] : [0, 5];
  const bench = join(repo, '..', 'shared', 'bench', 'mmlu');
  if (!existsSync(bench) || !existsSync(modelDir)) {
    process.stderr.write(`bench eval-mc: needs ${bench} and ${modelDir}\n`);
    process.exitCode = 1;
    return;
  }
  const { model } = loadModel(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  const subjects = loadMc('mmlu', bench, ['abstract_algebra', 'college_physics', 'marketing']);
  const rows: Record<string, unknown>[] = [];
  for (const shots of shotsList) {
    const run = async (naive: boolean, batchSize: number): Promise<{ s: number; samples: McSample[] }> => {
      const t0 = performance.now();
      const r = await evalMc({ model, tokenizer, bench: 'mmlu', subjects, style: 'harness', shots, limit, batchSize, naive });
      return { s: (performance.now() - t0) / 1000, samples: r.samples };
    };
    await run(false, 1); // warm-up (the first forwards of new shapes are slow)
    await run(false, 8);
    const naive = await run(true, 1);
    const shared = await run(false, 1);
    const batched = await run(false, 8);
    for (const other of [shared, batched]) {
      other.samples.forEach((x, i) => {
        const y = naive.samples[i];
        const diff = Math.max(...x.loglikelihoods.map((v, c) => Math.abs(v - y.loglikelihoods[c])));
        if (diff > 1e-3 || x.pred !== y.pred) throw new Error(`bench eval-mc: ${x.subject}#${x.index} differs from the naive path (${diff})`);
      });
    }
    const n = naive.samples.length;
    for (const [name, r] of [['naive: 4 forwards per question', naive], ['shared prefix, batch 1', shared], ['shared prefix, batch 8', batched]] as const) {
      rows.push({ bench: 'eval-mc', model: modelDir, shots, questions: n, path: name, seconds: r.s, questionsPerSec: n / r.s, speedupVsNaive: naive.s / r.s, load: loadavg()[0] });
    }
  }
  model.dispose();
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'results', 'eval-mc.json'), `${JSON.stringify(rows, null, 1)}\n`);
  if (json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(`MMLU scoring on ${modelDir} (harness prompts; same questions, same log-likelihoods within 1e-3, same predictions), load ${loadavg()[0].toFixed(1)}\n`);
    process.stdout.write(`${'shots'.padEnd(6)}${'path'.padEnd(34)}${'q/s'.padStart(8)}${'vs naive'.padStart(10)}\n`);
    for (const r of rows) process.stdout.write(`${String(r.shots).padEnd(6)}${String(r.path).padEnd(34)}${(r.questionsPerSec as number).toFixed(2).padStart(8)}${`${(r.speedupVsNaive as number).toFixed(2)}×`.padStart(10)}\n`);
  }
}
