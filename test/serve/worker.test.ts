/**
 * The real engine: stories260K (../shared, llama2.c) in the worker thread behind real sockets.
 * 8 concurrent greedy streams (one client process) each equal src/generate's single-sequence output, /health keeps
 * answering meanwhile (median < 50 ms; the p99 target is the serve bench's), and a disconnect frees
 * the slot. Skips when ../shared is absent.
 */
import { test, after } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../../src/backends/index.js';
import { generateAll } from '../../src/generate/index.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { loadModel } from '../../src/models/load.js';
import { createApp } from '../../src/serve/app.js';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { WorkerEngine } from '../../src/serve/worker-engine.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = join(process.env.MOSS_SHARED ?? join(root, '..', 'shared'), 'models', 'stories260K');
const skip = !existsSync(join(dir, 'stories260K.bin')) && `${dir} not found (set MOSS_SHARED): skipped`;

test('8 streams on the worker engine: exact greedy output, /health never blocked (median < 50 ms), disconnect frees the slot', { skip, timeout: 120_000 }, async (t) => {
  const tok = loadTokenizer(join(dir, 'tok512.bin'));
  const engine = await WorkerEngine.start({ modelPath: join(dir, 'stories260K.bin'), tokenizer: tok, modelId: 'stories', slots: 8, ctx: 256 }); // default backend (native when built)
  const server = nodeServer(createApp({ engine, historyDir: mkdtempSync(join(tmpdir(), 'moss-w-')) }));
  const base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
  after(async () => { server.close(); await engine.close(); });
  const prompts = ['Once upon a time', 'The cat', 'Lily and Ben', 'One day', 'A big dog', 'Tom had a ball', 'The sun', 'Sam went'];
  // The 8 streaming clients run in ONE child process (node + fetch), so this process is only the server
  // and the /health probe: spawning a client per stream from here forks this process (its heap and the
  // model) 8 times, and each fork stalled this event loop by ~80 ms, which is the test, not the server.
  // The probe runs from the clients' first streamed byte until the last stream ends.
  const clients = (ps: readonly string[]): { started: Promise<void>; done: Promise<string[]> } => {
    const script = `const [base, ...ps] = process.argv.slice(1); let first = true;
      const one = async (prompt) => { const r = await fetch(base + '/v1/completions', { method: 'POST', body: JSON.stringify({ prompt, max_tokens: 60, temperature: 0, stream: true }) });
        let text = ''; const dec = new TextDecoder();
        for await (const c of r.body) { if (first) { first = false; process.stdout.write('started\\n'); } text += dec.decode(c, { stream: true }); }
        return text.split('\\n\\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)).choices[0].text).join(''); };
      Promise.all(ps.map(one)).then((t) => process.stdout.write(JSON.stringify(t) + '\\n'));`;
    const c = spawn(process.execPath, ['-e', script, base, ...ps], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let onStart!: () => void;
    const started = new Promise<void>((r) => (onStart = r));
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('started\n')) onStart(); });
    const done = new Promise<string[]>((res, rej) => c.on('close', (code) => {
      onStart();
      if (code === 0) res(JSON.parse(out.slice(out.lastIndexOf('started\n') + 8)));
      else rej(new Error(`clients exited ${code}`));
    }));
    return { started, done };
  };
  for (let i = 0; i < 3; i++) await (await fetch(`${base}/health`)).json(); // connection warm-up
  await clients(['Once']).done; // model warm-up
  const run = clients(prompts);
  await run.started;
  const health: number[] = [];
  let running = true;
  const poll = (async () => {
    while (running) {
      const t = performance.now();
      await (await fetch(`${base}/health`)).json();
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const got = await run.done;
  running = false;
  await poll;
  const { model } = loadModel(join(dir, 'stories260K.bin'), { backend: getBackend('ref') });
  for (const [i, p] of prompts.entries()) {
    const ids = tok.encode(p, { addBos: true });
    const ref = (await generateAll(model, [ids], { maxNewTokens: 60 })).ids[0];
    assert.equal(got[i], tok.decode(ref.filter((t) => t !== tok.eosId)), `prompt ${i}`);
  }
  health.sort((a, b) => a - b);
  const p99 = health[Math.floor(0.99 * (health.length - 1))];
  // What this test can prove is that generation never blocks the event loop: a blocked loop stalls
  // /health for the whole generation (seconds). The 50 ms p99 target itself is measured by
  // `npm run bench -- serve-http` on a quiet machine; here the probes share 2 cores with the clients'
  // process, the model worker and another test file, so the tail bound is 300 ms and the median must be < 50 ms.
  const bound = 300;
  t.diagnostic(`/health median ${health[Math.floor(health.length / 2)].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${health.length} probes (load ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`);
  assert.ok(health[Math.floor(health.length / 2)] < 50, `/health median ${health[Math.floor(health.length / 2)]} ms`);
  assert.ok(health.length >= 5 && p99 < bound, `/health p99 ${p99.toFixed(1)} ms over ${health.length} probes: ${health.map((h) => h.toFixed(0)).join(' ')}`);
  // disconnect mid-stream
  const ac = new AbortController();
  const r = await fetch(`${base}/v1/completions`, { method: 'POST', signal: ac.signal, body: JSON.stringify({ prompt: 'Once', max_tokens: 200, stream: true }) });
  await r.body!.getReader().read();
  ac.abort();
  const t0 = Date.now();
  while (engine.stats().active > 0 && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 10));
  assert.equal(engine.stats().active, 0);
});
