/**
 * Plugins cannot stall the server (#14 item 6): with the scripted model asking `Solve` for a
 * hostile degree-64 polynomial (seconds of BigInt work), the server's /health keeps answering
 * within 100 ms while the call runs in the plugin pool, the request ends with a plugin error at the
 * plugin timeout (the worker is terminated), and the pool serves the next call normally.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PluginPool } from '../../src/plugins/index.js';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { makeApp, sseEvents } from './helpers.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const HOSTILE = '(3x+1234567891234)^64=(7x+98765432112)^63+7x^5+1/3';
const TIMEOUT_MS = 1000;
const pool = new PluginPool({ workers: 1 });
const { app } = makeApp({
  reply: (p) => (p.endsWith('<|MOSS|>:') ? ' Sorry, no result.<eom>' : p.includes('hostile') ? `<|Inner Thoughts|>: solve it<eot>\n<|Commands|>: Solve("${HOSTILE}")<eoc>` : '<|Inner Thoughts|>: compute<eot>\n<|Commands|>: Calculate("12*3")<eoc>'),
  tokenDelayMs: 1,
}, { plugins: pool.plugins(), pluginTimeoutMs: TIMEOUT_MS, loopbackHostOnly: true });
const server = nodeServer(app);
const base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
after(async () => {
  server.close();
  await pool.close();
});

const chat = (content: string) => fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content }], moss_plugins: ['solver', 'calculator'], stream: true }) });

test('a hostile Solve argument: /health keeps answering (p90 < 100 ms), the request ends with a plugin error at the timeout', async () => {
  for (let i = 0; i < 3; i++) await (await fetch(`${base}/health`)).json(); // warm: first connection, JIT
  let done = false;
  const lat: number[] = [];
  const polling = (async () => {
    while (!done) {
      const s = performance.now();
      const h = await fetch(`${base}/health`);
      assert.equal(h.status, 200);
      await h.json();
      lat.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const res = await chat('a hostile equation');
  assert.equal(res.status, 200);
  // events with their arrival times: the plugin runs between the command and its result
  const ev: Any[] = [];
  const at: number[] = [];
  let buf = '';
  const dec = new TextDecoder();
  for await (const b of res.body!) {
    buf += dec.decode(b as Uint8Array, { stream: true });
    for (let k = buf.indexOf('\n\n'); k >= 0; k = buf.indexOf('\n\n')) {
      const data = buf.slice(0, k).replace(/^data: /, '');
      buf = buf.slice(k + 2);
      if (data !== '[DONE]') { ev.push(JSON.parse(data)); at.push(performance.now()); }
    }
  }
  const iPlugin = ev.findIndex((c) => c.choices?.[0]?.delta?.moss_plugin);
  const iCommand = ev.findLastIndex((c, i) => i < iPlugin && c.choices?.[0]?.delta?.moss_field === 'Commands');
  const elapsed = at[iPlugin] - at[iCommand];
  done = true;
  await polling;
  const plugin = ev.map((c) => c.choices?.[0]?.delta?.moss_plugin).find(Boolean);
  assert.ok(plugin, JSON.stringify(ev));
  assert.equal(plugin.name, 'Solve');
  assert.equal(plugin.ok, false);
  assert.match(plugin.error, new RegExp(`timed out after ${TIMEOUT_MS} ms`));
  const d = ev.map((c) => c.choices?.[0]?.delta ?? {});
  assert.match(d.filter((x) => x.moss_field === 'Results').map((x) => x.reasoning_content).join(''), /No result/);
  assert.equal(d.map((x) => x.content ?? '').join(''), 'Sorry, no result.');
  assert.ok(iCommand >= 0, 'the command streamed before the plugin ran');
  assert.ok(elapsed >= TIMEOUT_MS - 50 && elapsed < TIMEOUT_MS + 1500, `the plugin call ended ${elapsed.toFixed(0)} ms after the command (plugin timeout ${TIMEOUT_MS} ms)`);
  assert.ok(lat.length >= 10, `only ${lat.length} /health probes`);
  // A stalled event loop shows as one probe of at least the plugin's run time (>= the 1 s timeout; ~50 s
  // before the pool). The 100 ms target holds for nine probes in ten even on a loaded 2-core machine;
  // the worst gets a margin for scheduler hiccups under load (measured up to ~320 ms at load 15 with
  // another test's model thread beside it), still half the shortest possible stall.
  const sorted = [...lat].sort((a, b) => a - b);
  const p90 = sorted[Math.floor(sorted.length * 0.9)];
  const worst = sorted[sorted.length - 1];
  assert.ok(p90 < 100 && worst < TIMEOUT_MS / 2, `/health p90 ${p90.toFixed(1)} ms, worst ${worst.toFixed(1)} ms while the plugin ran (${lat.length} probes)`);
  assert.equal(pool.stats().killed, 1, 'the worker running the hostile call was terminated');
  // the pool recovers: the next call gets a fresh worker and answers
  const next = (await sseEvents(await chat('12*3'))).slice(0, -1) as Any[];
  const p2 = next.map((c) => c.choices?.[0]?.delta?.moss_plugin).find(Boolean);
  assert.deepEqual(p2, { name: 'Calculate', arguments: '12*3', ok: true });
});
