/**
 * `npm run bench -- data [--json]`: throughput of the data pipeline's own machinery. `moss synth`
 * (a child process, as users run it) against the scripted OpenAI-compatible server of the tests
 * answering every request after 200 ms, one request per conversation, at --concurrency 1, 8 and
 * 32, plain and streamed: requests per second. With 200 ms per answer the ideal is 5 x concurrency;
 * the target is >= 25 requests/s at --concurrency 32 on 2 cores. Then `moss sample` on
 * models/moss-tiny (8 prompts x 4 samples, 64 new tokens, per-sample seeds and temperatures) at
 * --batch-size 1, 4 and 8: sampled tokens per second and the speed-up over batch 1 (the outputs of
 * every batch size are checked identical). `--only sample` / `--only synth` runs one half.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
  try {
    if (only !== 'sample') for (const [conc, n] of [[1, 20], [8, 120], [32, 480]] as const) {
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
    if (only !== 'synth') {
      const contexts = join(dir, 'contexts.jsonl');
      const prompts = ['Hello, who are you?', 'Give me three ideas for a birthday party', '写一首关于春天的短诗', 'What can you do?', 'Tell me about rivers', '你好，请介绍一下你自己', 'How do I cook rice?', 'Write a haiku about code'];
      writeFileSync(contexts, prompts.map((p, i) => JSON.stringify({ id: `s${i}`, prompt: p })).join('\n') + '\n');
      let base = 0;
      let first = '';
      let lp: number[] = [];
      for (const batch of [1, 4, 8]) {
        const out = join(dir, `sample-${batch}.jsonl`);
        const t0 = performance.now();
        const s = JSON.parse(await run(['sample', '--model', join(ROOT, 'models', 'moss-tiny'), '--contexts', contexts, '--out', out, '--n', '4', '--temperature', '0.3,0.7,1.0,1.3', '--max-new-tokens', '64', '--no-plugins', '--batch-size', String(batch), '--no-progress'])) as { sampledTokens: number; seconds: number };
        const wall = (performance.now() - t0) / 1000;
        // the same samples (texts and token counts) at every batch size; logprob sums within 1e-3
        const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { responses: { text: string; tokens: number; logprob_sum: number }[] }).responses).flat();
        const text = JSON.stringify(recs.map((r) => [r.text, r.tokens]));
        if (batch === 1) {
          first = text;
          lp = recs.map((r) => r.logprob_sum);
        } else if (text !== first || recs.some((r, i) => Math.abs(r.logprob_sum - lp[i]) >= 1e-3)) throw new Error(`moss sample --batch-size ${batch} wrote other samples than --batch-size 1`);
        const tps = s.sampledTokens / s.seconds;
        if (batch === 1) base = tps;
        rows.push({ bench: 'data-sample', batch, samples: 32, tokens: s.sampledTokens, tokens_per_s: Math.round(tps * 10) / 10, speedup: Math.round((tps / base) * 100) / 100, seconds: s.seconds, wall_s: Math.round(wall * 100) / 100, load: loadavg()[0].toFixed(2) });
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of rows) if (r.bench === 'data-sample') process.stdout.write(json ? `${JSON.stringify(r)}\n` : `sample batch ${String(r.batch).padStart(2)}  ${r.samples} samples  ${r.tokens} tokens  ${String(r.tokens_per_s).padStart(7)} tok/s  ${r.speedup}x  ${r.seconds}s  load ${r.load}\n`);
  for (const r of rows.filter((x) => x.bench === 'data-synth')) process.stdout.write(json ? `${JSON.stringify(r)}\n` : `synth  conc ${String(r.concurrency).padStart(2)}  ${r.stream ? 'sse ' : 'json'}  ${String(r.requests).padStart(4)} req  ${String(r.requests_per_s).padStart(7)} req/s (ideal ${r.ideal_per_s})  wall ${r.wall_s}s  load ${r.load}\n`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
