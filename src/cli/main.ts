/**
 * The `moss` command line: one subcommand per file under ./commands, loaded lazily so that
 * `moss tokenize` does not pay for loading the engine. User mistakes print one line and a hint.
 */
import { Command } from 'commander';
import { configureEngine } from '../backends/index.js';
import { engineFromEnv } from './options.js';

// A closed pipe (`moss … | head`) ends the program quietly instead of throwing EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program.name('moss').description('MOSS.ts: run, chat with, train and serve MOSS-style language models').version('0.1.0');

/** Subcommands: name -> module exporting `register(program)`. Add one line per command. */
const commands: Record<string, () => Promise<{ register(p: Command): void }>> = {
  tokenize: () => import('./tokenize.js'),
  detokenize: () => import('./tokenize.js'),
  data: () => import('./data.js'),
  serve: () => import('./serve.js'),
  generate: () => import('./generate.js'),
  chat: () => import('./chat.js'),
  quantize: () => import('./quantize.js'),
  train: () => import('./train.js'),
  eval: () => import('./eval.js'),
  score: () => import('./score.js'),
  pull: () => import('./pull.js'),
  synth: () => import('./synth.js'),
  annotate: () => import('./annotate.js'),
  sample: () => import('./sample.js'),
};

// `--model org/name[@rev]` of these commands is resolved through the Hub cache (downloaded when
// missing) before the command runs; other commands' --model may name an endpoint's model.
const HUB_MODEL_COMMANDS = new Set(['chat', 'generate', 'serve', 'quantize', 'eval', 'sample']);
program.hook('preAction', async (_root, cmd) => {
  let top = cmd;
  while (top.parent && top.parent !== program) top = top.parent;
  const spec: unknown = cmd.opts().model;
  if (!HUB_MODEL_COMMANDS.has(top.name()) || typeof spec !== 'string' || cmd.opts().endpoint !== undefined) return;
  const { resolveModelArg } = await import('./hub.js');
  cmd.setOptionValue('model', await resolveModelArg(spec));
  const q = await import('./quantize-flag.js');
  if (q.QUANTIZE_COMMANDS.has(top.name())) q.applyQuantizeFlag(cmd); // --quantize / too big for memory (io)
});

const name = process.argv[2];
try {
  configureEngine(engineFromEnv(process.env)); // MOSS_* switches, once; flags of a command override them
} catch (err) {
  process.stderr.write(`moss: ${(err as Error).message}\n`);
  process.exit(1);
}
const loaders = name && commands[name] ? [commands[name]] : Object.values(commands);
for (const load of loaders) (await load()).register(program);
(await import('./quantize-flag.js')).declareQuantizeFlag(program); // --quantize on chat/generate/serve (io)

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`moss: ${msg}\n`);
  process.exitCode = 1;
}
