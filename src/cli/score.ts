/**
 * `moss score --model <pm-dir> --data <file.jsonl> [--json]`: rewards from a preference model
 * trained by `moss train pm` (its final/ folder or a step checkpoint), one output line per input line, in order: `{"chosen": r, "rejected":
 * r}` for pair lines, `{"reward": r}` for lines with a single `response`, `{"error": "file:line:
 * reason"}` for a line that cannot be scored (also reported on stderr). Lines are rendered exactly
 * as for training (src/train/pairs.ts). `--normalize` subtracts the reward mean and divides by the
 * std saved with the model.
 * Not here: the scoring itself (src/train/reward-model.ts).
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('score').description('score responses with a preference model (moss train pm)')
    .requiredOption('--model <dir>', 'preference model folder').requiredOption('--data <file>', 'JSONL: pairs {context, chosen, rejected} or {context, response}')
    .option('--json', 'one JSON object per input line').option('--normalize', "use the model's saved reward mean/std")
    .option('--context <n>', 'longest sequence scored, in tokens', '2048').option('--batch-size <n>', 'sequences per forward', '8')
    .action(async (o: { model: string; data: string; json?: boolean; normalize?: boolean; context: string; batchSize: string }) => {
      const { loadTokenizer } = await import('../io/load-tokenizer.js');
      const { BadDataLog, readJsonl } = await import('../train/corpus.js');
      const { renderCompletion } = await import('../train/pairs.js');
      const { loadRewardModel, scoreSeqs } = await import('../train/reward-model.js');
      const { model, config, tokDir } = loadRewardModel(o.model);
      const tok = loadTokenizer(tokDir);
      const pad = tok.encode('<eom>', { special: 'allow' })[0];
      const context = Number(o.context);
      const mean = o.normalize ? Number(config.reward_mean ?? 0) : 0;
      const std = o.normalize ? Number(config.reward_std ?? 1) || 1 : 1;
      const errors = new Map<number, string>();
      const bad = new BadDataLog((m) => process.stderr.write(`${m}\n`));
      const recs = readJsonl(o.data, bad);
      for (const b of bad.items) errors.set(b.line, `${b.file}:${b.line}: ${b.reason}`);
      const jobs: { line: number; keys: string[]; seqs: ReturnType<typeof renderCompletion>[] }[] = [];
      for (const r of recs) {
        const keys = r.value.response !== undefined ? ['response'] : ['chosen', 'rejected'];
        try {
          const seqs = keys.map((k) => {
            if (r.value[k] === undefined) throw new Error(`no "${k}"`);
            const s = renderCompletion(r.value, r.value[k], tok, { context });
            if (s.ids.length > context) throw new Error(`${k} is ${s.ids.length} tokens with its context, longer than --context ${context}`);
            return s;
          });
          jobs.push({ line: r.line, keys, seqs });
        } catch (e) {
          const msg = `${o.data}:${r.line}: ${(e as Error).message}`;
          process.stderr.write(`skipped ${msg}\n`);
          errors.set(r.line, msg);
        }
      }
      const rewards = scoreSeqs(model, jobs.flatMap((j) => j.seqs), pad, Number(o.batchSize));
      const out = new Map<number, Record<string, number | string>>();
      let k = 0;
      for (const j of jobs) {
        const rec: Record<string, number> = {};
        for (const key of j.keys) rec[key === 'response' ? 'reward' : key] = (rewards[k++] - mean) / std;
        out.set(j.line, rec);
      }
      for (const [line, msg] of errors) out.set(line, { error: msg });
      for (const line of [...out.keys()].sort((a, b) => a - b)) {
        const v = out.get(line)!;
        process.stdout.write(o.json ? `${JSON.stringify(v)}\n` : `${o.data}:${line}: ${Object.entries(v).map(([a, b]) => `${a} ${typeof b === 'number' ? b.toFixed(4) : b}`).join(', ')}\n`);
      }
      model.dispose();
    });
}
