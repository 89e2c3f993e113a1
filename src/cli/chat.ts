/**
 * `moss chat`: talk with a MOSS model in the MOSS-003 format with its plugins (calculator,
 * equation solver, search over a local folder, text-to-image through an HTTP endpoint).
 * Interactive (a REPL like OpenMOSS/MOSS moss_cli_demo.py, ./chat/repl.ts) or, with --message,
 * non-interactive: runs the turns in order and streams them, or prints a JSON array of turns
 * with --json. Not here: serving (moss serve), the format and the plugin loop (src/chat).
 */
import type { Command } from 'commander';
import { ROLE } from '../chat/format.js';
import { Session } from '../chat/session.js';
import { TurnPrinter, useColor } from './chat/render.js';
import { cancellable } from './flags.js';
import { loadSession, repl } from './chat/repl.js';
import { defaultSwitches, setUp, type ChatFlags } from './chat/setup.js';
import { runTurn, type TurnJson } from './chat/turn.js';

async function run(f: ChatFlags): Promise<void> {
  const setup = setUp(f);
  const session = f.load !== undefined ? loadSession(f.load) : new Session();
  if (f.load === undefined || f.plugins !== undefined || f.innerThoughts === false) session.state.switches = defaultSwitches(f);
  try {
    if (f.message.length === 0) {
      if (f.json) throw new Error('chat: --json needs at least one --message');
      await repl(setup, session);
    } else await batch(f, setup, session);
    if (f.save !== undefined) session.save(f.save);
  } finally {
    setup.generator.dispose();
    setup.loaded.model.dispose();
  }
}

/** The --message turns in order; Ctrl-C cancels the running one and skips the rest. */
async function batch(f: ChatFlags, setup: ReturnType<typeof setUp>, session: Session): Promise<void> {
  const color = useColor(process.stdout);
  const turns: TurnJson[] = [];
  const cancelled = await cancellable(async (signal) => {
    for (const m of f.message) {
      if (signal.aborted) break;
      if (!f.json) process.stdout.write(`${ROLE.Human.head} ${m}\n`);
      const printer = f.json ? undefined : new TurnPrinter((s) => void process.stdout.write(s), color);
      const t = await runTurn(setup, session, m, signal, printer);
      if (t) turns.push(t);
    }
  });
  if (f.json) process.stdout.write(`${JSON.stringify(turns, null, 1)}\n`);
  if (cancelled) process.stderr.write('moss: chat: cancelled\n');
}

export function register(program: Command): void {
  program
    .command('chat')
    .description('chat with a MOSS model (plugins: calculator, solver, search, text2image); interactive, or --message … [--json]')
    .option('--model <path>', 'HF checkpoint folder, .gguf or llama2.c .bin (default: the bundled models/moss-tiny)')
    .option('--tokenizer <path>', 'MOSS tokenizer (default: the model folder)')
    .option('--message <text>', 'a user turn, non-interactive (repeatable: one turn each)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--plugins <list>', 'calculator,solver,search,text2image (or all, none); default: calculator, solver, and search / text2image when configured')
    .option('--no-inner-thoughts', 'switch inner thoughts off (on whenever a plugin is)')
    .option('--search-dir <folder>', 'Search plugin: BM25 over the .txt/.md/.html files of this folder')
    .option('--image-endpoint <url>', 'Text2Image plugin: [openai:|sdwebui:]http(s)://host:port')
    .option('--image-dir <folder>', 'where Text2Image saves PNGs (default ./moss-images)')
    .option('--max-new-tokens <n>', 'tokens per generation at most (default 512 or generation_config.json)')
    .option('--max-context <n>', 'context length (prompt + reply; default 2048, at most the model\'s)')
    .option('--prefix-cache-mb <n>', 'MiB of keys/values of prompt prefixes kept for reuse across conversations (0 = off)')
    .option('--temperature <t>', '0 = greedy (MOSS default 0.7)')
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off; MOSS default 40)')
    .option('--top-p <p>', 'nucleus sampling threshold (MOSS default 0.8)')
    .option('--min-p <p>', 'drop tokens below p x the top probability (0 = off)')
    .option('--repetition-penalty <r>', 'HF-style repetition penalty (MOSS default 1.02)')
    .option('--seed <s>', 'sampling seed (generation k of the session uses seed + k)')
    .option('--threads <n>', 'threads for the native backend')
    .option('--load <file>', 'start from a saved conversation (/save or --save)')
    .option('--save <file>', 'save the conversation (JSON) when done')
    .option('--quality <tag>', 'decoding quality tag of a `moss train steer` model: best (default), 1..K, or none')
    .option('--json', 'with --message: print a JSON array of turns {human, inner_thoughts, commands, results, moss, calls}')
    .action((o: ChatFlags) => run(o));
}
