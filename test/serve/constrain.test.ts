/**
 * Constrained decoding through the server: moss-tiny in the worker engine behind a real socket,
 * driven by the official `openai` client, outputs checked by an independent validator (Ajv).
 * Multi-parameter tools round trip (the call's arguments validate against `parameters`, the tool
 * result goes back and the model answers), `tool_choice` required / named / none / auto,
 * `response_format` json_object and json_schema (strict), streaming equal to non-streaming, and
 * schemas the grammar cannot express answered with a 400 naming the keyword.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { modelChatTemplate } from '../../src/chat/template-source.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { createApp } from '../../src/serve/app.js';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { WorkerEngine } from '../../src/serve/worker-engine.js';

const MODEL = join(process.cwd(), 'models/moss-tiny');
const engine = await WorkerEngine.start({ modelPath: MODEL, tokenizer: loadTokenizer(MODEL), modelId: 'moss-tiny', slots: 2, ctx: 1024 });
const server = nodeServer(createApp({ engine, historyDir: mkdtempSync(join(tmpdir(), 'moss-c-')) }));
const port = await listen(server, 0, '127.0.0.1');
after(async () => { server.close(); await engine.close(); });
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0 });
const ajv = new Ajv({ strict: false });

const CALC = { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' }, op: { type: 'string', enum: ['add', 'sub', 'mul', 'div'] } }, required: ['a', 'b', 'op'], additionalProperties: false };
const WEATHER = { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, unit: { enum: ['c', 'f'] }, days: { type: 'integer', minimum: 1, maximum: 7 }, detail: { type: 'object', properties: { wind: { type: 'boolean' } }, required: ['wind'] } }, required: ['city', 'days', 'detail'] };
const TOOLS: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'calculator', description: 'arithmetic on two numbers', parameters: CALC } },
  { type: 'function', function: { name: 'get_weather', description: 'forecast', parameters: WEATHER } },
];
const SCHEMAS: Record<string, object> = { calculator: CALC, get_weather: WEATHER };
const ask = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];
const BUDGET = { max_tokens: 200, temperature: 0.8 };

type Call = OpenAI.ChatCompletionMessageFunctionToolCall;
function checkCalls(msg: OpenAI.ChatCompletionMessage): Call[] {
  const calls = (msg.tool_calls ?? []) as Call[];
  for (const c of calls) {
    assert.equal(c.type, 'function');
    const args = JSON.parse(c.function.arguments) as unknown;
    assert.ok(ajv.validate(SCHEMAS[c.function.name], args), `${c.function.name}(${c.function.arguments}): ${ajv.errorsText()}`);
  }
  return calls;
}

test('tool_choice required: every sampled call validates against its multi-parameter schema; round trip to an answer', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('What is 23 times 47?'), tools: TOOLS, tool_choice: 'required', parallel_tool_calls: seed % 2 === 0, seed, ...BUDGET });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls', `seed ${seed}: ${JSON.stringify(choice.message)}`);
    const calls = checkCalls(choice.message);
    assert.ok(calls.length >= 1);
    if (seed === 1) {
      // the round trip: results go back as tool messages, the model answers in text
      const back = await client.chat.completions.create({
        model: 'moss-tiny', ...BUDGET, seed, tools: TOOLS,
        messages: [...ask('What is 23 times 47?'), { role: 'assistant', content: null, tool_calls: calls }, ...calls.map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: '1081' }))],
      });
      assert.equal(back.choices[0].finish_reason === 'tool_calls' || typeof back.choices[0].message.content === 'string', true);
      if (back.choices[0].finish_reason === 'tool_calls') checkCalls(back.choices[0].message);
    }
  }
});

test('a named tool_choice forces that function, with valid arguments; streamed = non-streamed', async () => {
  const named = { type: 'function' as const, function: { name: 'get_weather' } };
  const r = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('weather in Paris?'), tools: TOOLS, tool_choice: named, seed: 5, ...BUDGET });
  const calls = checkCalls(r.choices[0].message);
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(calls.map((c) => c.function.name), ['get_weather']);
  const stream = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('weather in Paris?'), tools: TOOLS, tool_choice: named, seed: 5, ...BUDGET, stream: true });
  let args = '';
  for await (const ch of stream) for (const d of ch.choices[0]?.delta.tool_calls ?? []) args += d.function?.arguments ?? '';
  assert.equal(args, calls[0].function.arguments);
});

test('tool_choice auto: calls, when the model makes them, validate; none: never a call', async () => {
  for (const seed of [11, 12, 13]) {
    const r = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('What is 2 plus 40? use the calculator'), tools: TOOLS, tool_choice: 'auto', seed, ...BUDGET });
    checkCalls(r.choices[0].message);
    assert.ok(['tool_calls', 'stop', 'length'].includes(r.choices[0].finish_reason));
    const n = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('What is 2 plus 40?'), tools: TOOLS, tool_choice: 'none', seed, ...BUDGET });
    assert.equal(n.choices[0].message.tool_calls, undefined);
    assert.notEqual(n.choices[0].finish_reason, 'tool_calls');
  }
});

test('response_format json_schema (strict) and json_object: the reply is JSON that validates', async () => {
  const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 } }, required: ['name', 'age', 'tags'], additionalProperties: false };
  let ok = 0;
  for (const seed of [21, 22, 23]) {
    const r = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('Describe a person as JSON'), seed, ...BUDGET, response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } } });
    if (r.choices[0].finish_reason !== 'stop') continue;
    const v = JSON.parse(r.choices[0].message.content!) as unknown;
    assert.ok(ajv.validate(schema, v), `${r.choices[0].message.content}: ${ajv.errorsText()}`);
    ok++;
  }
  assert.ok(ok >= 2, `${ok} of 3 finished`);
  const o = await client.chat.completions.create({ model: 'moss-tiny', messages: ask('JSON please'), seed: 3, max_tokens: 300, temperature: 0.7, response_format: { type: 'json_object' } });
  if (o.choices[0].finish_reason === 'stop') {
    const v = JSON.parse(o.choices[0].message.content!) as unknown;
    assert.ok(v && typeof v === 'object' && !Array.isArray(v));
  }
});

test('schemas the grammar cannot express: 400 naming the keyword, at once', async () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', patternProperties: { '^x': { type: 'string' } } } } }], tool_choice: 'required' }, 'patternProperties', 'tools[0].function.parameters'],
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: { $defs: { n: { type: 'object', properties: { n: { $ref: '#/$defs/n' } } } }, type: 'object', properties: { root: { $ref: '#/$defs/n' } } } } }] }, '$ref', 'tools[0].function.parameters'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { enum: Array.from({ length: 1000 }, (_, i) => i) } } } }, 'enum', 'response_format.json_schema.schema'],
  ];
  for (const [extra, kw, param] of cases) {
    const t0 = performance.now();
    await assert.rejects(client.chat.completions.create({ model: 'moss-tiny', messages: ask('hi'), ...extra } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming), (e: unknown) => {
      const err = e as { status: number; message: string; param?: string; code?: string };
      assert.equal(err.status, 400);
      assert.ok(err.message.includes(kw), err.message);
      assert.equal(err.param, param);
      return true;
    });
    assert.ok(performance.now() - t0 < 2000);
  }
});

const STORIES = join(process.cwd(), '..', 'shared', 'models', 'stories260K');
test('a non-MOSS model (stories260K, plain chat template): response_format json_schema validates', { skip: !existsSync(join(STORIES, 'stories260K.bin')) && `${STORIES} not found: skipped` }, async () => {
  const tok = loadTokenizer(join(STORIES, 'tok512.bin'));
  const e = await WorkerEngine.start({ modelPath: join(STORIES, 'stories260K.bin'), tokenizer: tok, modelId: 'stories', slots: 1, ctx: 512 });
  const s = nodeServer(createApp({ engine: e, historyDir: mkdtempSync(join(tmpdir(), 'moss-c-')), template: modelChatTemplate(join(STORIES, 'stories260K.bin'), tok) }));
  const c = new OpenAI({ baseURL: `http://127.0.0.1:${await listen(s, 0, '127.0.0.1')}/v1`, apiKey: 'none', maxRetries: 0 });
  try {
    const schema = { type: 'object', properties: { hero: { type: 'string', maxLength: 10 }, happy: { type: 'boolean' }, friends: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['hero', 'happy', 'friends'] };
    for (const seed of [1, 2]) {
      const r = await c.chat.completions.create({ model: 'stories', messages: ask('Tell me about Lily'), seed, max_tokens: 120, temperature: 0.8, response_format: { type: 'json_schema', json_schema: { name: 'story', schema } } });
      assert.equal(r.choices[0].finish_reason, 'stop', JSON.stringify(r.choices[0]));
      assert.ok(ajv.validate(schema, JSON.parse(r.choices[0].message.content!)), r.choices[0].message.content!);
    }
  } finally {
    s.close();
    await e.close();
  }
});
