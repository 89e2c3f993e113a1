/**
 * Browser-facing safety of the default, key-less loopback server (#14 item 7), over a real socket
 * with raw node:http requests (fetch cannot set Host): a cross-origin "simple" request (text/plain
 * POST from a foreign page) and a foreign Host (DNS rebinding) get 403 while same-origin and
 * loopback callers work; a body that trickles in is cut at the body timeout (408); an over-long
 * prompt with moss_plugins + stream gets a 400 before any stream byte; /metrics counts streamed
 * completion tokens; `moss serve --api-key ""` is an error.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { MOSS_BIN } from '../cli/chat-helpers.js';
import { makeApp, spawnServe, sseEvents } from './helpers.js';

const { app } = makeApp({ reply: () => ' Hello there!<eom>', contextLength: 2048 }, { loopbackHostOnly: true, bodyTimeoutMs: 400 });
const server = nodeServer(app);
const port = await listen(server, 0, '127.0.0.1');
const base = `http://127.0.0.1:${port}`;
after(() => server.close());

/** One raw request; resolves with status and body text. */
function raw(path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end(o.body);
  });
}

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });

test('a cross-origin simple request (text/plain POST from a foreign page) is refused; same-origin and loopback origins work', async () => {
  const evil = await raw('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: chatBody });
  assert.equal(evil.status, 403);
  assert.equal(JSON.parse(evil.body).error.code, 'origin_not_allowed');
  for (const origin of ['null', 'file://', 'http://evil.example:' + port]) {
    assert.equal((await raw('/v1/models', { headers: { origin } })).status, 403, origin);
  }
  const same = await raw('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: chatBody });
  assert.equal(same.status, 200, same.body);
  assert.equal((await raw('/v1/models', { headers: { origin: 'http://localhost:3000' } })).status, 200);
  assert.equal((await raw('/v1/models')).status, 200, 'programs send no Origin');
});

test('a Host that is not a loopback name is refused (DNS rebinding); loopback names work', async () => {
  for (const host of ['evil.example', `evil.example:${port}`, '10.0.0.1', 'localhost.evil.example']) {
    const r = await raw('/health', { headers: { host } });
    assert.equal(r.status, 403, host);
    assert.equal(JSON.parse(r.body).error.code, 'host_not_allowed');
  }
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `moss.localhost:${port}`, 'LOCALHOST']) {
    assert.equal((await raw('/health', { headers: { host } })).status, 200, host);
  }
});

test('a request body that trickles in is cut at the body timeout (408, connection closed)', async () => {
  const t0 = performance.now();
  const reply = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"messages":`);
      const drip = setInterval(() => s.write(' '), 100);
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => { clearInterval(drip); resolve(got); });
      s.on('error', () => {});
    });
  });
  const dt = performance.now() - t0;
  assert.match(reply, /^HTTP\/1\.1 408/);
  assert.match(reply, /body_timeout/);
  assert.ok(dt >= 350 && dt < 5000, `cut after ${dt.toFixed(0)} ms (timeout 400 ms)`);
});

test('an over-long prompt with moss_plugins + stream gets a 400 before the stream starts', async () => {
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(5000) }], moss_plugins: true, stream: true }) });
  assert.equal(r.status, 400);
  assert.match(r.headers.get('content-type') ?? '', /json/);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'context_length_exceeded');
});

test('/metrics counts streamed completion tokens (chat and completions)', async () => {
  const count = async () => Number(/moss_completion_tokens_total (\d+)/.exec(await (await fetch(`${base}/metrics`)).text())![1]);
  const before = await count();
  await sseEvents(await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true }) }));
  const afterChat = await count();
  assert.equal(afterChat - before, [...' Hello there!'].length + 1);
  await sseEvents(await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'P', max_tokens: 4, stream: true }) }));
  assert.equal((await count()) - afterChat, 4);
});

test('moss serve --api-key "" is an error, not "auth off"', () => {
  const r = spawnSync(process.execPath, [MOSS_BIN, 'serve', '--port', '0', '--api-key', ''], { encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--api-key is empty/);
  assert.doesNotMatch(r.stdout, /listening/);
});

test('moss serve as documented (default loopback, --alias, --plugin-timeout, --plugin-workers): foreign Host and Origin refused, aliases served, unknown model 404', async () => {
  const { url, stop } = await spawnServe(['--alias', 'gpt-4o-mini,tiny', '--plugin-timeout', '500', '--plugin-workers', '1', '--plugins', 'calculator']);
  try {
    const p = Number(new URL(url).port);
    const get = (headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: p, path: '/health', headers }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    assert.equal(await get({}), 200);
    assert.equal(await get({ host: `rebind.example:${p}` }), 403);
    assert.equal(await get({ origin: 'https://evil.example' }), 403);
    const ask = (model: string) => fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: 'Hello', max_tokens: 1 }) });
    assert.equal((await ask('gpt-4o-mini')).status, 200);
    assert.equal((await ask('moss-tiny')).status, 200);
    const nf = await ask('llama3');
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'model_not_found');
    assert.deepEqual(((await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id), ['moss-tiny', 'moss', 'default', 'gpt-4o-mini', 'tiny']);
  } finally {
    stop();
  }
});
