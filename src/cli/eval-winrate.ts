/**
 * `moss eval winrate --judge-url <url> (--answers-a F --answers-b F | --model-a P --model-b P)
 * [--prompts <dir>] [--limit N] [--judge-model M] --out <dir>`: pairwise win rate of side A over
 * side B judged by any OpenAI-compatible endpoint (src/eval/winrate.ts over the data pipeline's
 * judge). Models answer through the MOSS chat format (plugins off, greedy). Writes
 * `<out>/results.json` and `<out>/samples.jsonl` (question, both answers, winner, both games).
 * The judge's API key comes from the environment variable named by --api-key-env.
 * Not here: the judging rules (src/data/pipeline/judge).
 */
import type { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelGenerator } from '../chat/generator-adapter.js';
import { fieldBody } from '../chat/format.js';
import { chatTurn } from '../chat/loop.js';
import { ALL_OFF } from '../chat/meta.js';
import { createCaller } from '../data/pipeline/judge/index.js';
import { heldoutPrompts, judgeAll, readAnswers, winrate, type WinrateItem } from '../eval/winrate.js';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { loadModel } from '../models/load.js';
import { number } from './flags.js';

interface Flags {
  judgeUrl: string;
  judgeModel?: string;
  apiKeyEnv: string;
  answersA?: string;
  answersB?: string;
  modelA?: string;
  modelB?: string;
  prompts?: string;
  limit?: string;
  maxNewTokens: string;
  concurrency: string;
  out: string;
}

async function modelAnswers(path: string, prompts: readonly string[], maxNewTokens: number): Promise<string[]> {
  if (!existsSync(path)) throw new Error(`${path}: no such model folder`);
  const { model } = loadModel(path);
  const tokenizer = loadTokenizer(path);
  const eot = tokenizer.tokenToId('<|endoftext|>');
  const generator = new ModelGenerator(model, { temperature: 0, stopIds: [...model.info.eosIds, ...(eot !== undefined ? [eot] : [])] });
  const out: string[] = [];
  for (const [i, p] of prompts.entries()) {
    const t = await chatTurn([], p, { model: generator, tokenizer, plugins: new Map(), switches: ALL_OFF, maxNewTokens, maxContext: Math.min(2048, model.info.maxPositions) });
    out.push(t.MOSS ? fieldBody('MOSS', t.MOSS).trim() : '');
    process.stderr.write(`\r${path}: ${i + 1}/${prompts.length}`);
  }
  process.stderr.write('\n');
  model.dispose();
  return out;
}

export function registerWinrate(ev: Command): void {
  ev.command('winrate')
    .description('pairwise win rate of side A over side B, judged by an OpenAI-compatible endpoint (both orders, [[A]]/[[B]]/[[C]])')
    .requiredOption('--judge-url <url>', 'judge endpoint base URL (e.g. http://127.0.0.1:8000/v1)')
    .option('--judge-model <name>', 'judge model name')
    .option('--api-key-env <var>', 'environment variable holding the judge API key', 'OPENAI_API_KEY')
    .option('--answers-a <file>', 'JSONL answers of side A ({"question", "answer"} per line)')
    .option('--answers-b <file>', 'JSONL answers of side B')
    .option('--model-a <path>', 'MOSS model answering as side A')
    .option('--model-b <path>', 'MOSS model answering as side B')
    .option('--prompts <dir>', 'SFT JSONL folder whose first human turns are the prompts (default ../shared/data/moss-sft-heldout)')
    .option('--limit <n>', 'at most n prompts')
    .option('--max-new-tokens <n>', 'answer budget for --model-a/-b', '256')
    .option('--concurrency <n>', 'pairs judged at a time', '4')
    .requiredOption('--out <dir>', 'output folder for results.json and samples.jsonl')
    .action(async (f: Flags) => {
      const limit = number('limit', f.limit, { int: true, min: 1 });
      const maxNew = number('max-new-tokens', f.maxNewTokens, { int: true, min: 1 })!;
      const sideA = f.answersA ?? f.modelA;
      const sideB = f.answersB ?? f.modelB;
      if (!sideA || !sideB) throw new Error('eval winrate: give --answers-a/--answers-b or --model-a/--model-b');
      let items: WinrateItem[];
      if (f.answersA && f.answersB) {
        const [a, b] = [readAnswers(f.answersA), readAnswers(f.answersB)];
        if (a.length !== b.length) throw new Error(`eval winrate: ${f.answersA} has ${a.length} answers, ${f.answersB} has ${b.length}`);
        const qs = f.prompts || a.some((x) => x.question === undefined) ? heldoutPrompts(f.prompts ?? join('..', 'shared', 'data', 'moss-sft-heldout')) : [];
        items = a.map((x, i) => ({ question: x.question ?? b[i].question ?? qs[i] ?? '', answerA: x.answer, answerB: b[i].answer })).slice(0, limit);
        const q = items.findIndex((x) => !x.question);
        if (q >= 0) throw new Error(`eval winrate: answer ${q + 1} has no question (give "question" in the files or --prompts)`);
      } else {
        if (!f.modelA || !f.modelB) throw new Error('eval winrate: give both --model-a and --model-b (or both answer files)');
        const dir = f.prompts ?? join('..', 'shared', 'data', 'moss-sft-heldout');
        if (!existsSync(dir)) throw new Error(`--prompts: ${dir}: no such folder`);
        const prompts = heldoutPrompts(dir).slice(0, limit);
        const [a, b] = [await modelAnswers(f.modelA, prompts, maxNew), await modelAnswers(f.modelB, prompts, maxNew)];
        items = prompts.map((question, i) => ({ question, answerA: a[i], answerB: b[i] }));
      }
      const judge = createCaller({ baseUrl: f.judgeUrl, model: f.judgeModel, apiKey: process.env[f.apiKeyEnv] });
      const js = await judgeAll(judge.chat, items, { model: f.judgeModel, concurrency: number('concurrency', f.concurrency, { int: true, min: 1 }), onDone: (d) => process.stderr.write(`\rjudged ${d}/${items.length}`) });
      process.stderr.write('\n');
      const r = winrate(items, js);
      mkdirSync(f.out, { recursive: true });
      writeFileSync(join(f.out, 'samples.jsonl'), items.map((x, i) => JSON.stringify({ index: i, ...x, winner: js[i].winner, consistent: js[i].consistent, games: js[i].games })).join('\n') + '\n');
      writeFileSync(join(f.out, 'results.json'), `${JSON.stringify({ ...r, side_a: sideA, side_b: sideB, judge: { url: f.judgeUrl, model: f.judgeModel ?? null, template: js[0]?.template ?? null } }, null, 1)}\n`);
      const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
      process.stdout.write(`winrate ${sideA} vs ${sideB}: ${pct(r.win_rate_adjusted)} adjusted (win ${r.win}, loss ${r.loss}, tie ${r.tie}, error ${r.error}; n=${r.n}), inconsistent ${pct(r.inconsistency_rate)}, mean length ${r.mean_length_a.toFixed(0)} vs ${r.mean_length_b.toFixed(0)} chars\n`);
    });
}
