/**
 * LangChain JS (`@langchain/openai` ChatOpenAI, unchanged) against a real `moss serve` (the CLI
 * binary, the bundled moss-tiny, loopback): chat, streaming (= non-streaming, greedy), usage,
 * `bindTools` with a multi-parameter schema (a forced call whose args validate, then the
 * ToolMessage round trip), `withStructuredOutput` (json_schema and function calling), streamed
 * tool-call chunks that join to the non-streamed arguments, the Responses API path, an unknown
 * model and an abort that frees the slot.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ChatOpenAI } from '@langchain/openai';
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { ROOT } from '../cli/chat-helpers.js';
import { spawnServe } from './helpers.js';

const serve = await spawnServe(['--model', join(ROOT, 'models', 'moss-tiny')]);
after(() => serve.stop());
const llm = (o: Partial<ConstructorParameters<typeof ChatOpenAI>[0]> = {}) =>
  new ChatOpenAI({ model: 'moss-tiny', apiKey: 'none', configuration: { baseURL: `${serve.url}/v1` }, temperature: 0, maxTokens: 24, maxRetries: 0, ...o });

const calculator = {
  type: 'function' as const,
  function: {
    name: 'calculator', description: 'arithmetic on two numbers',
    parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' }, op: { type: 'string', enum: ['add', 'sub', 'mul', 'div'] } }, required: ['a', 'b', 'op'], additionalProperties: false },
  },
};
const Args = z.object({ a: z.number(), b: z.number(), op: z.enum(['add', 'sub', 'mul', 'div']) }).strict();

test('LangChain chat: invoke returns text and usage; stream joins to the same text', async () => {
  const r = await llm().invoke([new HumanMessage('Hi, who are you?')]);
  assert.equal(typeof r.content, 'string');
  assert.ok((r.content as string).length > 0);
  assert.ok(!/<eom>|<\|MOSS\|>|<eoh>/.test(r.content as string), 'no MOSS markup');
  assert.ok(r.usage_metadata!.input_tokens > 0 && r.usage_metadata!.output_tokens > 0);
  let text = '';
  for await (const c of await llm({ streamUsage: true }).stream([new HumanMessage('Hi, who are you?')])) text += c.content as string;
  assert.equal(text, r.content);
});

test('LangChain bindTools: a forced multi-parameter call validates; the ToolMessage round trip gets a reply', async () => {
  const model = llm({ maxTokens: 200, temperature: 0.8 }).bindTools([calculator], { tool_choice: 'calculator', seed: 3 } as never);
  const ask = [new HumanMessage('What is 23 times 47?')];
  const r = await model.invoke(ask);
  assert.equal(r.tool_calls!.length >= 1, true, JSON.stringify(r));
  const call = r.tool_calls![0];
  assert.equal(call.name, 'calculator');
  Args.parse(call.args);
  assert.deepEqual(r.invalid_tool_calls ?? [], []);
  const back = await llm({ maxTokens: 40 }).bindTools([calculator]).invoke([...ask, r, new ToolMessage({ tool_call_id: call.id!, content: '1081' })]);
  assert.ok(AIMessage.isInstance(back));
  assert.equal(typeof back.content, 'string');
  // streamed: the tool-call chunks join (by index) to the same arguments as the whole answer
  let joined: AIMessageChunk | undefined;
  let pieces = 0;
  for await (const c of await model.stream(ask)) {
    pieces += c.tool_call_chunks?.length ?? 0;
    joined = joined ? joined.concat(c) : c;
  }
  assert.ok(pieces >= 3, `arguments in several fragments (${pieces} chunks)`);
  assert.deepEqual(joined!.tool_calls!.map((c) => [c.name, c.args]), r.tool_calls!.map((c) => [c.name, c.args]));
});

test('LangChain withStructuredOutput: json_schema and function calling give objects that parse', async () => {
  const Film = z.object({ title: z.string().max(16), year: z.number().int().min(0), tags: z.array(z.string().max(8)).max(3) });
  for (const method of ['jsonSchema', 'functionCalling'] as const) {
    const out = await llm({ maxTokens: 160, temperature: 0.7 }).withStructuredOutput(Film, { method, strict: true }).invoke('Describe a film as JSON', { seed: 4 } as never);
    Film.parse(out);
  }
});

test('LangChain over the Responses API (useResponsesApi): text back', async () => {
  const r = await llm({ useResponsesApi: true }).invoke('Hi');
  assert.ok(r.text.length > 0, JSON.stringify(r.content));
});

test('LangChain: an unknown model is a 404 error; an aborted call rejects and frees its slot', async () => {
  await assert.rejects(llm({ model: 'gpt-9' }).invoke('hi'), (e: Error & { status?: number }) => e.status === 404 || /model_not_found|gpt-9/.test(e.message));
  // Abort on the first streamed chunk, while the server is still generating: a timer raced the
  // generation and lost on a quiet machine (moss-tiny finished the story in < 50 ms).
  const ac = new AbortController();
  const read = async () => {
    for await (const _c of await llm({ maxTokens: 400 }).stream('Tell me a long story', { signal: ac.signal })) ac.abort();
  };
  await assert.rejects(read(), (e: Error) => /abort/i.test(e.name + e.message));
  const t0 = Date.now();
  let active = 1;
  while (Date.now() - t0 < 5000) {
    active = ((await (await fetch(`${serve.url}/health`)).json()) as { active: number }).active;
    if (active === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(active, 0, 'the aborted generation gave its slot back');
});
