/**
 * The Ollama API (#14 item 5) driven by the official `ollama` npm client over a real socket, with
 * the scripted engine: version, tags, ps, show; chat and generate, streamed (NDJSON) = not
 * streamed; options (num_predict -> done_reason "length", stop, seed); tools round trip with
 * object arguments; raw generate; an unknown model -> 404 in Ollama's error shape; an aborted
 * stream frees its slot.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { makeApp } from './helpers.js';

const { app, engine } = makeApp({
  reply: (p) => (p.includes('slow') ? ` ${'tick '.repeat(300)}<eom>` : p.endsWith('<|Human|>: weather?<eoh>\n') ? '<|Inner Thoughts|>: look up<eot>\n<|Commands|>: get_weather("北京")<eoc>' : p.startsWith('RAW') ? ' raw reply<eom>' : ' 你好，我是 MOSS。<eom>'),
  tokenDelayMs: 2,
  slots: 4,
}, { loopbackHostOnly: true });
const server = nodeServer(app);
const host = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
const ollama = new Ollama({ host });
after(() => server.close());

test('ollama client: version, list (tags), ps, show', async () => {
  assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+$/);
  const tags = await ollama.list();
  assert.deepEqual(tags.models.map((m) => m.name), ['moss-scripted:latest']);
  assert.equal((await ollama.ps()).models[0].name, 'moss-scripted:latest');
  const show = await ollama.show({ model: 'moss-scripted' });
  assert.equal(show.details.family, 'moss');
  assert.ok(show.capabilities.includes('tools'));
});

test('ollama client: chat and generate, streamed = not streamed, with counts', async () => {
  const messages = [{ role: 'user', content: 'hi' }];
  const r = await ollama.chat({ model: 'moss-scripted', messages });
  assert.equal(r.message.content, '你好，我是 MOSS。');
  assert.equal(r.done, true);
  assert.equal(r.done_reason, 'stop');
  assert.equal(r.eval_count, [...' 你好，我是 MOSS。'].length + 1);
  assert.ok(r.prompt_eval_count > 100);
  let text = '';
  let last;
  for await (const part of await ollama.chat({ model: 'moss-scripted:latest', messages, stream: true })) {
    text += part.message.content;
    last = part;
  }
  assert.equal(text, r.message.content);
  assert.equal(last!.done, true);
  assert.equal(last!.eval_count, r.eval_count);
  const g = await ollama.generate({ model: 'moss-scripted', prompt: 'hi', system: 'Be brief.' });
  assert.equal(g.response, '你好，我是 MOSS。');
  let gs = '';
  for await (const part of await ollama.generate({ model: 'moss-scripted', prompt: 'hi', stream: true })) gs += part.response;
  assert.equal(gs, g.response);
  const raw = await ollama.generate({ model: 'moss-scripted', prompt: 'RAW text', raw: true, options: { stop: ['reply'] } });
  assert.equal(raw.response, ' raw ');
  assert.equal(engine.tokenizer.decode(engine.requests[engine.requests.length - 1].promptIds), 'RAW text', 'raw: the prompt as is');
});

test('ollama client: options num_predict -> done_reason length; seed and temperature reach the sampler', async () => {
  const r = await ollama.chat({ model: 'moss-scripted', messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 3, seed: 42, temperature: 0.3 } });
  assert.equal(r.done_reason, 'length');
  const s = engine.requests[engine.requests.length - 1].sampling;
  assert.equal(s.seed, 42);
  assert.equal(s.temperature, 0.3);
});

test('ollama client: tools round trip with object arguments', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const r = await ollama.chat({ model: 'moss-scripted', messages: [{ role: 'user', content: 'weather?' }], tools });
  assert.deepEqual(r.message.tool_calls, [{ function: { name: 'get_weather', arguments: { city: '北京' } } }]);
  const r2 = await ollama.chat({ model: 'moss-scripted', tools, messages: [{ role: 'user', content: 'weather?' }, r.message, { role: 'tool', content: '晴' }] });
  assert.equal(r2.message.content, '你好，我是 MOSS。');
  const p = engine.tokenizer.decode(engine.requests[engine.requests.length - 1].promptIds);
  assert.match(p, /get_weather\("北京"\)/);
  assert.match(p, /晴/);
});

test('ollama client: unknown model -> 404 with Ollama\'s error; an aborted stream frees its slot', async () => {
  await assert.rejects(ollama.chat({ model: 'llama3', messages: [{ role: 'user', content: 'hi' }] }), (e: Error & { status_code?: number }) => e.status_code === 404 && /model "llama3" not found/.test(e.message));
  const bad = await fetch(`${host}/api/chat`, { method: 'POST', body: '{"model":' });
  assert.equal(bad.status, 400);
  assert.equal(typeof ((await bad.json()) as { error: unknown }).error, 'string');
  const it = await ollama.chat({ model: 'moss-scripted', messages: [{ role: 'user', content: 'slow' }], stream: true });
  for await (const part of it) {
    assert.equal(part.done, false);
    it.abort();
    break;
  }
  for (let i = 0; i < 100 && engine.stats().active > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(engine.stats().active, 0);
});
