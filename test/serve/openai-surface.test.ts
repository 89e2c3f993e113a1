/**
 * The OpenAI surface beyond the happy path (#14 item 5), with the official `openai` client over a
 * real socket and the scripted engine: unknown model -> 404 model_not_found (aliases work and are
 * listed), GET /v1/models/{id}, n > 1 (chat and completions, streamed and not; seed + i per
 * choice), system_fingerprint, `usage: null` on non-final chunks, token-id and batched prompts with
 * echo on /v1/completions; and the id of a Hub-cache model is `org/name`, not its commit hash.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { modelId } from '../../src/cli/serve.js';
import { listen, nodeServer } from '../../src/serve/node-adapter.js';
import { makeApp } from './helpers.js';

const { app, engine } = makeApp({ reply: () => ' Hi!<eom>', tokenDelayMs: 1 }, { modelAliases: ['gpt-4o-mini', 'org/tiny'] });
const server = nodeServer(app);
const base = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
after(() => server.close());
const U = [{ role: 'user' as const, content: 'hello' }];

test('unknown model: 404 model_not_found; the id and aliases work and are listed; GET /v1/models/{id}', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages: U }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found' && /gpt-9/.test(e.message));
  await assert.rejects(client.completions.create({ model: 'nope', prompt: 'x' }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found');
  for (const model of ['moss-scripted', 'moss', 'default', 'gpt-4o-mini', 'org/tiny']) {
    assert.equal((await client.chat.completions.create({ model, messages: U, max_tokens: 4 })).choices[0].message.content, 'Hi!', model);
  }
  const ids = (await client.models.list()).data.map((m) => m.id);
  assert.deepEqual(ids, ['moss-scripted', 'moss', 'default', 'gpt-4o-mini', 'org/tiny']);
  const m = await client.models.retrieve('moss-scripted');
  assert.equal(m.id, 'moss-scripted');
  assert.equal(m.object, 'model');
  assert.equal((await (await fetch(`${base}/v1/models/org/tiny`)).json() as { parent: string }).parent, 'moss-scripted');
  await assert.rejects(client.models.retrieve('gpt-9'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found');
});

test('n > 1 on chat: n choices (streamed and not), seed + i per choice, system_fingerprint, usage null until the last chunk', async () => {
  const before = engine.requests.length;
  const r = await client.chat.completions.create({ model: 'moss', messages: U, n: 3, seed: 7 });
  assert.deepEqual(r.choices.map((c) => [c.index, c.message.content, c.finish_reason]), [[0, 'Hi!', 'stop'], [1, 'Hi!', 'stop'], [2, 'Hi!', 'stop']]);
  assert.deepEqual(engine.requests.slice(before).map((q) => q.sampling.seed).sort(), [7, 8, 9]);
  assert.match(r.system_fingerprint ?? '', /^fp_moss_[0-9a-f]{8}$/);
  assert.equal(r.usage!.completion_tokens, 3 * ([...' Hi!'].length + 1));
  const s = await client.chat.completions.create({ model: 'moss', messages: U, n: 2, stream: true, stream_options: { include_usage: true } });
  const text = ['', ''];
  const finish: (string | null)[] = [null, null];
  let usage;
  let nullUsage = 0;
  let chunks = 0;
  for await (const c of s) {
    chunks++;
    assert.equal(c.system_fingerprint, r.system_fingerprint);
    if (c.usage) usage = c.usage;
    else if (c.usage === null) nullUsage++;
    for (const ch of c.choices) {
      text[ch.index] += ch.delta.content ?? '';
      finish[ch.index] = ch.finish_reason ?? finish[ch.index];
    }
  }
  assert.deepEqual(text, ['Hi!', 'Hi!']);
  assert.deepEqual(finish, ['stop', 'stop']);
  assert.equal(nullUsage, chunks - 1, 'every chunk but the last carries usage: null');
  assert.equal(usage!.completion_tokens, 2 * ([...' Hi!'].length + 1));
});

test('completions: token-id prompts with echo, a batch of prompts x n, bad token ids -> 400', async () => {
  const ids = [...'<|Human|>: x'].map((c) => c.codePointAt(0)!);
  const e = await client.completions.create({ model: 'moss', prompt: ids, echo: true, max_tokens: 3 });
  assert.equal(e.choices[0].text, '<|Human|>: x Hi');
  assert.equal(e.usage!.prompt_tokens, ids.length);
  assert.match(e.system_fingerprint ?? '', /^fp_moss_/);
  const b = await client.completions.create({ model: 'moss', prompt: ['a', 'b'], n: 2, max_tokens: 2, echo: true });
  assert.deepEqual(b.choices.map((c) => [c.index, c.text]), [[0, 'a H'], [1, 'a H'], [2, 'b H'], [3, 'b H']]);
  const s = await client.completions.create({ model: 'moss', prompt: [ids, [98]], max_tokens: 2, stream: true });
  const got = ['', ''];
  for await (const c of s) for (const ch of c.choices) got[ch.index] += ch.text;
  assert.deepEqual(got, [' H', ' H']);
  await assert.rejects(client.completions.create({ model: 'moss', prompt: [1, 2, 1e9] }), (x: InstanceType<typeof OpenAI.APIError>) => x.status === 400 && /outside the vocabulary/.test(x.message));
  await assert.rejects(client.completions.create({ model: 'moss', prompt: [1.5] as never }), (x: InstanceType<typeof OpenAI.APIError>) => x.status === 400 && x.param === 'prompt');
});

test('a Hub-cache model is served as org/name, not as its commit hash', () => {
  assert.equal(modelId('/home/u/.cache/huggingface/hub/models--fnlp--moss-moon-003-sft/snapshots/7119d446173035561f40977fb9cb999995bb7517'), 'fnlp/moss-moon-003-sft');
  assert.equal(modelId('/x/models/moss-tiny'), 'moss-tiny');
  assert.equal(modelId('/x/stories260K.bin'), 'stories260K');
  assert.equal(modelId('/x/tiny-q8.gguf'), 'tiny-q8');
});
