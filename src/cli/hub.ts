/**
 * The Hub at the edge of the program: reads HF_ENDPOINT, HF_HOME / HF_HUB_CACHE, HF_TOKEN (or the
 * token file `huggingface-cli login` writes) and HF_HUB_OFFLINE the way huggingface_hub does, draws
 * the download progress bar, and resolves `--model org/name[@rev]` for every command in one place
 * (`resolveModelArg`, called from main.ts before a command runs). Not here: the HTTP client and the
 * cache layout (src/io/hub).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ENDPOINT, HubError, formatBytes, parseRepoSpec, pull, selectModelFiles, type HubOptions, type PullEvent } from '../io/hub/index.js';
import { formatDuration } from '../train/progress.js';

const expandHome = (p: string) => (p.startsWith('~/') || p === '~' ? join(homedir(), p.slice(1)) : p);
const truthy = (v: string | undefined) => ['1', 'ON', 'YES', 'TRUE'].includes((v ?? '').trim().toUpperCase());

/** Hub options from the environment, with huggingface_hub's defaults. */
export function hubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): HubOptions {
  const home = expandHome(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'));
  const cacheDir = expandHome(env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(home, 'hub'));
  let token = env.HF_TOKEN?.trim() || undefined;
  const tokenFile = expandHome(env.HF_TOKEN_PATH || join(home, 'token'));
  if (!token && existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim() || undefined;
  return { endpoint: env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT, cacheDir, token, offline: truthy(env.HF_HUB_OFFLINE) };
}

/** A progress bar (bytes, rate, ETA, files) on `stream` for the events of one pull. */
export function pullProgress(stream: NodeJS.WriteStream = process.stderr): (e: PullEvent) => void {
  let total = 0, done = 0, net = 0, files = 0, filesDone = 0, last = 0;
  const start = performance.now();
  const draw = (force: boolean) => {
    const now = performance.now();
    if (!force && now - last < (stream.isTTY ? 100 : 5000)) return;
    last = now;
    const s = (now - start) / 1000;
    const rate = net / Math.max(s, 1e-3); // bytes that crossed the network in this run
    const fill = Math.round((24 * done) / Math.max(total, 1));
    const line = `${'█'.repeat(fill)}${'░'.repeat(24 - fill)} ${formatBytes(done)} / ${formatBytes(total)} ${formatBytes(rate)}/s ETA ${formatDuration(rate > 0 ? (total - done) / rate : Infinity)} (${filesDone}/${files} files)`;
    stream.write(stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  };
  return (e) => {
    if (e.kind === 'plan') {
      if (e.toFetch === 0) return; // the caller says "nothing to fetch"
      total = e.bytes;
      done = e.resumed;
      files = e.toFetch;
      const resumed = e.resumed ? `, ${formatBytes(e.resumed)} of it already here` : '';
      stream.write(`${e.repo} @ ${e.commit.slice(0, 10)}: ${e.files} files, ${e.toFetch} to fetch (${formatBytes(e.bytes)}${resumed})\n`);
    } else if (e.kind === 'bytes') {
      done += e.n;
      net += e.n;
      draw(false);
    } else if (e.kind === 'file') {
      filesDone++;
      draw(filesDone === files);
      if (filesDone === files && stream.isTTY) stream.write('\n');
    } else if (e.kind === 'retry') {
      stream.write(`${stream.isTTY ? '\n' : ''}${e.path}: connection lost (${e.reason}); resuming from byte ${e.at}\n`);
    }
  };
}

/**
 * The path `--model` names: `spec` itself when it exists on disk, else — when it reads as
 * `org/name[@revision]` — the repo's snapshot in the Hub cache, downloaded first unless it is
 * complete there (no request at all then) or HF_HUB_OFFLINE is set.
 */
export async function resolveModelArg(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (existsSync(spec)) return spec;
  const ref = parseRepoSpec(spec);
  if (!ref) return spec; // the command's own "no such file" message says it best
  const o = { ...hubOptionsFromEnv(env), onEvent: pullProgress() };
  try {
    return (await pull(ref, selectModelFiles, o)).path;
  } catch (e) {
    if (e instanceof HubError) throw new Error(`--model ${spec}: not a local path, and as a Hub repo: ${e.message}`, { cause: e });
    throw e;
  }
}
