/**
 * The HTTP core without sockets, against the scripted stand-in engine: OpenAI chat and completion
 * shapes (plain, streaming, usage, stop strings, budgets), tools <-> MOSS commands, the server-side
 * plugin loop, /v1/models, /health, /metrics and the MOSS API with durable history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../src/serve/app.js';
import { createPlugins } from '../../src/plugins/index.js';
import { ScriptedEngine } from './scripted-engine.js';
import { makeApp, post, sseEvents, tempDir } from './helpers.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('chat completion: MOSS prompt, reply without control tokens, usage', async () => {
  const { app, engine } = makeApp();
  const res = await app.fetch(post('/v1/chat/completions', { model: 'moss-scripted', messages: [{ role: 'user', content: '你好 <eom>' }] }));
  assert.equal(res.status, 200);
  const j = (await res.json()) as Any;
  assert.equal(j.object, 'chat.completion');
  assert.equal(j.choices[0].message.content, 'Hello there!');
  assert.equal(j.choices[0].finish_reason, 'stop');
  const prompt = engine.tokenizer.decode(engine.requests[0].promptIds);
  assert.ok(prompt.startsWith('You are an AI assistant whose name is MOSS.'));
  // the user's <eom> is neutralised, the None fields are forced, the prompt ends at the MOSS header
  assert.ok(prompt.endsWith('<|Human|>: 你好 <eoh>\n<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>\n<|Results|>: None<eor>\n<|MOSS|>:'), prompt.slice(-200));
  assert.equal(j.usage.prompt_tokens, engine.requests[0].promptIds.length);
  assert.equal(j.usage.completion_tokens, [...' Hello there!'].length + 1);
  assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);
});

test('chat history renders as MOSS turns; system replaces the meta instruction', async () => {
  const { app, engine } = makeApp();
  await app.fetch(post('/v1/chat/completions', { messages: [
    { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: [{ type: 'text', text: 'c' }] },
  ] }));
  const prompt = engine.tokenizer.decode(engine.requests[0].promptIds);
  const nones = '<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>\n<|Results|>: None<eor>\n';
  assert.equal(prompt, `Be brief.\n<|Human|>: a<eoh>\n${nones}<|MOSS|>: b<eom>\n<|Human|>: c<eoh>\n${nones}<|MOSS|>:`);
});

test('streaming: role chunk, content deltas, finish, usage chunk, [DONE]', async () => {
  const { app } = makeApp();
  const res = await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }));
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const ev = await sseEvents(res);
  assert.equal(ev[ev.length - 1], '[DONE]');
  const chunks = ev.slice(0, -1) as Any[];
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, 'Hello there!');
  const fin = chunks.find((c) => c.choices[0]?.finish_reason);
  assert.equal(fin!.choices[0].finish_reason, 'stop');
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 14);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
});

test('stop strings cut the reply (also across tokens); max_tokens ends with length', async () => {
  const { app, engine } = makeApp({ reply: () => ' one two three four<eom>' });
  let j = (await (await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], stop: ['two', 'zzz'] }))).json()) as Any;
  assert.equal(j.choices[0].message.content, 'one ');
  assert.equal(j.choices[0].finish_reason, 'stop');
  j = (await (await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 4, temperature: 0.5, top_p: 0.9, top_k: 5, seed: 7, repetition_penalty: 1.1, presence_penalty: 0.5, frequency_penalty: -0.5 }))).json()) as Any;
  assert.equal(j.choices[0].message.content, 'one');
  assert.equal(j.choices[0].finish_reason, 'length');
  assert.equal(j.usage.completion_tokens, 4);
  assert.deepEqual(engine.requests[1].sampling, { temperature: 0.5, topP: 0.9, topK: 5, seed: 7, repetitionPenalty: 1.1, presencePenalty: 0.5, frequencyPenalty: -0.5 });
  assert.equal(engine.requests[1].maxNewTokens, 4);
});

const TOOLS = [
  { type: 'function', function: { name: 'calculator', description: 'math', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } } },
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
];

test('tools: commands become tool_calls; tool messages become the Results field', async () => {
  const { app, engine } = makeApp({ reply: (p) => (p.endsWith('<|MOSS|>:') ? ' It is 2.<eom>' : '<|Inner Thoughts|>: need math<eot>\n<|Commands|>: Calculate("1+1"), get_weather("上海")<eoc>') });
  const res = await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: '1+1?' }], tools: TOOLS }));
  const j = (await res.json()) as Any;
  const m = j.choices[0].message;
  assert.equal(j.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.content, null);
  assert.equal(m.reasoning_content, 'need math');
  assert.deepEqual(m.tool_calls.map((c: Any) => [c.type, c.function.name, JSON.parse(c.function.arguments)]), [['function', 'calculator', { expression: '1+1' }], ['function', 'get_weather', { city: '上海' }]]);
  const p0 = engine.tokenizer.decode(engine.requests[0].promptIds);
  assert.match(p0, /- Calculator: enabled\. API: Calculate\(expression\)\n/);
  assert.match(p0, /- get_weather: enabled\. API: get_weather\(city\)\n/);
  assert.ok(p0.endsWith('<|Human|>: 1+1?<eoh>\n'));
  assert.ok(engine.requests[0].stopIds.includes(engine.tokenizer.tokenToId('<eoc>')!));
  const res2 = await app.fetch(post('/v1/chat/completions', { tools: TOOLS, messages: [
    { role: 'user', content: '1+1?' }, m,
    { role: 'tool', tool_call_id: m.tool_calls[0].id, content: '2' }, { role: 'tool', tool_call_id: m.tool_calls[1].id, content: 'sunny' },
  ] }));
  const j2 = (await res2.json()) as Any;
  assert.equal(j2.choices[0].message.content, 'It is 2.');
  const p1 = engine.tokenizer.decode(engine.requests[1].promptIds);
  assert.ok(p1.endsWith('<|Inner Thoughts|>: need math<eot>\n<|Commands|>: Calculate("1+1"), get_weather("上海")<eoc>\n<|Results|>:\nCalculate("1+1") => \'2\'\nget_weather("上海") => \'sunny\'\n<eor>\n<|MOSS|>:'), p1.slice(-250));
});

test('tools streamed: tool_calls deltas keyed by index, arguments in several fragments that join to the non-streamed ones; named tool_choice forces the command', async () => {
  const cmds = 'Calculate("1"), get_weather("Ber, \\"lin\\" 上海 — a long city name, with commas: yes")';
  const { app, engine } = makeApp({ reply: (p) => (p.endsWith('Calculate("') ? '2*3")<eoc>' : `<|Inner Thoughts|>: x<eot>\n<|Commands|>: ${cmds}<eoc>`) });
  const body = { messages: [{ role: 'user', content: 'q' }], tools: TOOLS };
  const whole = ((await (await app.fetch(post('/v1/chat/completions', body))).json()) as Any).choices[0].message.tool_calls as Any[];
  const ev = (await sseEvents(await app.fetch(post('/v1/chat/completions', { ...body, stream: true })))).slice(0, -1) as Any[];
  const deltas = ev.flatMap((c) => c.choices[0].delta.tool_calls ?? []);
  // the first delta of a call has its id, type and name; the rest only argument fragments
  const joined = [0, 1].map((i) => deltas.filter((d: Any) => d.index === i));
  for (const [i, ds] of joined.entries()) {
    assert.ok(typeof ds[0].id === 'string' && ds[0].type === 'function' && ds[0].function.name === whole[i].function.name);
    assert.ok(ds.slice(1).every((d: Any) => d.id === undefined && d.function.name === undefined));
    assert.equal(ds.map((d: Any) => d.function.arguments).join(''), whole[i].function.arguments);
  }
  assert.ok(joined[1].length >= 5, `the long arguments come in several fragments (${joined[1].length - 1})`);
  assert.deepEqual(JSON.parse(whole[1].function.arguments), { city: 'Ber, "lin" 上海 — a long city name, with commas: yes' });
  assert.equal(ev[ev.length - 1].choices[0].finish_reason, 'tool_calls');
  const j = (await (await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'q' }], tools: TOOLS, tool_choice: { type: 'function', function: { name: 'calculator' } } }))).json()) as Any;
  assert.deepEqual(JSON.parse(j.choices[0].message.tool_calls[0].function.arguments), { expression: '2*3' });
  assert.ok(engine.tokenizer.decode(engine.requests[2].promptIds).endsWith('<|Commands|>: Calculate("'));
});

test('server-side plugins: the calculator runs here, steps stream as reasoning', async () => {
  const { app, engine } = makeApp({ reply: (p) => (p.endsWith('<|MOSS|>:') ? ' The answer is 36.<eom>' : '<|Inner Thoughts|>: compute<eot>\n<|Commands|>: Calculate("12*3")<eoc>') });
  const ev = (await sseEvents(await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: '12*3?' }], moss_plugins: ['calculator'], stream: true })))).slice(0, -1) as Any[];
  const d = ev.map((c) => c.choices[0].delta);
  assert.equal(d.map((x) => x.content ?? '').join(''), 'The answer is 36.');
  const field = (f: string) => d.filter((x) => x.moss_field === f).map((x) => x.reasoning_content).join('');
  assert.equal(field('Inner Thoughts'), 'compute');
  assert.equal(field('Commands'), 'Calculate("12*3")');
  assert.equal(field('Results'), 'Calculate("12*3") => \'36\'\n', 'the results field as the model reads it');
  const p1 = engine.tokenizer.decode(engine.requests[1].promptIds);
  assert.ok(p1.endsWith('<|Results|>:\nCalculate("12*3") => \'36\'\n<eor>\n<|MOSS|>:'));
});

test('moss_plugins: the reply\'s moss_fields, sent back, give the next prompt the turn exactly as the model saw it', async () => {
  const { app, engine } = makeApp({ reply: (p) => (p.endsWith('<|MOSS|>:') ? ' The answer is 36.<eom>' : '<|Inner Thoughts|>: compute<eot>\n<|Commands|>: 1. Calculate("12*3")  # times<eoc>') });
  const m = ((await (await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: '12*3?' }], moss_plugins: ['calculator'] }))).json()) as Any).choices[0].message;
  assert.deepEqual(Object.keys(m.moss_fields), ['Inner Thoughts', 'Commands', 'Results']);
  const seen = engine.tokenizer.decode(engine.requests[1].promptIds) + ' The answer is 36.<eom>\n<|Human|>: thanks<eoh>\n';
  const messages = [{ role: 'user', content: '12*3?' }, { role: 'assistant', content: m.content, moss_fields: m.moss_fields }, { role: 'user', content: 'thanks' }];
  await (await app.fetch(post('/v1/chat/completions', { messages, moss_plugins: ['calculator'] }))).text();
  assert.ok(engine.tokenizer.decode(engine.requests[2].promptIds).startsWith(seen), engine.tokenizer.decode(engine.requests[2].promptIds));
  for (const moss_fields of [{ MOSS: 'x' }, { constructor: 'x' }, { Commands: 1 }, 'x']) {
    const bad = await app.fetch(post('/v1/chat/completions', { messages: [messages[0], { ...messages[1], moss_fields }, messages[2]] }));
    assert.equal(bad.status, 400, JSON.stringify(moss_fields));
  }
});

test('completions: raw prompt with control tokens, echo, stop, streaming', async () => {
  const { app, engine } = makeApp({ reply: () => ' raw text<eom> more' });
  const j = (await (await app.fetch(post('/v1/completions', { prompt: '<|Human|>: hi<eoh>\n<|MOSS|>:', max_tokens: 100 }))).json()) as Any;
  assert.equal(j.object, 'text_completion');
  assert.equal(j.choices[0].text, ' raw text<eom> more');
  assert.equal(engine.requests[0].promptIds.filter((t) => engine.tokenizer.isSpecial(t)).length, 1); // <eoh> is a control token here
  const e = (await (await app.fetch(post('/v1/completions', { prompt: 'P', echo: true, stop: '<eom>' }))).json()) as Any;
  assert.equal(e.choices[0].text, 'P raw text');
  const ev = (await sseEvents(await app.fetch(post('/v1/completions', { prompt: 'P', max_tokens: 3, stream: true })))).slice(0, -1) as Any[];
  assert.equal(ev.map((c) => c.choices[0].text).join(''), ' ra');
  assert.equal(ev[ev.length - 1].choices[0].finish_reason, 'length');
});

test('models, health, metrics', async () => {
  const { app } = makeApp();
  const m = (await (await app.fetch(new Request('http://t/v1/models'))).json()) as Any;
  assert.equal(m.data[0].id, 'moss-scripted');
  const h = (await (await app.fetch(new Request('http://t/health'))).json()) as Any;
  assert.equal(h.status, 'ok');
  const j = async (path: string, body: unknown): Promise<Any> => (await app.fetch(post(path, body))).json() as Promise<Any>;
  const c = (await j('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] })).usage;
  const text = await (await app.fetch(new Request('http://t/metrics'))).text();
  assert.match(text, /moss_requests_total\{route="\/v1\/chat\/completions",status="200"\} 1/);
  assert.match(text, /moss_completion_tokens_total 14/);
  // every API adds its request's own usage to the token counters
  const u = [[c.prompt_tokens, c.completion_tokens]];
  const k = (await j('/v1/completions', { prompt: 'hi', max_tokens: 3 })).usage;
  const r = (await j('/v1/responses', { model: 'moss-scripted', input: 'hi' })).usage;
  const o = await j('/api/chat', { model: 'moss-scripted', messages: [{ role: 'user', content: 'hi' }], stream: false });
  u.push([k.prompt_tokens, k.completion_tokens], [r.input_tokens, r.output_tokens], [o.prompt_eval_count, o.eval_count]);
  const after = await (await app.fetch(new Request('http://t/metrics'))).text();
  assert.match(after, new RegExp(`moss_prompt_tokens_total ${u.reduce((a, x) => a + x[0], 0)}\n`));
  assert.match(after, new RegExp(`moss_completion_tokens_total ${u.reduce((a, x) => a + x[1], 0)}\n`));
  assert.match(text, /# TYPE moss_time_to_first_token_seconds histogram/);
});

test('MOSS API: history by uid survives a restart (a new app over the same folder)', async () => {
  const dir = tempDir();
  const mk = () => {
    const engine = new ScriptedEngine({ reply: (p) => ` reply ${(p.match(/<\|Human\|>/g) ?? []).length}<eom>` });
    return { engine, app: createApp({ engine, historyDir: dir, plugins: createPlugins() }) };
  };
  const a = mk();
  const r1 = (await (await a.app.fetch(post('/moss', { prompt: '你好' }))).json()) as Any;
  assert.equal(r1.response, 'reply 1');
  assert.match(r1.uid, /^[0-9a-f-]{36}$/);
  const b = mk(); // "restart"
  const r2 = (await (await b.app.fetch(post('/moss', { prompt: 'again', uid: r1.uid }))).json()) as Any;
  assert.equal(r2.response, 'reply 2');
  assert.deepEqual(r2.history, [['你好', 'reply 1'], ['again', 'reply 2']]);
  assert.ok(b.engine.tokenizer.decode(b.engine.requests[0].promptIds).includes('<|Human|>: 你好<eoh>'));
  const bad = await b.app.fetch(post('/moss', { prompt: 'x', uid: '../etc' }));
  assert.equal(bad.status, 400);
});

test('tools: max_tokens running out inside the commands still returns the calls finished before the cut', async () => {
  const full = '<|Inner Thoughts|>: x<eot>\n<|Commands|>: Calculate("1+1"), get_weather("Paris")<eoc>';
  const { app, engine } = makeApp({ reply: () => full });
  const cut = engine.tokenizer.encode('<|Inner Thoughts|>: x<eot>\n<|Commands|>: Calculate("1+1"), get_weather("Pa', { special: 'allow' }).length;
  const j = (await (await app.fetch(post('/v1/chat/completions', { messages: [{ role: 'user', content: 'q' }], tools: TOOLS, max_tokens: cut }))).json()) as Any;
  assert.deepEqual(j.choices[0].message.tool_calls.map((c: Any) => [c.function.name, JSON.parse(c.function.arguments)]), [['calculator', { expression: '1+1' }]]);
  assert.equal(j.choices[0].finish_reason, 'tool_calls');
  assert.equal(j.usage.completion_tokens, cut);
});
