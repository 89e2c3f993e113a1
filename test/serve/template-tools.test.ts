/**
 * Constrained tool calls for chat-template (non-MOSS) models: with the real Qwen2 tokenizer and
 * the Qwen2.5 template, a stand-in model that samples random logits through the one generation step
 * (src/generate/sequence.ts) under the request's grammar still answers `tool_choice` "required" and
 * a named function with calls whose arguments validate (Ajv) against each tool's schema, and "auto"
 * with calls or plain text; the Mistral and Llama 3.1 call forms of the grammar read back through
 * the same parser (parseToolCalls).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { ChatTemplate } from '../../src/chat/template.js';
import { loadChatTemplateInfo } from '../../src/chat/template-source.js';
import { parseToolCalls } from '../../src/chat/template-turn.js';
import { MatcherCache, TokenTrie, vocabBytes, type Grammar } from '../../src/generate/constrain/index.js';
import { Sequence } from '../../src/generate/sequence.js';
import { Generator } from '../../src/tensor/index.js';
import { GREEDY, IdChannel, type Engine, type GenRequest } from '../../src/serve/engine.js';
import { startTemplateChat, type TemplateChatEvent } from '../../src/serve/template-chat.js';
import { templateCallsGrammar, type TemplateCallForm } from '../../src/serve/tool-grammar.js';
import type { ChatParams, ToolDef } from '../../src/serve/validate.js';
import type { Tokenizer } from '../../src/tokenizer/index.js';
import { sharedPath, skipUnless } from '../tokenizer/shared.js';

const QWEN = 'tokenizers/hf/qwen2';
const skip = skipUnless(`${QWEN}/tokenizer.json`, `${QWEN}/Qwen2.5-7B-Instruct.chat_template.jinja`);
let ctx: { tok: Tokenizer; matchers: MatcherCache; tpl: ChatTemplate } | undefined;
const setup = () => {
  if (ctx) return ctx;
  const tok = loadTokenizer(sharedPath(QWEN));
  const info = loadChatTemplateInfo(sharedPath(QWEN), tok);
  const tpl = new ChatTemplate({ ...info, template: readFileSync(sharedPath(`${QWEN}/Qwen2.5-7B-Instruct.chat_template.jinja`), 'utf8') });
  return (ctx = { tok, matchers: new MatcherCache(new TokenTrie(vocabBytes(tok))), tpl });
};

const noises = new Map<string, Float32Array>();
function noise(V: number, seed: number): Float32Array {
  const key = `${V}:${seed}`;
  let a = noises.get(key);
  if (!a) {
    const g = new Generator(seed);
    a = new Float32Array(V);
    for (let i = 0; i < V; i++) a[i] = 3 * g.normal();
    noises.set(key, a);
  }
  return a;
}

/** Random logits (seeded) through the one generation step, masked by the request's grammar. */
function randomModel(tok: Tokenizer, matchers: MatcherCache, seed: number): Engine {
  return {
    modelId: 'qwen-random', contextLength: 8192, tokenizer: tok, addBos: false,
    submit(req: GenRequest) {
      const ch = new IdChannel();
      const seq = new Sequence(req.promptIds, { ...req.sampling, temperature: 1, seed, maxNewTokens: req.maxNewTokens, stopIds: req.stopIds, ...(req.grammar ? { constraint: matchers.constraint(req.grammar) } : {}) });
      const V = tok.vocabSize;
      void (async () => {
        const base = noise(V, seed);
        const logits = new Float32Array(V);
        for (let step = 0; !seq.done && !req.signal?.aborted; step++) {
          const k = (step * 7919) % V; // a fresh-looking row per step: the seeded noise rotated
          logits.set(base.subarray(k));
          logits.set(base.subarray(0, k), V - k);
          ch.push([seq.pick(logits)]);
          await new Promise((r) => setImmediate(r));
        }
        ch.end(seq.done ?? 'cancelled');
      })();
      return ch;
    },
    stats: () => ({ active: 0, queued: 0, slots: 4, maxQueue: 16, tokensGenerated: 0, promptTokens: 0, steps: 0 }),
    close: async () => {},
  };
}

const TOOLS: ToolDef[] = [
  { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Berlin', 'Tokyo'] }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'], additionalProperties: false } },
  { name: 'calculator', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' }, op: { type: 'string', enum: ['add', 'sub', 'mul', 'div'] }, exact: { type: 'boolean' } }, required: ['a', 'b', 'op'], additionalProperties: false } },
];
const ajv = new Ajv({ strict: false });
const valid = (name: string, args: string) => ajv.validate(TOOLS.find((t) => t.name === name)!.parameters!, JSON.parse(args));
const params = (over: Partial<ChatParams>): ChatParams => ({ stream: false, includeUsage: false, stop: [], sampling: GREEDY, messages: [{ role: 'user', content: 'Weather in Paris, and 2+3?' }], tools: TOOLS, toolChoice: 'auto', plugins: [], maxTokens: 300, ...over });

async function all(g: AsyncGenerator<TemplateChatEvent>): Promise<TemplateChatEvent[]> {
  const out: TemplateChatEvent[] = [];
  for await (const e of g) out.push(e);
  return out;
}

test('Qwen2.5 template, random logits: tool_choice required / named give calls whose arguments validate; auto gives calls or text', { skip }, async () => {
  const { tok, matchers, tpl } = setup();
  const run = (seed: number, over: Partial<ChatParams>) => all(startTemplateChat(params(over), { engine: randomModel(tok, matchers, seed), template: tpl, defaultMaxTokens: 300 }, new AbortController().signal));
  for (const seed of [1]) {
    for (const toolChoice of ['required', { name: 'calculator' }] as const) {
      const ev = await run(seed, { toolChoice });
      const calls = ev.filter((e) => e.type === 'tool_call');
      assert.ok(calls.length >= 1, `${JSON.stringify(toolChoice)} seed ${seed}: ${JSON.stringify(ev)}`);
      for (const c of calls) {
        assert.ok(valid(c.name, c.arguments), `${c.name}(${c.arguments}): ${ajv.errorsText()}`);
        if (typeof toolChoice === 'object') assert.equal(c.name, 'calculator');
      }
      if (typeof toolChoice === 'object') assert.equal(calls.length, 1, 'a named function: one call');
      assert.equal((ev[ev.length - 1] as { reason: string }).reason, 'tool_calls');
    }
    const auto = await run(seed, { toolChoice: 'auto', maxTokens: 40 });
    for (const c of auto.filter((e) => e.type === 'tool_call')) assert.ok(valid(c.name, c.arguments), c.arguments);
    for (const c of auto.filter((e) => e.type === 'content')) assert.ok(!c.text.startsWith('<'), 'text that does not start like a call');
  }
});

test('the Mistral and Llama 3.1 call forms of the grammar read back through parseToolCalls', { skip }, async () => {
  const { tok, matchers } = setup();
  const eos = tok.eosId!;
  for (const form of ['mistral', 'json'] as TemplateCallForm[]) {
    for (const seed of [5]) {
      const grammar: Grammar = templateCallsGrammar(TOOLS, 'required', form, [eos]);
      const ids: number[] = [];
      for await (const id of randomModel(tok, matchers, seed).submit({ promptIds: [1], maxNewTokens: 400, stopIds: [eos], sampling: GREEDY, grammar })) ids.push(id);
      assert.equal(ids[ids.length - 1], eos, `${form}: ended by the grammar`);
      const text = tok.decode(ids.slice(0, -1));
      const calls = parseToolCalls(text);
      assert.ok(calls.length >= 1 && (form !== 'json' || calls.length === 1), `${form}: ${text}`);
      for (const c of calls) assert.ok(valid(c.name, c.arguments), `${form}: ${text}`);
    }
  }
});
