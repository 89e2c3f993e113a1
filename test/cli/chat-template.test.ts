/**
 * Non-MOSS models chat through their own chat template, run as a user runs them (the real
 * bin/moss.js): stories260K (llama2.c, context 512, no template) chats with `moss chat` and
 * `moss serve` through the plain fallback — the commands of README's "Chat with other models",
 * whose output is checked here as printed there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mossSync, ROOT } from './chat-helpers.js';
import { skipUnless } from '../tokenizer/shared.js';
import { spawnServe } from '../serve/helpers.js';

const STORIES = join('..', 'shared', 'models', 'stories260K', 'stories260K.bin');
const skip = skipUnless('models/stories260K/stories260K.bin', 'models/stories260K/tok512.bin');
const moss = (...args: string[]) => mossSync(args, { cwd: ROOT });

test('README: moss chat --model stories260K (no chat template: the plain fallback)', { skip }, () => {
  const r = moss('chat', '--model', STORIES, '--message', 'Once upon a time', '--temperature', '0', '--max-new-tokens', '30');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '<|Human|>: Once upon a time\nMOSS: , there was a little girl named Lily. She loved to play outside in the park. One day,\n');
  const j = moss('chat', '--model', STORIES, '--message', 'Once upon a time', '--message', 'What happened next?', '--temperature', '0', '--max-new-tokens', '30', '--json');
  assert.equal(j.code, 0, j.err);
  const turns = JSON.parse(j.out) as { human: string; moss: string }[];
  assert.equal(turns.length, 2);
  assert.equal(turns[1].human, 'What happened next?');
  assert.ok(turns[1].moss.length > 0);
});

test('README: moss serve --model stories260K answers /v1/chat/completions through the plain fallback', { skip }, async () => {
  const { url, stdout, stop } = await spawnServe(['--model', STORIES], ROOT);
  try {
    assert.match(stdout, /model stories260K, 4 slots, context 512/);
    const post = (body: unknown) => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const r = await post({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 30, temperature: 0 });
    assert.equal(r.status, 200);
    const j = (await r.json()) as { choices: { message: { content: string }; finish_reason: string }[]; usage: { prompt_tokens: number } };
    assert.equal(j.choices[0].message.content, ', there was a little girl named Lily. She loved to play outside in the park. One day,');
    assert.equal(j.usage.prompt_tokens, 5); // BOS + 4 pieces, not the MOSS meta instruction's 927
    const t = await post({ messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] });
    assert.equal(t.status, 400);
    assert.match(((await t.json()) as { error: { message: string } }).error.message, /has no chat template .* cannot be offered tools/);
  } finally {
    stop();
  }
});
