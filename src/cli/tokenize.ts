/**
 * `moss tokenize` and `moss detokenize`: text <-> ids with any supported tokenizer (folder,
 * tokenizer.json, .gguf, llama2.c .bin; see src/io/load-tokenizer.ts).
 * Deliberately not here: tokenizer logic; batch files of ids.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { loadTokenizer } from '../io/load-tokenizer.js';

function parseIds(s: string): number[] {
  const parts = s.split(/[\s,]+/).filter((p) => p.length > 0);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`--ids: "${p}" is not a non-negative integer`);
    return Number(p);
  });
}

/** Registers both commands (once, even if main loads this module for each name). */
export function register(program: Command): void {
  if (program.commands.some((c) => c.name() === 'tokenize')) return;
  program
    .command('tokenize')
    .description('encode text to token ids')
    .requiredOption('--tokenizer <path>', 'folder (vocab.json+merges.txt | tokenizer.json | MOSS merges.txt+added_tokens.json), tokenizer.json, .gguf or llama2.c .bin')
    .option('--text <text>', 'text to encode')
    .option('--file <file>', 'UTF-8 file to encode')
    .option('--special <mode>', 'allow: control tokens like <eom> in the text become their ids; none: plain text', 'none')
    .option('--bos', 'prepend BOS')
    .option('--json', 'print {"ids":[…],"tokens":[…]}')
    .action((o: { tokenizer: string; text?: string; file?: string; special: string; bos?: boolean; json?: boolean }) => {
      if ((o.text === undefined) === (o.file === undefined)) throw new Error('tokenize: give exactly one of --text or --file');
      if (o.special !== 'allow' && o.special !== 'none') throw new Error(`--special: "${o.special}" is not allow or none`);
      let text = o.text;
      if (o.file !== undefined) {
        try {
          text = readFileSync(o.file, 'utf8');
        } catch (e) {
          throw new Error(`${o.file}: cannot read (${(e as Error).message})`, { cause: e });
        }
      }
      const tok = loadTokenizer(o.tokenizer);
      const ids = tok.encode(text!, { special: o.special, addBos: o.bos === true });
      const tokens = ids.map((i) => tok.idToToken(i) ?? '');
      if (o.json) process.stdout.write(`${JSON.stringify({ ids, tokens })}\n`);
      else {
        process.stdout.write(`ids (${ids.length}): ${ids.join(' ')}\n`);
        process.stdout.write(`tokens: ${tokens.map((t) => JSON.stringify(t)).join(' ')}\n`);
      }
    });
  program
    .command('detokenize')
    .description('decode token ids to text')
    .requiredOption('--tokenizer <path>', 'as for tokenize')
    .requiredOption('--ids <ids>', 'comma- or space-separated ids, e.g. 1,2,3')
    .option('--skip-special', 'leave out control tokens')
    .action((o: { tokenizer: string; ids: string; skipSpecial?: boolean }) => {
      const ids = parseIds(o.ids);
      const tok = loadTokenizer(o.tokenizer);
      for (const id of ids) if (id >= tok.vocabSize || tok.idToToken(id) === undefined) throw new Error(`--ids: ${id} is not in the vocabulary of ${o.tokenizer} (size ${tok.vocabSize})`);
      process.stdout.write(`${tok.decode(ids, { skipSpecial: o.skipSpecial === true })}\n`);
    });
}
