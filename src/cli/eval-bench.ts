/**
 * `moss eval mmlu|ceval|cmmlu|gsm8k|humaneval --model <path> [--bench-dir <dir>] [--shots N]
 * [--limit N] [--subjects a,b] [--style harness|original|moss-chat] [--batch-size N] --out <dir>`:
 * academic benchmarks on ../shared/bench (src/eval/bench). Writes `<out>/results.json` (scores per
 * subject and category, micro and macro, standard errors, n, settings, model and data hashes) and
 * `<out>/samples.jsonl` (one line per item: prompt, log-likelihoods or generation, pred, gold), and
 * prints a short table. Progress bar with ETA on stderr.
 * Not here: the scoring itself (src/eval/bench), `moss eval tools` (./eval.ts).
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMc, type McBenchName } from '../eval/bench/data.js';
import { cutAtStops, exactMatch, flexibleExtract, gsm8kGold, gsm8kPrompt, GSM8K_STOPS, loadGsm8k, strictExtract } from '../eval/bench/gsm8k.js';
import { hashFiles, hashModel } from '../eval/bench/hash.js';
import { checkCompletions, HUMANEVAL_STOPS, loadHumanEval } from '../eval/bench/humaneval.js';
import { evalMc } from '../eval/bench/mc.js';
import { mean, passAtK } from '../eval/bench/metrics.js';
import { defaultShots, STYLES, type Style } from '../eval/bench/prompts.js';
import { sandboxIsolation } from '../eval/bench/sandbox.js';
import { generateAll } from '../generate/index.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { loadModel } from '../models/load.js';
import type { CausalLM } from '../models/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { Progress } from '../train/progress.js';
import { number } from './flags.js';

interface Flags {
  model: string;
  tokenizer?: string;
  benchDir?: string;
  shots?: string;
  limit?: string;
  subjects?: string;
  style: string;
  batchSize: string;
  out: string;
  maxLength?: string;
  maxNewTokens?: string;
  naive?: boolean;
  samples: string;
  k: string;
  timeout: string;
  parallel: string;
  python?: string;
}

const BENCHES = ['mmlu', 'ceval', 'cmmlu', 'gsm8k', 'humaneval'] as const;
type Bench = (typeof BENCHES)[number];

/** --bench-dir default: ../shared/bench from the working directory, else from the package root. */
function defaultBenchDir(): string {
  const here = resolve('../shared/bench');
  if (existsSync(here)) return here;
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'bench');
}

const filesUnder = (d: string): string[] => readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => join(d, f)).filter((f) => statSync(f).isFile() && !f.endsWith('SOURCE.md'));

function writeOut(out: string, results: Record<string, unknown>, samples: readonly object[]): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'samples.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n') + (samples.length ? '\n' : ''));
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '—');

async function generateTexts(model: CausalLM, tok: Tokenizer, prompts: string[], o: { maxNew: number; stops: string[]; maxLength: number; batch: number; onDone: (n: number) => void }): Promise<{ text: string; truncated: boolean }[]> {
  const out: { text: string; truncated: boolean }[] = [];
  for (let i = 0; i < prompts.length; i += o.batch) {
    const enc = prompts.slice(i, i + o.batch).map((p) => tok.encode(p));
    const room = Math.max(1, o.maxLength - o.maxNew); // the harness keeps max_length - max_gen_toks context tokens
    const ids = enc.map((e) => e.slice(-room));
    const eot = tok.tokenToId('<|endoftext|>');
    const { ids: gen } = await generateAll(model, ids, {
      temperature: 0, maxNewTokens: o.maxNew, stopStrings: o.stops, decoder: () => tok.streamDecoder(),
      stopIds: [...model.info.eosIds, ...(eot !== undefined ? [eot] : [])],
    });
    gen.forEach((g, j) => out.push({ text: cutAtStops(tok.decode(g.filter((id) => !tok.isSpecial(id))), o.stops), truncated: ids[j].length < enc[j].length }));
    o.onDone(out.length);
  }
  return out;
}

async function run(bench: Bench, f: Flags): Promise<void> {
  if (!f.out) throw new Error(`eval ${bench}: --out <dir> is required`);
  const style = f.style as Style;
  if (!STYLES.includes(style)) throw new Error(`--style: "${f.style}" is not one of ${STYLES.join(', ')}`);
  if ((bench === 'gsm8k' || bench === 'humaneval') && style !== 'harness') throw new Error(`--style ${style}: ${bench} has only the harness style here`);
  const benchRoot = f.benchDir ?? defaultBenchDir();
  const dir = join(benchRoot, bench);
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder (give --bench-dir, the folder holding ${bench}/)`);
  if (!existsSync(f.model)) throw new Error(`--model: ${f.model}: no such model folder or file`);
  const limit = number('limit', f.limit, { int: true, min: 1 });
  const batch = number('batch-size', f.batchSize, { int: true, min: 1 })!;
  const subjects = f.subjects?.split(',').map((s) => s.trim()).filter(Boolean);
  const settings: Record<string, unknown> = { benchmark: bench, style, limit: limit ?? null, subjects: subjects ?? null, batch_size: batch };
  const t0 = performance.now();
  const loaded = loadModel(f.model);
  const model = loaded.model;
  const tok = loadTokenizer(f.tokenizer ?? f.model);
  const maxLength = number('max-length', f.maxLength, { int: true, min: 2 }) ?? model.info.maxPositions;
  settings.max_length = maxLength;
  const meta = { model: { path: f.model, type: model.info.modelType, hash: hashModel(f.model) }, data: { dir, hash: hashFiles(filesUnder(dir), dir) } };
  let results: Record<string, unknown>;
  let samples: object[];
  if (bench === 'mmlu' || bench === 'ceval' || bench === 'cmmlu') {
    const shots = number('shots', f.shots, { int: true, min: 0, max: 5 }) ?? defaultShots(style);
    const subs = loadMc(bench as McBenchName, dir, subjects);
    const total = subs.reduce((s, x) => s + Math.min(x.test.length, limit ?? Infinity), 0);
    const bar = new Progress({ total, unit: 'q' });
    const r = await evalMc({ model, tokenizer: tok, bench: bench as McBenchName, subjects: subs, style, shots, limit, batchSize: batch, maxLength, naive: f.naive, onProgress: (d) => bar.update(d, 1) });
    bar.finish();
    Object.assign(settings, { shots, scoring: style === 'moss-chat' ? 'greedy generation, first letter A-D' : f.naive ? 'naive: one forward per choice' : 'shared prefix: one prefill per question, choices from its KV cache' });
    results = { ...r.report, settings, ...meta };
    samples = r.samples;
    process.stdout.write(`${bench} (${style}, ${shots}-shot): acc ${pct(r.report.acc)} ± ${pct(r.report.acc_stderr)} (micro, n=${r.report.n}), macro ${pct(r.report.acc_macro)}, acc_norm ${pct(r.report.acc_norm)}${r.report.truncated ? `, ${r.report.truncated} truncated` : ''}\n`);
    for (const [c, g] of Object.entries(r.report.categories)) process.stdout.write(`  ${c.padEnd(18)} ${pct(g.acc)} (n=${g.n})\n`);
  } else if (bench === 'gsm8k') {
    const shots = number('shots', f.shots, { int: true, min: 0, max: 8 }) ?? 8;
    const maxNew = number('max-new-tokens', f.maxNewTokens, { int: true, min: 1 }) ?? 256;
    const docs = loadGsm8k(dir).slice(0, limit);
    const bar = new Progress({ total: docs.length, unit: 'q' });
    const prompts = docs.map((d) => gsm8kPrompt(d, shots));
    const gens = await generateTexts(model, tok, prompts, { maxNew, stops: GSM8K_STOPS, maxLength, batch, onDone: (n) => bar.update(n, 1) });
    bar.finish();
    samples = docs.map((d, i) => {
      const gold = gsm8kGold(d);
      const strict = strictExtract(gens[i].text);
      const flexible = flexibleExtract(gens[i].text);
      return { subject: 'gsm8k', index: d.index, prompt: prompts[i], generation: gens[i].text, pred: { strict, flexible }, gold, exact_match: { strict: exactMatch(strict, gold), flexible: exactMatch(flexible, gold) }, truncated: gens[i].truncated };
    });
    const em = (k: 'strict' | 'flexible'): ReturnType<typeof mean> => mean(samples.map((s) => (s as { exact_match: Record<string, number> }).exact_match[k]));
    const strict = em('strict');
    const flexible = em('flexible');
    Object.assign(settings, { shots, max_new_tokens: maxNew, stops: GSM8K_STOPS, task: 'gsm8k_cot', decoding: 'greedy' });
    results = {
      exact_match: { strict: strict.value, flexible: flexible.value }, exact_match_stderr: { strict: strict.stderr, flexible: flexible.stderr },
      acc: flexible.value, acc_macro: flexible.value, n: samples.length, truncated: gens.filter((g) => g.truncated).length,
      subjects: { gsm8k: { acc: flexible.value, n: samples.length } }, settings, ...meta,
    };
    process.stdout.write(`gsm8k (gsm8k_cot, ${shots}-shot, greedy): exact_match strict ${pct(strict.value)}, flexible ${pct(flexible.value)} (n=${samples.length})\n`);
  } else {
    const n = number('samples', f.samples, { int: true, min: 1 })!;
    const ks = f.k.split(',').map((k) => number('k', k.trim(), { int: true, min: 1 })!);
    const bad = ks.filter((k) => k > n);
    if (bad.length) throw new Error(`--k ${bad.join(',')}: pass@k needs --samples >= k (got ${n})`);
    if (n > 1) throw new Error('--samples > 1 needs sampling, which this greedy evaluation does not do yet; use --samples 1');
    const maxNew = number('max-new-tokens', f.maxNewTokens, { int: true, min: 1 }) ?? 256;
    const timeout = number('timeout', f.timeout, { min: 0.1 })!;
    const problems = loadHumanEval(dir).slice(0, limit);
    const bar = new Progress({ total: problems.length * 2, unit: 'step' });
    const gens = await generateTexts(model, tok, problems.map((p) => p.prompt), { maxNew, stops: HUMANEVAL_STOPS, maxLength, batch, onDone: (d) => bar.update(d, 1) });
    const runs = await checkCompletions(problems, gens.map((g, i) => ({ problem: i, completion: g.text })), { timeout, python: f.python, parallel: number('parallel', f.parallel, { int: true, min: 1 }), onDone: (d) => bar.update(problems.length + d, 1) });
    bar.finish();
    samples = problems.map((p, i) => ({ subject: 'humaneval', index: p.index, task_id: p.task_id, prompt: p.prompt, generation: gens[i].text, pred: runs[i].result, gold: 'passed', passed: runs[i].passed, truncated: gens[i].truncated }));
    const pass: Record<string, number> = {};
    for (const k of ks) pass[`pass@${k}`] = problems.reduce((s, _, i) => s + passAtK(n, +runs[i].passed, k), 0) / problems.length;
    Object.assign(settings, { samples_per_problem: n, k: ks, max_new_tokens: maxNew, stops: HUMANEVAL_STOPS, timeout_s: timeout, isolation: sandboxIsolation().name, decoding: 'greedy' });
    results = { ...pass, acc: pass['pass@1'], acc_macro: pass['pass@1'], n: problems.length, subjects: { humaneval: { acc: pass['pass@1'], n: problems.length } }, settings, ...meta };
    process.stdout.write(`humaneval (greedy, ${n} sample): ${ks.map((k) => `pass@${k} ${pct(pass[`pass@${k}`])}`).join(', ')} (n=${problems.length})\n`);
  }
  results.seconds = (performance.now() - t0) / 1000;
  writeOut(f.out, results, samples);
  process.stdout.write(`wrote ${join(f.out, 'results.json')} and samples.jsonl (${samples.length} lines), ${(results.seconds as number).toFixed(1)} s\n`);
  model.dispose();
}

/** Adds the benchmark subcommands to `moss eval`. */
export function registerBench(ev: Command): void {
  for (const bench of BENCHES) {
    ev.command(bench)
      .description(`${bench} (lm-evaluation-harness conventions by default); writes results.json and samples.jsonl`)
      .requiredOption('--model <path>', 'model folder or file')
      .option('--tokenizer <path>', 'tokenizer (default: the model folder)')
      .option('--bench-dir <dir>', 'folder holding mmlu/ ceval/ cmmlu/ gsm8k/ humaneval/ (default ../shared/bench)')
      .option('--shots <n>', 'few-shot examples (default as the harness: 0 for MMLU/C-Eval/CMMLU, 8 for GSM8K; original style 5)')
      .option('--limit <n>', 'at most n items per subject')
      .option('--subjects <list>', 'comma-separated subjects (multiple choice)')
      .option('--style <s>', `prompt and scoring convention: ${STYLES.join(' | ')}`, 'harness')
      .option('--batch-size <n>', 'questions per forward', '1')
      .option('--max-length <n>', 'context limit (default: the model\'s positions, as the harness)')
      .option('--max-new-tokens <n>', 'generation budget (gsm8k, humaneval: 256 as the harness)')
      .option('--samples <n>', 'humaneval: completions per problem', '1')
      .option('--k <list>', 'humaneval: pass@k for these k', '1')
      .option('--timeout <s>', 'humaneval: seconds per program', '3')
      .option('--parallel <n>', 'humaneval: programs at a time', '2')
      .option('--python <exe>', 'humaneval: Python interpreter (default /usr/bin/python3, else python3)')
      .option('--naive', 'score each choice with its own full forward (the slow reference path)')
      .requiredOption('--out <dir>', 'output folder for results.json and samples.jsonl')
      .action((f: Flags) => run(bench, f));
  }
}
