/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`, unchanged) against a real `moss serve`
 * (the CLI binary, moss-tiny, loopback): `generateObject` with a zod schema (response_format
 * json_schema -> constrained decoding) returns an object the SDK itself validates, and
 * `generateText` with a multi-parameter zod tool and toolChoice required gets a tool call whose
 * input the SDK parses and validates against the tool's schema.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, jsonSchema, tool } from 'ai';
import { ROOT } from '../cli/chat-helpers.js';
import { spawnServe } from './helpers.js';

const serve = await spawnServe(['--model', join(ROOT, 'models', 'moss-tiny')]);
after(() => serve.stop());
const moss = createOpenAICompatible({ name: 'moss', baseURL: `${serve.url}/v1`, supportsStructuredOutputs: true });
const model = moss.chatModel('moss-tiny');

test('AI SDK generateObject: the object validates against the schema (structured outputs)', async () => {
  const schema = jsonSchema<{ title: string; year: number; tags: string[] }>({
    type: 'object', properties: { title: { type: 'string', maxLength: 16 }, year: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 3 } },
    required: ['title', 'year', 'tags'], additionalProperties: false,
  });
  const r = await generateObject({ model, schema, prompt: 'Describe a film as JSON', temperature: 0.7, seed: 4, maxOutputTokens: 160, maxRetries: 0 });
  assert.equal(typeof r.object.title, 'string');
  assert.ok(Number.isInteger(r.object.year) && r.object.year >= 0);
  assert.ok(Array.isArray(r.object.tags) && r.object.tags.length <= 3);
});

test('AI SDK generateText: a required multi-parameter tool call whose input validates', async () => {
  const calc = tool({
    description: 'arithmetic on two numbers',
    inputSchema: jsonSchema<{ a: number; b: number; op: 'add' | 'sub' | 'mul' | 'div' }>({
      type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' }, op: { type: 'string', enum: ['add', 'sub', 'mul', 'div'] } }, required: ['a', 'b', 'op'], additionalProperties: false,
    }),
  });
  const r = await generateText({ model, tools: { calculator: calc }, toolChoice: 'required', prompt: 'What is 23 times 47?', temperature: 0.7, seed: 2, maxOutputTokens: 400, maxRetries: 0 });
  assert.ok(r.toolCalls.length >= 1, JSON.stringify(r.content));
  for (const c of r.toolCalls) {
    assert.equal(c.toolName, 'calculator');
    assert.ok(!('invalid' in c && c.invalid), JSON.stringify(c));
    const input = c.input as { a: number; b: number; op: string };
    assert.ok(typeof input.a === 'number' && typeof input.b === 'number' && ['add', 'sub', 'mul', 'div'].includes(input.op), JSON.stringify(input));
  }
});
