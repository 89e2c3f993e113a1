/**
 * `npm run bench -- data [--json]`: throughput of the data pipeline's own machinery. `moss synth`
 * (a child process, as users run it) against the scripted OpenAI-compatible server of the tests
 * answering every request after 200 ms, one request per conversation, at --concurrency 1, 8 and
 * 32, plain and streamed: requests per second. With 200 ms per answer the ideal is 5 x concurrency;
 * the target is >= 25 requests/s at --concurrency 32 on 2 cores.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFaultServer } from '../test/data/pipeline/fault-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [join(ROOT, 'bin', 'moss.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`moss ${args[0]} exited ${code}`))));
  });
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const dir = mkdtempSync(join(tmpdir(), 'moss-bench-data-'));
  const server = await startFaultServer({ delayMs: 200 });
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [conc, n] of [[1, 20], [8, 120], [32, 480]] as const) {
      const prompts = join(dir, `p${n}.txt`);
      writeFileSync(prompts, Array.from({ length: n }, (_, i) => `bench prompt ${conc}-${i}`).join('\n'));
      for (const stream of [false, true]) {
        const out = join(dir, `o-${conc}-${stream}.jsonl`);
        const t0 = performance.now();
        const s = JSON.parse(await run(['synth', '--endpoint', server.url, '--prompts', prompts, '--out', out, '--turns', '1', '--concurrency', String(conc), '--no-progress', ...(stream ? ['--stream'] : [])])) as { calls: number; requestsPerSecond: number; written: number };
        const wall = (performance.now() - t0) / 1000;
        rows.push({ bench: 'data-synth', concurrency: conc, stream, requests: s.calls, written: s.written, requests_per_s: s.requestsPerSecond, wall_s: Math.round(wall * 100) / 100, ideal_per_s: 5 * conc, load: loadavg()[0].toFixed(2) });
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of rows) process.stdout.write(json ? `${JSON.stringify(r)}\n` : `synth  conc ${String(r.concurrency).padStart(2)}  ${r.stream ? 'sse ' : 'json'}  ${String(r.requests).padStart(4)} req  ${String(r.requests_per_s).padStart(7)} req/s (ideal ${r.ideal_per_s})  wall ${r.wall_s}s  load ${r.load}\n`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
