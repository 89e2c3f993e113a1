/**
 * The minimal Responses API (#14 item 5) with the official `openai` client over a real socket and
 * the scripted engine: text in and out (`output_text`), instructions, streaming typed events in
 * order (created … output_text.delta … completed), function tools: a `function_call` item, then
 * the round trip with `function_call_output`; max_output_tokens -> incomplete; unknown model 404.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { makeApp } from './helpers.js';

const { app, engine } = makeApp({
  reply: (p) => (p.endsWith('<|Human|>: weather?<eoh>\n') ? '<|Inner Thoughts|>: look up<eot>\n<|Commands|>: get_weather("北京")<eoc>' : ' 你好，我是 MOSS。<eom>'),
  tokenDelayMs: 1,
});
const server = nodeServer(app);
const base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
after(() => server.close());
const tools = [{ type: 'function' as const, name: 'get_weather', description: 'weather of a city', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];

test('responses: text in, output_text out, instructions reach the prompt, usage', async () => {
  const r = await client.responses.create({ model: 'moss', input: 'hi', instructions: 'Answer in Chinese.' });
  assert.equal(r.object, 'response');
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, '你好，我是 MOSS。');
  assert.equal(r.output[0].type, 'message');
  assert.equal(r.usage!.output_tokens, [...' 你好，我是 MOSS。'].length + 1);
  assert.match(engine.tokenizer.decode(engine.requests[engine.requests.length - 1].promptIds), /Answer in Chinese\./);
  const short = await client.responses.create({ model: 'moss', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], max_output_tokens: 3 });
  assert.equal(short.status, 'incomplete');
  assert.equal(short.incomplete_details?.reason, 'max_output_tokens');
});

test('responses: streaming typed events, in order, text = non-streamed', async () => {
  const s = await client.responses.create({ model: 'moss', input: 'hi', stream: true });
  const types: string[] = [];
  let text = '';
  let done;
  for await (const e of s) {
    types.push(e.type);
    if (e.type === 'response.output_text.delta') text += e.delta;
    if (e.type === 'response.completed') done = e.response;
  }
  assert.equal(text, '你好，我是 MOSS。');
  assert.deepEqual([types[0], types[1], types[2], types[3]], ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
  assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
  assert.equal(done!.output_text ?? (done!.output[0] as { content: { text: string }[] }).content[0].text, text);
});

test('responses: function tools — a function_call item (streamed and not), then the round trip with function_call_output', async () => {
  const r = await client.responses.create({ model: 'moss', input: 'weather?', tools });
  const fc = r.output.find((o) => o.type === 'function_call');
  assert.ok(fc && fc.type === 'function_call');
  assert.equal(fc.name, 'get_weather');
  assert.deepEqual(JSON.parse(fc.arguments), { city: '北京' });
  const s = await client.responses.create({ model: 'moss', input: 'weather?', tools, stream: true });
  let args = '';
  for await (const e of s) if (e.type === 'response.function_call_arguments.done') args = e.arguments;
  assert.deepEqual(JSON.parse(args), { city: '北京' });
  const r2 = await client.responses.create({ model: 'moss', tools, input: [{ role: 'user', content: 'weather?' }, { type: 'function_call', call_id: fc.call_id, name: fc.name, arguments: fc.arguments }, { type: 'function_call_output', call_id: fc.call_id, output: '晴' }] });
  assert.equal(r2.output_text, '你好，我是 MOSS。');
  assert.match(engine.tokenizer.decode(engine.requests[engine.requests.length - 1].promptIds), /晴/);
});

test('responses: unknown model 404; unsupported pieces get a 400 naming the field', async () => {
  await assert.rejects(client.responses.create({ model: 'gpt-9', input: 'hi' }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found');
  await assert.rejects(client.responses.create({ model: 'moss', input: 'hi', previous_response_id: 'resp_1' }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === 'previous_response_id');
  await assert.rejects(client.responses.create({ model: 'moss', input: 'hi', tools: [{ type: 'web_search_preview' }] }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === 'tools[0]');
});
