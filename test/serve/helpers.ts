/** Shared helpers for the serve tests: an app over the scripted engine, SSE parsing, temp folders. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppOptions } from '../../src/serve/app.js';
import { createPlugins } from '../../src/plugins/index.js';
import { ScriptedEngine, type ScriptedOptions } from './scripted-engine.js';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'moss-serve-'));
}

export function makeApp(s: Partial<ScriptedOptions> = {}, o: Partial<AppOptions> = {}): { app: App; engine: ScriptedEngine } {
  const engine = new ScriptedEngine({ reply: () => ' Hello there!<eom>', ...s });
  const app = createApp({ engine, historyDir: tempDir(), plugins: createPlugins(), ...o });
  return { app, engine };
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`http://test${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Every `data:` payload of an SSE body, JSON-parsed except the final [DONE]. */
export async function sseEvents(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6)).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

/** A real `moss serve` (the CLI binary) on a free loopback port: its base URL, its stdout up to and
 *  including the "listening on" line, and a stop function. `args` are the CLI's (e.g. ['--model',
 *  dir]); `--port 0` is added. It runs in `cwd` (default: a fresh temp folder, not the package). */
export async function spawnServe(args: readonly string[], cwd: string = tempDir()): Promise<{ url: string; stdout: string; stop: () => void }> {
  const { spawn } = await import('node:child_process');
  const { MOSS_BIN } = await import('../cli/chat-helpers.js');
  const child = spawn(process.execPath, [MOSS_BIN, 'serve', ...args, '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`moss serve exited ${code}: ${err}`)));
  });
  return { url, stdout: out, stop: () => child.kill('SIGTERM') };
}
