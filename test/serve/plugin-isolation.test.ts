/**
 * Plugins cannot stall the server (#14 item 6): with the scripted model asking `Solve` for a
 * hostile degree-64 polynomial (seconds of BigInt work), the server's /health answers within
 * 100 ms throughout — every probe of a back-to-back series spanning the whole plugin call — while
 * the call runs in the plugin pool, the request ends with a plugin error at the plugin timeout
 * (the worker is terminated), and the pool serves the next call normally.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism, loadavg } from 'node:os';
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

const GAP_MS = 10;

/** /health probes back to back (GAP_MS apart) until `stop()`: each probe's [start, end]. */
function probe(): { probes: [number, number][]; stop: () => Promise<void> } {
  const probes: [number, number][] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      const s = performance.now();
      const h = await fetch(`${base}/health`);
      assert.equal(h.status, 200);
      await h.json();
      probes.push([s, performance.now()]);
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
  })();
  return { probes, stop: async () => { done = true; await loop; } };
}

/** The worst wait of a probe series over [t0, t1]: a probe's own time, or the time from when the next
 *  probe was due (GAP_MS after the last answer) to its answer — so an event loop blocked between two
 *  probes shows as well as one blocked during a probe. Also how many probes touched the window. */
function worstWait(probes: [number, number][], t0: number, t1: number): { worst: number; n: number } {
  let worst = 0;
  let n = 0;
  for (let i = 1; i < probes.length; i++) {
    const [s, e] = probes[i];
    if (e < t0 || probes[i - 1][1] > t1) continue;
    n++;
    worst = Math.max(worst, e - s, e - probes[i - 1][1] - GAP_MS);
  }
  return { worst, n };
}

test('a hostile Solve argument: /health answers every probe within 100 ms while it runs, the request ends with a plugin error at the timeout', async () => {
  for (let i = 0; i < 3; i++) await (await fetch(`${base}/health`)).json(); // warm: first connection, JIT
  // control: the same probes with nothing running, for as long as the plugin call will take
  const control = probe();
  const c0 = performance.now();
  await new Promise((r) => setTimeout(r, TIMEOUT_MS));
  await control.stop();
  const quiet = worstWait(control.probes, c0, performance.now());
  const load = loadavg()[0] / availableParallelism();
  const p = probe();
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
  await new Promise((r) => setTimeout(r, 2 * GAP_MS));
  await p.stop();
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
  // every probe from the command to the plugin's failure: a stalled event loop would show as one wait
  // of the plugin's whole run (>= the 1 s timeout; ~50 s before the pool)
  const busy = worstWait(p.probes, at[iCommand], at[iPlugin]);
  const msg = `/health worst wait ${busy.worst.toFixed(1)} ms over ${busy.n} probes while the plugin ran; ${quiet.worst.toFixed(1)} ms over ${quiet.n} probes with nothing running (load ${(load * availableParallelism()).toFixed(1)} on ${availableParallelism()} cores)`;
  process.stdout.write(`# ${msg}\n`);
  assert.ok(busy.n >= TIMEOUT_MS / 100, `probes spread over the plugin's run: ${msg}`);
  // 100 ms for every probe on a machine with at most 2 runnable processes per core. On a busier one,
  // whose other processes already delay this one's probes with nothing running (the control just
  // before, same probes, same length), the plugin may add no more than 100 ms to that, and never
  // half the shortest possible stall. (The bound used to jump from 100 to 200 ms as the control
  // crossed 100 ms: a control of 82 ms at load 11.8 gave a bound of 100 and failed a 139 ms wait.)
  const bound = load <= 2 ? 100 : Math.min(TIMEOUT_MS / 2, quiet.worst + 100);
  assert.ok(busy.worst < bound, `${msg}: bound ${bound.toFixed(1)} ms`);
  assert.equal(pool.stats().killed, 1, 'the worker running the hostile call was terminated');
  assert.deepEqual(pool.stats(), { workers: 1, idle: 1, waiting: 0, killed: 1 }, 'its replacement started at once, not at the next call');
  // the pool recovers: the next call gets the fresh worker and answers (its start-up is not counted
  // in the call's timeout, so a machine slow to start a worker does not turn it into a plugin failure)
  const next = (await sseEvents(await chat('12*3'))).slice(0, -1) as Any[];
  const p2 = next.map((c) => c.choices?.[0]?.delta?.moss_plugin).find(Boolean);
  assert.deepEqual(p2, { name: 'Calculate', arguments: '12*3', ok: true });
});
