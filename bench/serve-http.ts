/**
 * `npm run bench -- serve-http [--model <path>] [--tokens N] [--json]`: load test of `moss serve`
 * in-process over real sockets: 1, 4 and 16 concurrent streaming clients on the bundled model
 * (models/moss-tiny, else ../shared stories260K), reporting aggregate tokens/s, p50/p99 time to
 * first token, and p99 /health latency measured while the streams run. The ratio of aggregate
 * decode at 16 streams to 1 stream is the continuous-batching gain (target >= 4x).
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadTokenizer } from '../src/io/load-tokenizer.js';
import { createApp } from '../src/serve/app.js';
import { listen, nodeServer } from '../src/serve/node-adapter.js';
import { WorkerEngine } from '../src/serve/worker-engine.js';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function stream(base: string, maxTokens: number, prompt: string): Promise<{ ttft: number; tokens: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }) });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let ttft = NaN;
  let buf = '';
  let tokens = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (Number.isNaN(ttft)) ttft = performance.now() - t0;
    buf += dec.decode(value, { stream: true });
    const m = buf.match(/"completion_tokens":(\d+)/);
    if (m) tokens = Number(m[1]);
  }
  return { ttft, tokens };
}

export async function main(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const arg = (k: string): string | undefined => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const shared = process.env.MOSS_SHARED ?? resolve('..', 'shared');
  const model = resolve(arg('--model') ?? (existsSync('models/moss-tiny') ? 'models/moss-tiny' : join(shared, 'models/stories260K/stories260K.bin')));
  if (!existsSync(model)) throw new Error(`${model}: no model (give --model <path>)`);
  const tokPath = statSync(model).isDirectory() ? model : join(dirname(model), 'tok512.bin');
  const maxTokens = Number(arg('--tokens') ?? 128);
  const engine = await WorkerEngine.start({ modelPath: model, tokenizer: loadTokenizer(tokPath), modelId: 'bench', slots: 16, ctx: 512 });
  const app = createApp({ engine, historyDir: mkdtempSync(join(tmpdir(), 'moss-bench-')) });
  const server = nodeServer(app);
  const base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  const prompt = statSync(model).isDirectory() ? '<|Human|>: Tell me a story.<eoh>\n<|MOSS|>:' : 'Once upon a time';
  await stream(base, 8, prompt); // warm-up
  const rows: { clients: number; aggregate_tokens_per_s: number; ttft_p50_ms: number; ttft_p99_ms: number; health_p99_ms: number }[] = [];
  for (const clients of [1, 4, 16]) {
    const health: number[] = [];
    let running = true;
    const poll = (async () => {
      while (running) {
        const t = performance.now();
        await (await fetch(`${base}/health`)).text();
        health.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const t0 = performance.now();
    const res = await Promise.all(Array.from({ length: clients }, () => stream(base, maxTokens, prompt)));
    const wall = (performance.now() - t0) / 1000;
    running = false;
    await poll;
    const tokens = res.reduce((s, r) => s + r.tokens, 0);
    rows.push({ clients, aggregate_tokens_per_s: +(tokens / wall).toFixed(1), ttft_p50_ms: +pct(res.map((r) => r.ttft), 50).toFixed(1), ttft_p99_ms: +pct(res.map((r) => r.ttft), 99).toFixed(1), health_p99_ms: +pct(health, 99).toFixed(2) });
  }
  server.close();
  await engine.close();
  const gain = rows[2].aggregate_tokens_per_s / rows[0].aggregate_tokens_per_s;
  if (json) {
    for (const r of rows) process.stdout.write(`${JSON.stringify({ bench: 'serve', model, ...r })}\n`);
    process.stdout.write(`${JSON.stringify({ bench: 'serve', model, gain_16_vs_1: +gain.toFixed(2) })}\n`);
    return;
  }
  process.stdout.write(`serve bench: ${model}, ${maxTokens} tokens per stream, greedy\n`);
  process.stdout.write('clients  agg tok/s  ttft p50 ms  ttft p99 ms  /health p99 ms\n');
  for (const r of rows) process.stdout.write(`${String(r.clients).padStart(7)}  ${String(r.aggregate_tokens_per_s).padStart(9)}  ${String(r.ttft_p50_ms).padStart(11)}  ${String(r.ttft_p99_ms).padStart(11)}  ${String(r.health_p99_ms).padStart(14)}\n`);
  process.stdout.write(`aggregate decode 16 streams / 1 stream: ${gain.toFixed(2)}x (target >= 4x)\n`);
}
