/**
 * Malformed and refused requests get a clear 4xx in the OpenAI error shape, naming the field:
 * bad JSON, bad fields of every kind, prompts beyond the context, missing API key, unknown
 * routes and methods, oversized bodies, and a full queue (429 + Retry-After).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeApp, post } from './helpers.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function expectError(res: Response, status: number, param?: string | null, code?: string): Promise<Any> {
  const j = (await res.json()) as Any;
  assert.equal(res.status, status, JSON.stringify(j));
  assert.deepEqual(Object.keys(j.error).sort(), ['code', 'message', 'param', 'type']);
  assert.ok(typeof j.error.message === 'string' && j.error.message.length > 5);
  if (param !== undefined) assert.equal(j.error.param, param);
  if (code !== undefined) assert.equal(j.error.code, code);
  return j;
}

const U = [{ role: 'user', content: 'hi' }];

test('bad bodies and fields -> 400 naming the field', async () => {
  const { app, engine } = makeApp();
  const cases: [unknown, string][] = [
    ['{not json', 'body'], ['', 'body'], ['[1,2]', 'body'], ['null', 'body'], ['"str"', 'body'],
    [{}, 'messages'], [{ messages: [] }, 'messages'], [{ messages: 'hi' }, 'messages'],
    [{ messages: [1] }, 'messages[0]'], [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user' }] }, 'messages[0].content'], [{ messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content[0]'],
    [{ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
    [{ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r', tool_call_id: 'a' }] }, 'messages'],
    [{ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] }, 'messages'],
    [{ messages: U, temperature: 3 }, 'temperature'], [{ messages: U, temperature: '1' }, 'temperature'],
    [{ messages: U, top_p: 0 }, 'top_p'], [{ messages: U, top_k: 1.5 }, 'top_k'], [{ messages: U, max_tokens: 0 }, 'max_tokens'],
    [{ messages: U, max_tokens: -5 }, 'max_tokens'], [{ messages: U, stop: 5 }, 'stop'], [{ messages: U, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ messages: U, stop: [''] }, 'stop'], [{ messages: U, n: 17 }, 'n'], [{ messages: U, seed: 1.5 }, 'seed'],
    [{ messages: U, presence_penalty: 9 }, 'presence_penalty'], [{ messages: U, repetition_penalty: 0 }, 'repetition_penalty'],
    [{ messages: U, stream: 'yes' }, 'stream'], [{ messages: U, stream_options: { include_usage: true } }, 'stream_options'],
    [{ messages: U, logprobs: 'yes' }, 'logprobs'], [{ messages: U, logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    [{ messages: U, top_logprobs: 2 }, 'top_logprobs'], [{ messages: U, logprobs: true, top_logprobs: 1.5 }, 'top_logprobs'], [{ messages: U, model: 3 }, 'model'],
    [{ messages: U, tools: {} }, 'tools'], [{ messages: U, tools: [{ type: 'function' }] }, 'tools[0]'],
    [{ messages: U, tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools[0].function.name'],
    [{ messages: U, tool_choice: 'required' }, 'tool_choice'],
    [{ messages: U, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }, 'tool_choice'],
    [{ messages: U, moss_plugins: ['teleport'] }, 'moss_plugins'], [{ messages: U, moss_plugins: 'yes' }, 'moss_plugins'],
  ];
  for (const [body, param] of cases) await expectError(await app.fetch(post('/v1/chat/completions', body)), 400, param);
  for (const [body, param] of [[{}, 'prompt'], [{ prompt: 5 }, 'prompt'], [{ prompt: 'x', suffix: 'y' }, 'suffix'], [{ prompt: '' }, 'prompt'],
    [{ prompt: 'x', logprobs: 21 }, 'logprobs'], [{ prompt: 'x', logprobs: true }, 'logprobs'], [{ prompt: 'x', top_logprobs: 2 }, 'top_logprobs']] as [unknown, string][]) {
    await expectError(await app.fetch(post('/v1/completions', body)), 400, param);
  }
  for (const body of [{}, { prompt: '' }, { prompt: 'x', uid: 5 }, { prompt: 'x', temperature: -1 }]) await expectError(await app.fetch(post('/moss', body)), 400);
  assert.equal(engine.requests.length, 0); // nothing reached the model
});

test('a prompt that does not fit the context -> 400 context_length_exceeded', async () => {
  const { app } = makeApp({ contextLength: 600 });
  await expectError(await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(1000) }] })), 400, 'messages', 'context_length_exceeded');
  await expectError(await app.fetch(post('/v1/completions', { prompt: 'x'.repeat(600) })), 400, 'prompt', 'context_length_exceeded');
  const ok = await app.fetch(post('/v1/completions', { prompt: 'x'.repeat(590), max_tokens: 1000 }));
  assert.equal(ok.status, 200); // max_tokens is clamped to the room left
});

test('API key: 401 without or with a wrong key; /health and / stay public', async () => {
  const { app } = makeApp({}, { apiKey: 'sekrit' });
  await expectError(await app.fetch(post('/v1/chat/completions', { messages: U })), 401, null, 'invalid_api_key');
  await expectError(await app.fetch(post('/v1/chat/completions', { messages: U }, { authorization: 'Bearer nope' })), 401);
  await expectError(await app.fetch(new Request('http://t/v1/models')), 401);
  await expectError(await app.fetch(new Request('http://t/metrics')), 401);
  assert.equal((await app.fetch(post('/v1/chat/completions', { messages: U }, { authorization: 'Bearer sekrit' }))).status, 200);
  assert.equal((await app.fetch(new Request('http://t/v1/models', { headers: { 'x-api-key': 'sekrit' } }))).status, 200);
  assert.equal((await app.fetch(new Request('http://t/health'))).status, 200);
  assert.equal((await app.fetch(new Request('http://t/'))).status, 200);
});

test('unknown routes 404, wrong methods 405 with Allow, big bodies 413', async () => {
  const { app } = makeApp({}, { maxBodyBytes: 1000 });
  await expectError(await app.fetch(new Request('http://t/v2/nothing')), 404);
  await expectError(await app.fetch(new Request('http://t/web/../../etc/passwd')), 404);
  await expectError(await app.fetch(new Request('http://t/web/secret.ts')), 404);
  const r = await app.fetch(new Request('http://t/v1/chat/completions'));
  assert.equal(r.headers.get('allow'), 'POST');
  await expectError(r, 405);
  await expectError(await app.fetch(new Request('http://t/health', { method: 'DELETE' })), 405);
  await expectError(await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x'.repeat(2000) }] })), 413, null, 'body_too_large');
  // a body without content-length (streamed) is cut off too
  const stream = new ReadableStream({ start(c) { for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode('x'.repeat(400))); c.close(); } });
  await expectError(await app.fetch(new Request('http://t/v1/completions', { method: 'POST', body: stream, duplex: 'half' } as RequestInit)), 413);
});

test('full queue -> 429 with Retry-After; the running requests finish normally', async () => {
  const { app } = makeApp({ slots: 1, maxQueue: 1, tokenDelayMs: 5 });
  const a = app.fetch(post('/v1/chat/completions', { messages: U }));
  const b = app.fetch(post('/v1/chat/completions', { messages: U }));
  await new Promise((r) => setTimeout(r, 10));
  const c = await app.fetch(post('/v1/chat/completions', { messages: U, stream: true }));
  assert.equal(c.headers.get('retry-after'), '1');
  await expectError(c, 429, null, 'queue_full');
  await expectError(await app.fetch(post('/moss', { prompt: 'x' })), 429);
  for (const r of await Promise.all([a, b])) assert.equal(((await r.json()) as Any).choices[0].message.content, 'Hello there!');
});
