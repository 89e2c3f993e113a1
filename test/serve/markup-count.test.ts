/**
 * No MOSS control markup reaches a user (#18 target): 500 sampled two-turn chats with the bundled
 * moss-tiny through a real `moss serve` and the official `openai` client, at MOSS's sampling
 * defaults (temperature 0.7, top-k 40, top-p 0.8, repetition penalty 1.02), half with the server's plugins on
 * (`moss_plugins: true`) and half off, the second turn sending the first reply back as the client
 * does. Prompts are held out by construction: the synthetic generator's evaluation split (phrasings
 * and number ranges training never draws) and the first human turns of the real held-out MOSS
 * conversations (../shared/data/moss-sft-heldout). Every reply's content (and reasoning, which a
 * client may show) is searched for control markup: MOSS's role heads, end-of-field tokens and
 * `<|endoftext|>`. The count must be 0.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { writeDocuments } from '../../src/data/docs.js';
import { synthConversations } from '../../src/data/synth-plugins.js';
import { ROOT } from '../cli/chat-helpers.js';
import { SHARED } from '../chat/shared.js';
import { spawnServe } from './helpers.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** MOSS's control markup as text: role heads, field ends, end of text. */
const MARKUP = /<\|(?:Human|MOSS|Inner Thoughts|Commands|Results|endoftext)\|>|<eo[hmtcr]>/;
const CHATS = 500;
const CLIENTS = 8;

/** Held-out prompts: the synthetic evaluation split and the real held-out first human turns. */
function heldOutPrompts(n: number): string[] {
  const docs = mkdtempSync(join(tmpdir(), 'moss-markup-docs-'));
  writeDocuments(docs);
  const synth = synthConversations(n, 4242, docs, { calc: 1, solve: 1, search: 1, image: 1, chat: 1 }, 0.5, 'eval').map((c) => {
    const h = c.record.chat.turn_1.Human ?? '';
    return h.slice(h.indexOf(':') + 1, h.lastIndexOf('<eoh>')).trim();
  });
  rmSync(docs, { recursive: true, force: true });
  const real: string[] = [];
  const dir = join(SHARED, 'data', 'moss-sft-heldout');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort()) {
      for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
        if (!l.trim()) continue;
        const h: string = JSON.parse(l).chat?.turn_1?.Human ?? '';
        const text = h.slice(h.indexOf(':') + 1, h.lastIndexOf('<eoh>')).trim();
        if (text && text.length < 400) real.push(text);
      }
    }
  }
  // interleave: every other prompt a real one while they last
  return synth.map((s, i) => (i % 2 && real.length ? real[(i >> 1) % real.length] : s));
}

const serve = await spawnServe(['--model', join(ROOT, 'models', 'moss-tiny'), '--parallel', String(CLIENTS)]);
after(() => serve.stop());
const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'none', maxRetries: 0 });

test(`${CHATS} sampled two-turn chats (plugins on and off, MOSS sampling defaults, held-out prompts): no control markup in any reply`, { timeout: 900_000 }, async (t) => {
  // what plugins-off chats used to show (the leak this counts) is caught
  assert.match('\nNone\n<eor>\n<|MOSS|>: Hello', MARKUP);
  const prompts = heldOutPrompts(2 * CHATS);
  const leaks: string[] = [];
  let replies = 0;
  let plugins = 0;
  const t0 = performance.now();
  const chat = async (i: number): Promise<void> => {
    const on = i % 2 === 0;
    const messages: OpenAI.ChatCompletionMessageParam[] = [];
    for (let turn = 0; turn < 2; turn++) {
      messages.push({ role: 'user', content: prompts[2 * i + turn] });
      const body: Any = { model: 'moss-tiny', messages, temperature: 0.7, top_p: 0.8, top_k: 40, max_tokens: 64, seed: 7919 * i + turn, repetition_penalty: 1.02, ...(on ? { moss_plugins: true } : {}) };
      const r = await client.chat.completions.create(body);
      const m = r.choices[0].message as Any;
      replies++;
      if (m.moss_plugins?.length || m.reasoning_content) plugins++;
      for (const [what, text] of [['content', m.content], ['reasoning_content', m.reasoning_content]] as const) {
        if (typeof text === 'string' && MARKUP.test(text)) leaks.push(`chat ${i} turn ${turn + 1} (plugins ${on ? 'on' : 'off'}) ${what}: ${JSON.stringify(text)}`);
      }
      messages.push({ role: 'assistant', content: m.content ?? '' });
    }
  };
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < CHATS) await chat(next++);
  }));
  const s = (performance.now() - t0) / 1000;
  t.diagnostic(`${replies} replies of ${CHATS} chats in ${s.toFixed(0)} s; ${plugins} plugins-on replies carried reasoning; ${leaks.length} with control markup`);
  assert.equal(replies, 2 * CHATS);
  assert.ok(plugins > 0, 'with plugins on, some replies wrote inner thoughts or commands (the reasoning channel was exercised)');
  assert.deepEqual(leaks.slice(0, 5), [], `${leaks.length} of ${replies} replies carry control markup`);
});
