/**
 * The node:http adapter on 127.0.0.1 (ephemeral port) with the scripted engine: the official
 * `openai` client unchanged (plain, streaming, tools, usage, errors), client disconnects cancel the
 * generation and free the slot, and garbage requests get a 4xx without disturbing other streams.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { makeApp } from './helpers.js';

const { app, engine } = makeApp({ reply: (p) => (p.includes('slow') ? ` ${'tick '.repeat(400)}<eom>` : p.endsWith('<|Human|>: weather?<eoh>\n') ? '<|Inner Thoughts|>: look up<eot>\n<|Commands|>: get_weather("北京")<eoc>' : ' 你好，我是 MOSS。<eom>'), tokenDelayMs: 2, slots: 8, maxQueue: 8 }, { apiKey: 'k1' });
const server = nodeServer(app);
const port = await listen(server, 0, '127.0.0.1');
const base = `http://127.0.0.1:${port}`;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k1', maxRetries: 0 });
after(() => server.close());

test('openai client: non-streaming and streaming with usage', async () => {
  const r = await client.chat.completions.create({ model: 'moss', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].message.content, '你好，我是 MOSS。');
  assert.ok(r.usage!.prompt_tokens > 100);
  const s = await client.chat.completions.create({ model: 'moss', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage;
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? '';
    if (c.usage) usage = c.usage;
  }
  assert.equal(text, '你好，我是 MOSS。');
  assert.equal(usage!.completion_tokens, [...' 你好，我是 MOSS。'].length + 1);
  const m = await client.models.list();
  assert.equal(m.data[0].id, 'moss-scripted');
  const c = await client.completions.create({ model: 'moss', prompt: 'x', max_tokens: 3 });
  assert.equal(c.choices[0].text, ' 你好');
});

test('openai client: tools round trip, streamed tool call deltas', async () => {
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const r = await client.chat.completions.create({ model: 'moss', messages: [{ role: 'user', content: 'weather?' }], tools });
  const call = r.choices[0].message.tool_calls![0];
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.ok(call.type === 'function');
  assert.deepEqual([call.function.name, JSON.parse(call.function.arguments)], ['get_weather', { city: '北京' }]);
  const s = await client.chat.completions.create({ model: 'moss', messages: [{ role: 'user', content: 'weather?' }], tools, stream: true });
  const deltas = [];
  for await (const c of s) deltas.push(...(c.choices[0]?.delta?.tool_calls ?? []));
  assert.equal(deltas[0].index, 0);
  assert.equal(deltas[0].function?.name, 'get_weather');
  const r2 = await client.chat.completions.create({ model: 'moss', tools, messages: [{ role: 'user', content: 'weather?' }, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '晴' }] });
  assert.equal(r2.choices[0].message.content, '你好，我是 MOSS。');
});

test('openai client: errors surface as APIError with status and message', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'moss', messages: [], temperature: 1 }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /messages/.test(e.message));
  const bad = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 401);
});

test('a client that disconnects cancels its generation and frees its slot', async () => {
  const ac = new AbortController();
  const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', signal: ac.signal, headers: { authorization: 'Bearer k1', 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'slow' }], stream: true }) });
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  assert.equal(engine.stats().active, 1);
  ac.abort();
  const t0 = Date.now();
  while (engine.stats().active > 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
  assert.equal(engine.stats().active, 0);
  assert.ok(engine.stats().tokensGenerated < 1000); // it stopped long before 400 ticks... of the slow reply
});

function raw(payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end(payload));
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
}

test('garbage on the wire gets 4xx while other streams continue', async () => {
  const stream = client.chat.completions.create({ model: 'moss', messages: [{ role: 'user', content: 'hi' }], stream: true });
  const answers = await Promise.all([
    raw('GARBAGE\r\n\r\n'),
    raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"messag`),
    raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n{}`),
    raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k1\r\nContent-Length: 40\r\nConnection: close\r\n\r\n{"messages":[{"role":"user","content":"\xff\xfe"}`),
  ]);
  assert.match(answers[0], /^HTTP\/1\.1 400/);
  assert.match(answers[1], /^HTTP\/1\.1 400[\s\S]*invalid_json/);
  assert.match(answers[2], /^HTTP\/1\.1 413/);
  assert.match(answers[3], /^HTTP\/1\.1 401/);
  let text = '';
  for await (const c of await stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, '你好，我是 MOSS。');
});
