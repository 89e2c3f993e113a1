/**
 * `moss data render --format moss --tokenizer <path> --input <file.jsonl> [--max-len N] [--json]
 *  [--no-human-loss]`: renders MOSS SFT records to ids and labels (src/chat/format.ts) and prints
 * one JSON line per conversation; malformed lines are reported as file:line on stderr and skipped.
 * `moss data pairs --n N --seed S [--solve] [--no-meta] [--responses [--reward]|--prompts|--tool-use]`: verifiable preference pairs
 * (src/data/calc-pairs.ts) as JSONL on stdout, for moss train pm / dpo / steer (or their questions
 * alone, as tool seed prompts for moss synth).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { checkRecord, renderSft } from '../chat/format.js';
import { loadTokenizer } from '../io/load-tokenizer.js';

/** The last Human turn's text of a rendered MOSS context. */
function humanOf(context: string): string {
  const at = context.lastIndexOf('<|Human|>:');
  return context.slice(at + '<|Human|>:'.length, context.indexOf('<eoh>', at)).trim();
}

export function register(program: Command): void {
  const data = program.command('data').description('training data tools');
  data.command('render')
    .description('render SFT conversations to input_ids and labels')
    .requiredOption('--format <name>', 'conversation format (moss)')
    .requiredOption('--tokenizer <path>', 'tokenizer folder or file')
    .requiredOption('--input <file>', 'JSONL file of conversations')
    .option('--max-len <n>', 'maximum sequence length', '2048')
    .option('--no-human-loss', 'label -100 on human turns')
    .option('--json', 'JSON lines output (the default and only format)')
    .action((o: { format: string; tokenizer: string; input: string; maxLen: string; humanLoss: boolean }) => {
      if (o.format !== 'moss') throw new Error(`unknown format ${o.format} (supported: moss)`);
      const maxLen = Number(o.maxLen);
      if (!Number.isInteger(maxLen) || maxLen <= 0) throw new Error(`--max-len must be a positive integer, got ${o.maxLen}`);
      const tok = loadTokenizer(o.tokenizer);
      let text: string;
      try { text = readFileSync(o.input, 'utf8'); } catch (e) { throw new Error(`${o.input}: cannot read (${(e as Error).message})`, { cause: e }); }
      let skipped = 0;
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        try {
          const r = checkRecord(JSON.parse(line));
          const out = renderSft(r, tok, { maxLen, humanLoss: o.humanLoss });
          if (!out) { skipped++; return; }
          process.stdout.write(`${JSON.stringify({ conversation_id: r.conversation_id, input_ids: out.inputIds, labels: out.labels })}\n`);
        } catch (e) {
          process.stderr.write(`${o.input}:${i + 1}: ${(e as Error).message}; skipped\n`);
        }
      });
      if (skipped) process.stderr.write(`${skipped} conversation(s) had no turn within --max-len ${maxLen}; skipped\n`);
    });
  data.command('pairs')
    .description('verifiable preference pairs: calculator/solver replies with the right number (chosen) or a wrong one (rejected)')
    .requiredOption('--n <n>', 'conversations to draw').requiredOption('--seed <s>', 'generator seed (not one moss-tiny was trained on)')
    .option('--solve', 'equation-solver conversations too').option('--no-meta', 'contexts without the meta instruction (shorter)')
    .option('--responses', 'one line per response ({context, response}, for moss score / train steer) instead of pairs')
    .option('--reward', "with --responses: add the rule judge's reward, 1 if the reply states the plugin's number, else 0 (for moss train steer without a PM)")
    .option('--tool-use', 'tool-use pairs in the conversation form instead: the chosen turn calls the plugin and states its number, the rejected one skips the plugin and states a wrong number (phrasings of neither split)')
    .option('--far <share>', 'this share of pairs rejects a random number of the same shape (an easier contrast; default 0)')
    .option('--prompts', 'one seed prompt per line ({prompt, category: "tool"}: the question alone, for moss synth) instead of pairs')
    .option('--split <split>', 'train (default) or eval: the phrasings and number ranges reserved for evaluation, which the training split never draws (held-out pairs by construction)', 'train')
    .action(async (o: { n: string; seed: string; solve?: boolean; meta: boolean; responses?: boolean; reward?: boolean; toolUse?: boolean; prompts?: boolean; far?: string; split: string }) => {
      const { calcPairs } = await import('../data/calc-pairs.js');
      const { isTrainingSeed } = await import('../data/dialogues.js');
      const n = Number(o.n);
      const seed = Number(o.seed);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--n must be a positive integer, got ${o.n}`);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${o.seed}`);
      if (isTrainingSeed(seed)) throw new Error(`--seed ${seed} generated moss-tiny's training data; pick another`);
      const mix = { calc: 1, solve: o.solve ? 1 : 0, search: 0, image: 0, chat: 0 };
      if (o.reward && !o.responses) throw new Error('--reward goes with --responses');
      const { statesAnswer } = await import('../eval/preference.js');
      const far = Number(o.far ?? 0);
      if (!(far >= 0 && far <= 1)) throw new Error(`--far must be a share in [0, 1], got ${o.far}`);
      if (o.split !== 'train' && o.split !== 'eval') throw new Error(`--split must be train or eval, got ${o.split}`);
      if (o.toolUse) {
        if (o.split !== 'train') throw new Error('--tool-use pairs use phrasings of neither split; it goes without --split');
        if (o.responses || o.prompts || o.far) throw new Error('--tool-use writes pairs; it goes without --responses, --prompts and --far');
        const { toolPairs } = await import('../data/calc-pairs.js');
        for (const p of toolPairs(n, seed, { mix })) process.stdout.write(`${JSON.stringify(o.meta ? p : { ...p, meta_instruction: '' })}\n`);
        return;
      }
      for (const p of calcPairs(n, seed, '', { withMeta: o.meta, mix, far, split: o.split })) {
        if (o.prompts) process.stdout.write(`${JSON.stringify({ prompt: humanOf(p.context), category: 'tool' })}\n`);
        else if (!o.responses) process.stdout.write(`${JSON.stringify({ id: p.id, context: p.context, chosen: p.chosen, rejected: p.rejected, answer: p.answer })}\n`);
        else for (const r of [p.chosen, p.rejected]) process.stdout.write(`${JSON.stringify({ id: p.id, context: p.context, response: r, answer: p.answer, ...(o.reward ? { reward: statesAnswer(r, p.answer) ? 1 : 0 } : {}) })}\n`);
      }
    });
}
