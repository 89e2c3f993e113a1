/**
 * Every entry point starts with its documented defaults, run as a user runs it (the real
 * bin/moss.js, from a folder that is not the package): `moss serve` with no --model serves the
 * bundled moss-tiny (and an HF folder --model finds its own tokenizer), `moss chat` and
 * `moss generate` with no --model use moss-tiny, `moss chat --model x.gguf` uses the tokenizer the
 * GGUF carries. Replies carry no MOSS markup, with or without tools offered, and a prompt gets the
 * same ids (one BOS policy) from `moss generate` and `/v1/completions`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mossSync, ROOT } from './chat-helpers.js';
import { spawnServe } from '../serve/helpers.js';

const TINY = join(ROOT, 'models', 'moss-tiny');
/** moss-tiny's ids of pinned texts, from an independent BPE (dev/logprobs_reference.py). */
const IDS = (JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'serve', 'tokens-moss-tiny.json'), 'utf8')) as { encode: Record<string, number[]> }).encode;
const MARKUP = /<eo[hmtcr]>|<\|endoftext\|>|<\|(Human|MOSS|Results|Commands|Inner Thoughts)\|>/;
const cwd = mkdtempSync(join(tmpdir(), 'moss-defaults-'));
const moss = (...args: string[]) => mossSync(args, { cwd });

const serve = (...args: string[]) => spawnServe(args, cwd);

const chatReq = (url: string, body: unknown) => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ choices: { message: { content: string | null; tool_calls?: unknown[] }; finish_reason: string }[] }>);

test('moss serve with no --model serves moss-tiny: plain and tools-not-needed replies without markup; BOS as moss generate', async () => {
  const s = await serve();
  try {
    assert.equal(((await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] }).data[0].id, 'moss-tiny');
    const plain = await chatReq(s.url, { messages: [{ role: 'user', content: 'Hello! Who are you?' }], temperature: 0, max_tokens: 40 });
    const text = plain.choices[0].message.content ?? '';
    assert.ok(text.trim().length > 0 && !MARKUP.test(text) && text.trim() !== 'None', JSON.stringify(text));
    const tools = [{ type: 'function', function: { name: 'calculator', parameters: { type: 'object', properties: { expression: { type: 'string' } } } } }];
    const t = await chatReq(s.url, { messages: [{ role: 'user', content: 'Hello! Who are you?' }], tools, temperature: 0, max_tokens: 80 });
    const c = t.choices[0];
    assert.equal(c.finish_reason, 'stop');
    assert.ok(!c.message.tool_calls && (c.message.content ?? '').trim().length > 0 && !MARKUP.test(c.message.content ?? ''), `tools offered, none needed: ${JSON.stringify(c)}`);
    const comp = (await (await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hello', max_tokens: 1, temperature: 0 }) })).json()) as { usage: { prompt_tokens: number } };
    const gen = JSON.parse(moss('generate', '--prompt', 'Hello', '--max-new-tokens', '1', '--temperature', '0', '--json').out) as { prompt_ids: number[] };
    assert.equal(comp.usage.prompt_tokens, gen.prompt_ids.length, 'one BOS policy: /v1/completions = moss generate');
    assert.deepEqual(gen.prompt_ids, IDS.Hello, '"Hello" on moss-tiny, no BOS (dev/logprobs_reference.py\'s BPE)');
  } finally {
    s.stop();
  }
});

test('moss serve --model <HF folder> finds the folder\'s tokenizer', async () => {
  const s = await serve('--model', TINY);
  s.stop();
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test('moss chat with no --model, and with a GGUF (its own tokenizer): replies without markup', () => {
  const r = moss('chat', '--message', 'Hello! Who are you?', '--plugins', 'none', '--temperature', '0', '--max-new-tokens', '40', '--json');
  assert.equal(r.code, 0, r.err);
  const [t] = JSON.parse(r.out) as { moss: string }[];
  assert.ok(t.moss.trim().length > 0 && !MARKUP.test(t.moss) && t.moss.trim() !== 'None', JSON.stringify(t.moss));
  const gguf = join(cwd, 'tiny.gguf');
  const q = moss('quantize', '--model', TINY, '--type', 'q8_0', '--out', gguf);
  assert.equal(q.code, 0, q.err);
  const g = moss('chat', '--model', gguf, '--message', 'What is 23*47?', '--temperature', '0', '--max-new-tokens', '40', '--json');
  assert.equal(g.code, 0, g.err);
  const [gt] = JSON.parse(g.out) as { moss: string; commands: string | null }[];
  assert.ok(!MARKUP.test(gt.moss), gt.moss);
  rmSync(gguf);
});

test.after(() => rmSync(cwd, { recursive: true, force: true }));
