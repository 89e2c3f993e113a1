/**
 * `moss synth --endpoint <base-url> [--api-key K] [--model M] --prompts <file> --out <file.jsonl>
 *  [--turns A..B] [--concurrency N] [--rpm N] [--seed S] [--limit N] [--cache <dir>]` and more:
 * synthetic MOSS SFT conversations from seed prompts through an OpenAI-compatible endpoint
 * (src/data/pipeline/synth.ts), every record validated by the MOSS format module before it is
 * written, resumable, deduplicated and filtered; a JSON summary on stdout.
 */
import type { Command } from 'commander';
import { loadTokenizer } from '../io/load-tokenizer.js';
import { createPlugins } from '../plugins/index.js';
import type { Plugin } from '../plugins/types.js';
import { createCaller } from '../data/pipeline/call.js';
import { Deduper } from '../data/pipeline/dedup.js';
import { readSeeds, parseTurns, type Seed } from '../data/pipeline/inputs.js';
import { runPipeline, type Item } from '../data/pipeline/runner.js';
import { conversationId, synthConversation } from '../data/pipeline/synth.js';
import { validateSft } from '../data/pipeline/validate.js';
import type { SftRecord, TurnFields } from '../data/pipeline/moss-format.js';
import { number } from './flags.js';
import { callerOptions, concurrencyOf, endpointOptions, finish, readReporting, type EndpointFlags } from './pipeline-flags.js';

interface Flags extends EndpointFlags {
  prompts: string;
  out: string;
  turns: string;
  seed: string;
  limit?: string;
  temperature: string;
  maxTokens: string;
  userEndpoint?: string;
  userModel?: string;
  pluginShare: string;
  plugins: string;
  searchDir?: string;
  tokenizer?: string;
  maxLen: string;
  dedupThreshold: string;
  lang?: string;
  keepRefusals?: boolean;
  minChars: string;
  maxChars: string;
}

/** The text compared for duplicates: every Human and MOSS field of a record. */
export function dedupText(r: SftRecord): string {
  return Object.values(r.chat).map((t: TurnFields) => `${t.Human ?? ''}${t.MOSS ?? ''}`).join('');
}

export function register(program: Command): void {
  endpointOptions(program.command('synth').description('synthetic MOSS SFT conversations from seed prompts through an OpenAI-compatible endpoint'))
    .requiredOption('--prompts <file>', 'seed prompts: MOSS prompts JSONL, any JSONL with "prompt", a .txt (one per line), or a folder of them')
    .requiredOption('--out <file.jsonl>', 'output (appended; a re-run resumes)')
    .option('--turns <A..B>', 'turns per conversation', '1..3')
    .option('--seed <n>', 'run seed (conversation ids and request seeds derive from it)', '0')
    .option('--limit <n>', 'use only the first N seed prompts')
    .option('--temperature <t>', 'sampling temperature of both roles', '0.7')
    .option('--max-tokens <n>', 'max_tokens per answer', '512')
    .option('--user-endpoint <base-url>', 'endpoint of the simulated user (default: --endpoint)')
    .option('--user-model <name>', 'model of the simulated user (default: --model)')
    .option('--plugin-share <p>', 'share of ordinary seeds made plugin conversations too (seeds of category tool always are)', '0')
    .option('--plugins <list>', 'plugins offered as tools in plugin conversations', 'calculator,solver,search')
    .option('--search-dir <folder>', 'local corpus for the Search plugin (without it Search is not offered)')
    .option('--tokenizer <dir>', 'also check every record with the SFT renderer of this tokenizer')
    .option('--max-len <n>', 'with --tokenizer: longest conversation in tokens', '2048')
    .option('--dedup-threshold <x>', 'MinHash Jaccard at or above which a conversation is a near duplicate (0: exact only)', '0.9')
    .option('--lang <zh|en>', 'keep only conversations in this language')
    .option('--keep-refusals', 'keep refusals outside the harmless category')
    .option('--min-chars <n>', 'shortest reply kept', '2')
    .option('--max-chars <n>', 'longest conversation kept, in characters', '24000')
    .action(async (f: Flags) => {
      const co = callerOptions(f);
      if (!co) throw new Error('missing --endpoint <base-url> (e.g. http://127.0.0.1:8000/v1 from moss serve)');
      const { concurrency, maxErrors } = concurrencyOf(f);
      const turns = parseTurns(f.turns);
      const seed = number('seed', f.seed, { int: true })!;
      const limit = number('limit', f.limit, { int: true, min: 0 });
      const share = number('plugin-share', f.pluginShare, { min: 0, max: 1 })!;
      const threshold = number('dedup-threshold', f.dedupThreshold, { min: 0, max: 1 })!;
      if (f.lang && f.lang !== 'zh' && f.lang !== 'en') throw new Error(`--lang: "${f.lang}" is not zh or en`);
      const names: Record<string, string> = { calculator: 'Calculate', solver: 'Solve', search: 'Search' };
      const all = createPlugins(f.searchDir ? { search: { provider: 'local', dir: f.searchDir } } : {});
      const plugins = new Map<string, Plugin>();
      for (const p of f.plugins.split(',').map((s) => s.trim()).filter(Boolean)) {
        if (!names[p]) throw new Error(`--plugins: unknown plugin "${p}" (known: ${Object.keys(names).join(', ')})`);
        if (p === 'search' && !f.searchDir) continue;
        plugins.set(names[p], all.get(names[p])!);
      }
      const tok = f.tokenizer ? { tokenizer: loadTokenizer(f.tokenizer), maxLen: number('max-len', f.maxLen, { int: true, min: 16 })! } : undefined;

      const [read, badLines] = readReporting((bad) => readSeeds(f.prompts, bad));
      const seeds = limit === undefined ? read : read.slice(0, limit);
      const items: Item<Seed>[] = [];
      const ids = new Set<string>();
      let repeated = 0;
      for (const s of seeds) {
        const id = conversationId(s.prompt, seed);
        if (ids.has(id)) repeated++;
        else items.push({ id, input: s });
        ids.add(id);
      }
      const caller = createCaller(co);
      const user = f.userEndpoint ? createCaller({ ...co, baseUrl: f.userEndpoint, model: f.userModel ?? f.model }) : null;
      const filters = { lang: f.lang as 'zh' | 'en' | undefined, keepRefusals: f.keepRefusals, minChars: number('min-chars', f.minChars, { int: true, min: 0 }), maxChars: number('max-chars', f.maxChars, { int: true, min: 1 }) };
      const summary = await runPipeline<Seed>({
        label: 'synth', out: [f.out], items, concurrency, maxErrors, progress: f.progress,
        idOf: (r) => String((r as SftRecord).conversation_id),
        dedup: new Deduper(threshold), dedupTextOf: (r) => dedupText(r as SftRecord),
        stats: () => {
          const s = { ...caller.stats };
          if (user) for (const k of Object.keys(s) as (keyof typeof s)[]) s[k] += user.stats[k];
          return s;
        },
        work: async (it, signal) => {
          const r = await synthConversation(it.input, {
            assistant: caller.chat, user: user?.chat, model: f.model, userModel: f.userModel, turns, seed, plugins, pluginShare: share,
            temperature: number('temperature', f.temperature, { min: 0, max: 2 }), maxTokens: number('max-tokens', f.maxTokens, { int: true, min: 1 }), filters, signal,
          });
          if ('drop' in r) return r;
          try {
            validateSft(r.record, tok);
          } catch (e) {
            const why = (e as Error).message;
            if (why.startsWith('longer than')) return { drop: 'length' };
            process.stderr.write(`${it.input.source}: record failed validation: ${why}; dropped\n`);
            return { drop: 'invalid' };
          }
          return { records: [r.record], dedupText: dedupText(r.record) };
        },
      });
      finish(summary, { badLines, repeatedSeeds: repeated });
    });
}
