/**
 * `moss annotate --in <file> --out <file.jsonl> (--judge rule | --endpoint <base-url> [--model M])
 *  [--mode pair|single|aspects]`: preference pairs by AI feedback (src/data/pipeline/annotate.ts).
 * `--out` gets `{id, context, chosen, rejected, margin, judge, reasons}` pairs; `<out>.judgements.jsonl`
 * one record per input item with every response's score and the judge's raw answers. Resumable;
 * a JSON summary (with the position-bias and inconsistency rates) on stdout.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { annotateItem, annotateStats, toAnnotateItem, type AnnotateItem, type JudgeMode, type Judgement } from '../data/pipeline/annotate.js';
import { createCaller } from '../data/pipeline/call.js';
import { readItems } from '../data/pipeline/inputs.js';
import { runPipeline } from '../data/pipeline/runner.js';
import { number } from './flags.js';
import { callerOptions, concurrencyOf, endpointOptions, finish, readReporting, type EndpointFlags } from './pipeline-flags.js';

interface Flags extends EndpointFlags {
  in: string;
  out: string;
  judge?: string;
  mode: string;
  reasks: string;
  seed: string;
  maxTokens: string;
}

export function register(program: Command): void {
  endpointOptions(program.command('annotate').description('preference pairs by AI feedback (a judge endpoint) or by the rule judge'))
    .requiredOption('--in <file>', 'JSONL of {id, context, responses} (moss sample output)')
    .requiredOption('--out <file.jsonl>', 'preference pairs (appended; a re-run resumes); judgements go to <out>.judgements.jsonl')
    .option('--judge <name>', 'rule: verify plugin results, no endpoint')
    .option('--mode <pair|single|aspects>', 'endpoint judge: pairwise (both orders), 1-10 grading, or per-aspect grading', 'pair')
    .option('--reasks <n>', 're-asks after an answer with no verdict', '3')
    .option('--seed <n>', 'seed of judge requests (temperature is 0)', '0')
    .option('--max-tokens <n>', 'max_tokens of a judge answer', '1024')
    .action(async (f: Flags) => {
      if (f.judge !== undefined && f.judge !== 'rule') throw new Error(`--judge: "${f.judge}" is not rule (an AI judge is given with --endpoint)`);
      if (f.judge && f.endpoint) throw new Error('give either --judge rule or --endpoint, not both');
      const co = callerOptions(f);
      if (!f.judge && !co) throw new Error('missing a judge: --judge rule, or --endpoint <base-url> [--model M]');
      if (!['pair', 'single', 'aspects'].includes(f.mode)) throw new Error(`--mode: "${f.mode}" is not pair, single or aspects`);
      const mode: JudgeMode = f.judge ? 'rule' : (f.mode as JudgeMode);
      const { concurrency, maxErrors } = concurrencyOf(f);
      const [items, badLines] = readReporting((bad) => readItems(f.in, bad, toAnnotateItem));
      const caller = co ? createCaller(co) : null;
      const opts = { mode, chat: caller?.chat, judgeName: f.model, model: f.model, reasks: number('reasks', f.reasks, { int: true, min: 0, max: 20 }), seed: number('seed', f.seed, { int: true }), maxTokens: number('max-tokens', f.maxTokens, { int: true, min: 1 }) };
      const judgements = `${f.out}.judgements.jsonl`;
      const summary = await runPipeline<AnnotateItem>({
        label: 'annotate', out: [f.out, judgements], items, concurrency, maxErrors, progress: f.progress,
        stats: caller ? () => caller.stats : undefined,
        work: async (it) => {
          const r = await annotateItem(it.input, opts);
          return { records: [r.pair, r.judgement] };
        },
      });
      let js: Judgement[] = [];
      try {
        js = readFileSync(judgements, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Judgement);
      } catch { /* nothing judged */ }
      finish(summary, { badLines, judgements, ...annotateStats(js) });
    });
}
