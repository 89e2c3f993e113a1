/**
 * `moss serve`: the OpenAI-compatible API, the MOSS API and the web chat over one model (worker
 * thread, continuous batching). Loopback by default; a startup line says where it listens.
 * The default model is models/moss-tiny (the bundled one) when it exists.
 * Not here: TLS, multiple models per process.
 */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { configureEngine, engineOptions } from '../backends/index.js';
import { readJsonIf } from '../io/json.js';
import { PluginPool } from '../plugins/index.js';
import { ALL_OFF, PLUGIN_SWITCH, resolveQuality, type PluginSwitches } from '../chat/meta.js';
import { createApp } from '../serve/app.js';
import { isLoopbackName } from '../serve/guard.js';
import { listen, nodeServer } from '../serve/node-adapter.js';
import { WorkerEngine } from '../serve/worker-engine.js';
import { findTokenizer, modelPath } from './model-files.js';
import { modelChatTemplate } from '../chat/template-source.js';
import { engineFromFlags } from './options.js';

interface Flags {
  model?: string;
  tokenizer?: string;
  host: string;
  port: string;
  apiKey?: string;
  parallel: string;
  queue?: string;
  plugins?: string;
  ctx: string;
  maxTokens: string;
  historyDir?: string;
  threads?: string;
  backend?: string;
  pluginTimeout: string;
  pluginWorkers: string;
  prefixCacheMb?: string;
  stepTokens?: string;
  alias?: string;
  quality?: string;
}

function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag}: "${v}" is not an integer in [${min}, ${max}]`);
  return n;
}

function num(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: "${v}" is not a number >= 0`);
  return n;
}

/** The id /v1/models reports: `org/name` for a Hub cache snapshot (not its commit hash), else the file or folder name. */
export function modelId(path: string): string {
  const hub = /models--([^/\\]+)--([^/\\]+)[/\\]snapshots[/\\][^/\\]+[/\\]?$/.exec(path);
  return hub ? `${hub[1]}/${hub[2]}` : basename(path).replace(/\.(gguf|bin)$/, '');
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a model: OpenAI-compatible /v1 API, MOSS /moss API and a web chat at /')
    .option('-m, --model <path>', 'HF folder, .gguf or llama2.c .bin (default: models/moss-tiny)')
    .option('--tokenizer <path>', 'tokenizer (default: found with the model)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', '8000')
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: $MOSS_API_KEY)')
    .option('--parallel <n>', 'sequences decoded together (continuous batching)', '4')
    .option('--queue <n>', 'requests waiting for a slot before 429 (default 4 x parallel)')
    .option('--plugins <list>', 'MOSS plugins for /moss and the web chat: search,calculator,solver,text2image,inner_thoughts')
    .option('--alias <names>', 'more model names clients may send, comma-separated (moss and default always work)')
    .option('--plugin-timeout <ms>', 'a plugin call is cut (its worker thread terminated) after this long', '10000')
    .option('--plugin-workers <n>', 'worker threads that run plugin calls', '2')
    .option('--ctx <n>', 'context length (prompt + reply) in tokens', '2048')
    .option('--prefix-cache-mb <n>', 'MiB of keys/values of shared prompt prefixes kept across requests (0 = off; default: two full contexts, at most 1024)')
    .option('--step-tokens <n>', 'tokens one batching step may spend: running streams first, then a chunk of a waiting prompt (0 = prefill whole prompts; default 64, at least 2 x parallel)')
    .option('--max-tokens <n>', 'default max_tokens of a reply', '512')
    .option('--history-dir <dir>', 'where /moss keeps conversations (default ~/.cache/moss/history)')
    .option('--threads <n>', 'compute threads of the native backend')
    .option('--backend <name>', 'ref or native (default: native when built)')
    .option('--quality <tag>', 'decoding quality tag of a `moss train steer` model: best (default), 1..K, or none')
    .action(async (f: Flags) => {
      const model = modelPath('serve', f.model);
      const port = int('port', f.port, 0, 65535);
      const slots = int('parallel', f.parallel, 1, 256);
      const ctx = int('ctx', f.ctx, 16, 1 << 20);
      const switches: Record<keyof PluginSwitches, boolean> = { ...ALL_OFF };
      for (const p of (f.plugins ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
        if (!PLUGIN_SWITCH[p]) throw new Error(`--plugins: unknown plugin "${p}" (known: ${Object.keys(PLUGIN_SWITCH).join(', ')})`);
        switches[PLUGIN_SWITCH[p]] = true;
      }
      const gc = join(model, 'generation_config.json');
      const quality = resolveQuality(f.quality, readJsonIf(gc) ?? null, model);
      configureEngine(engineFromFlags(f));
      const apiKey = f.apiKey ?? process.env.MOSS_API_KEY;
      if (apiKey !== undefined && !apiKey.trim()) throw new Error(`${f.apiKey !== undefined ? '--api-key' : '$MOSS_API_KEY'} is empty: give a key, or leave it out to serve without one`);
      const pluginTimeoutMs = int('plugin-timeout', f.pluginTimeout, 10, 3_600_000);
      const pool = new PluginPool({ workers: int('plugin-workers', f.pluginWorkers, 1, 64), timeoutMs: pluginTimeoutMs });
      let tokenizer;
      try {
        tokenizer = findTokenizer(model, f.tokenizer);
      } catch (e) {
        throw new Error(`serve: no tokenizer for ${model}: ${(e as Error).message} (give one with --tokenizer <path>)`, { cause: e });
      }
      if (!tokenizer) throw new Error(`serve: no tokenizer found for ${model} (give one with --tokenizer <path>)`);
      const engine = await WorkerEngine.start({ modelPath: model, tokenizer, modelId: modelId(model), slots, ctx, engine: engineOptions(), maxQueue: f.queue ? int('queue', f.queue, 0, 1 << 16) : undefined,
        prefixCacheMb: f.prefixCacheMb === undefined ? undefined : num('prefix-cache-mb', f.prefixCacheMb), stepTokens: f.stepTokens === undefined ? undefined : int('step-tokens', f.stepTokens, 0, 1 << 20) });
      const loopback = isLoopbackName(f.host);
      const modelAliases = (f.alias ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      const app = createApp({ engine, apiKey, loopbackHostOnly: loopback, modelAliases, plugins: pool.plugins(), pluginTimeoutMs, switches, historyDir: f.historyDir ?? join(homedir(), '.cache', 'moss', 'history'), defaultMaxTokens: int('max-tokens', f.maxTokens, 1, ctx), template: modelChatTemplate(model, tokenizer), quality });
      const server = nodeServer(app);
      const bound = await listen(server, port, f.host);
      const host = f.host.includes(':') ? `[${f.host}]` : f.host;
      process.stdout.write(`moss serve: listening on http://${host}:${bound} (model ${engine.modelId}, ${slots} slots, context ${engine.contextLength}${apiKey ? ', API key required' : ''})\n`);
      if (!loopback && !apiKey) process.stderr.write('moss serve: warning: listening beyond loopback without --api-key\n');
      const stop = (): void => {
        server.close();
        void pool.close();
        void engine.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
