/**
 * `logprobs` / `top_logprobs` (#14 item 5) with the official `openai` client against a real
 * `moss serve` (the CLI binary, the bundled moss-tiny, loopback). The prompt log-probabilities of
 * `/v1/completions` with `echo` (what lm-evaluation-harness's loglikelihood reads) and the greedy
 * next token's equal an independent PyTorch forward over the same weights
 * (dev/logprobs_reference.py -> test/fixtures/serve/logprobs-moss-tiny.json); generated tokens'
 * values (the decode step) equal the same tokens scored as an echoed prompt (the prefill); streamed
 * answers carry the same entries as whole ones; chat entries spell the reply.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ROOT } from '../cli/chat-helpers.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { spawnServe } from './helpers.js';

interface Golden { ids: number[]; top: number; prompt: { logprob: number; top: [number, number][] }[]; next: { id: number; logprob: number; top: [number, number][] } }
const g = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'serve', 'logprobs-moss-tiny.json'), 'utf8')) as Golden;
/** `<|Human|>: What is 2 plus 3?<eoh>` in moss-tiny's ids, from the same reference BPE (dev/logprobs_reference.py). */
const human = (JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'serve', 'tokens-moss-tiny.json'), 'utf8')) as { encode: Record<string, number[]> }).encode['<|Human|>: What is 2 plus 3?<eoh>'];
const serve = await spawnServe(['--model', join(ROOT, 'models', 'moss-tiny')]);
after(() => serve.stop());
const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'none', maxRetries: 0 });
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 2e-3 + 1e-4 * Math.abs(b), `${what}: ${a} vs ${b}`);
const values = (top: Record<string, number> | null | undefined) => Object.values(top ?? {}).sort((a, b) => b - a);

test('completions echo + logprobs 5: prompt and next-token log-probabilities equal PyTorch (dev/logprobs_reference.py), twice (no prefix-cache shortcut)', async () => {
  for (let round = 0; round < 2; round++) {
    const r = await client.completions.create({ model: 'moss-tiny', prompt: g.ids, echo: true, logprobs: 5, max_tokens: 1, temperature: 0 });
    const c = r.choices[0];
    const lp = c.logprobs!;
    assert.equal(lp.tokens!.length, g.ids.length + 1);
    assert.equal(lp.token_logprobs![0], null);
    assert.equal(lp.top_logprobs![0], null);
    for (let t = 1; t < g.ids.length; t++) {
      close(lp.token_logprobs![t]!, g.prompt[t - 1].logprob, `prompt token ${t}`);
      const want = g.prompt[t - 1].top.map(([, v]) => v);
      values(lp.top_logprobs![t]).forEach((v, k) => close(v, want[k], `prompt token ${t} top ${k}`)); // keys are token strings (distinct ids may share one)
    }
    close(lp.token_logprobs![g.ids.length]!, g.next.logprob, 'greedy next token');
    values(lp.top_logprobs![g.ids.length]).forEach((v, k) => close(v, g.next.top[k][1], `next top ${k}`));
    assert.equal(lp.tokens!.join(''), c.text, 'the tokens spell the text');
    lp.text_offset!.forEach((o, i) => assert.equal(o, lp.tokens!.slice(0, i).join('').length, `text_offset ${i}`));
  }
});

test('completions: generated tokens (decode step) score like the same tokens echoed (prefill); stream = non-stream', async () => {
  const prompt = human; // `<|Human|>: What is 2 plus 3?<eoh>`
  assert.deepEqual(g.ids.slice(0, prompt.length), prompt, 'the human turn opens the golden ids');
  const gen = await client.completions.create({ model: 'moss-tiny', prompt, logprobs: 3, max_tokens: 8, temperature: 0 });
  const glp = gen.choices[0].logprobs!;
  assert.ok(glp.tokens!.length >= 1 && glp.tokens!.length <= 8);
  // score prompt + generated ids as one echoed prompt: the prefill's values of the tail equal the decode step's
  const tok = loadTokenizer(join(ROOT, 'models', 'moss-tiny'));
  const out = tok.encode(gen.choices[0].text);
  assert.deepEqual(out.map((id) => tok.decode([id])), glp.tokens, 'the generated text re-encodes to the same tokens');
  const scored = (await client.completions.create({ model: 'moss-tiny', prompt: [...prompt, ...out], echo: true, logprobs: 3, max_tokens: 1, temperature: 0 })).choices[0].logprobs!;
  glp.token_logprobs!.forEach((v, i) => close(scored.token_logprobs![prompt.length + i]!, v!, `generated token ${i}: prefill vs decode`));
  const again = await client.completions.create({ model: 'moss-tiny', prompt, logprobs: 3, max_tokens: 8, temperature: 0, stream: true });
  const parts: { tokens: string[]; lps: (number | null)[] } = { tokens: [], lps: [] };
  let text = '';
  for await (const ch of again) {
    for (const c of ch.choices) {
      text += c.text;
      parts.tokens.push(...(c.logprobs?.tokens ?? []));
      parts.lps.push(...(c.logprobs?.token_logprobs ?? []));
    }
  }
  assert.equal(text, gen.choices[0].text);
  assert.deepEqual(parts.tokens, glp.tokens);
  parts.lps.forEach((v, i) => close(v!, glp.token_logprobs![i]!, `streamed token ${i}`));
  // greedy: every generated token is its position's most likely one
  glp.token_logprobs!.forEach((v, i) => close(v!, values(glp.top_logprobs![i])[0], `greedy token ${i} is the top one`));
});

test('chat logprobs + top_logprobs 3: entries spell the reply, top ones sorted and the greedy pick first; stream = non-stream; top_logprobs 21 -> 400', async () => {
  const req = { model: 'moss-tiny', messages: [{ role: 'user' as const, content: 'What is 2 plus 3?' }], logprobs: true, top_logprobs: 3, max_tokens: 12, temperature: 0 };
  const r = await client.chat.completions.create(req);
  const c = r.choices[0];
  const content = c.logprobs!.content!;
  assert.ok(content.length >= 1, JSON.stringify(c));
  assert.equal(content.map((e) => e.token).join('').replace(/^ /, ''), c.message.content, 'the entries spell the reply (the format drops one space after the header)');
  for (const e of content) {
    assert.deepEqual(e.bytes, [...Buffer.from(e.token)]);
    assert.equal(e.top_logprobs.length, 3);
    const tops = e.top_logprobs.map((x) => x.logprob);
    assert.deepEqual(tops, [...tops].sort((a, b) => b - a));
    close(e.logprob, tops[0], `greedy ${JSON.stringify(e.token)}`);
  }
  const s = await client.chat.completions.create({ ...req, stream: true });
  const streamed: typeof content = [];
  let text = '';
  for await (const ch of s) {
    text += ch.choices[0]?.delta.content ?? '';
    streamed.push(...(ch.choices[0]?.logprobs?.content ?? []));
  }
  assert.equal(text, c.message.content);
  assert.deepEqual(streamed.map((e) => e.token), content.map((e) => e.token));
  streamed.forEach((e, i) => close(e.logprob, content[i].logprob, `streamed ${i}`));
  const plain = await client.chat.completions.create({ ...req, logprobs: false, top_logprobs: undefined });
  assert.equal(plain.choices[0].logprobs, null);
  await assert.rejects(client.chat.completions.create({ ...req, top_logprobs: 21 }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === 'top_logprobs');
  await assert.rejects(client.completions.create({ model: 'moss-tiny', prompt: 'x', logprobs: 21 }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === 'logprobs');
});
