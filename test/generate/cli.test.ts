/**
 * `moss generate` end to end through bin/moss.js: stories260K greedy from BOS prints the expected
 * text (--json fields checked), a tokenizer-less folder works with --prompt-ids and reproduces the
 * PyTorch greedy ids, streaming text stops at --stop, and user mistakes are one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, golden, STORIES, storiesSkip } from '../models/helpers.js';
import { mossSync } from '../cli/chat-helpers.js';

const moss = (...args: string[]) => mossSync(['generate', ...args]);

test('stories260K: greedy from BOS, 200 tokens, --json', { skip: storiesSkip() }, () => {
  const r = moss('--model', join(STORIES, 'stories260K.bin'), '--prompt', '', '--max-new-tokens', '200', '--temperature', '0', '--json');
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out) as { prompt_ids: number[]; ids: number[]; text: string; finish_reason: string; usage: { prompt_tokens: number; completion_tokens: number }; timings: { prefill_tokens_per_s: number; decode_tokens_per_s: number } };
  assert.deepEqual(o.prompt_ids, [1]);
  assert.equal(o.text, readFileSync(join(STORIES, 'expected-greedy.txt'), 'utf8'));
  assert.equal(o.ids.length, 200);
  assert.equal(o.finish_reason, 'length');
  assert.deepEqual(o.usage, { prompt_tokens: 1, completion_tokens: 200 });
  assert.ok(o.timings.prefill_tokens_per_s > 0 && o.timings.decode_tokens_per_s > 0);
});

test('stories260K: streamed text stops before --stop', { skip: storiesSkip() }, () => {
  const r = moss('--model', join(STORIES, 'stories260K.bin'), '--prompt', '', '--max-new-tokens', '200', '--temperature', '0', '--stop', 'Lily');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Once upon a time, there was a little girl named \n');
});

test('a folder without a tokenizer works with --prompt-ids', () => {
  const g = golden('llama-gqa');
  const r = moss('--model', join(FIXTURES, 'llama-gqa'), '--prompt-ids', g.greedy.prompt.join(','), '--temperature', '0', '--max-new-tokens', '4', '--json');
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out) as { ids: number[]; text: null; finish_reason: string };
  assert.deepEqual(o.ids, g.greedy.ids.slice(0, 4));
  assert.equal(o.text, null);
  assert.equal(o.finish_reason, 'length');
});

test('user mistakes are one clear line', () => {
  const noTok = moss('--model', join(FIXTURES, 'moss-a'), '--prompt', 'hi');
  assert.equal(noTok.code, 1);
  assert.match(noTok.err, /^moss: generate: no tokenizer found for .*moss-a; pass --tokenizer <path> or use --prompt-ids\n$/);
  const both = moss('--model', join(FIXTURES, 'moss-a'));
  assert.match(both.err, /^moss: generate: give exactly one of --prompt or --prompt-ids\n$/);
  const bad = moss('--model', join(FIXTURES, 'moss-a'), '--prompt-ids', '1', '--temperature', 'hot');
  assert.match(bad.err, /^moss: --temperature: "hot" is not a number >= 0\n$/);
});
