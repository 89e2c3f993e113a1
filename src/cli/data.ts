/**
 * `moss data render --format moss --tokenizer <path> --input <file.jsonl> [--max-len N] [--json]
 *  [--no-human-loss]`: renders MOSS SFT records to ids and labels (src/chat/format.ts) and prints
 * one JSON line per conversation; malformed lines are reported as file:line on stderr and skipped.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { checkRecord, renderSft } from '../chat/format.js';
import { loadTokenizer } from '../io/load-tokenizer.js';

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
}
