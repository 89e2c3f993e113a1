/**
 * One renderer, three callers: every conversation of ../shared/data/moss-sft* (1,120) is rendered
 * through the training path (renderSft), the chat loop (runTurn: the prompt before the model
 * writes, and the prompt before the reply once the turn's thoughts, commands and results are in)
 * and the server (POST /v1/chat/completions with the conversation as OpenAI messages, tools or
 * moss_plugins for the plugin switches, each past turn's thoughts, commands and results sent back
 * as `moss_fields`); each prompt must be a prefix of the training ids, for all 1,120. From tool
 * calls and tool messages alone the server writes commands and results in the renderer's one
 * layout, which the data's other layouts (`1. A("x")  # why`, `None.`, unquoted hits) cannot
 * round-trip: those prompts differ from the training ids only inside commands/results. The real MOSS tokenizer; its encodings are memoised so the
 * three paths share the work (the walk, not the BPE, is under test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseCommands, type Command } from '../../src/chat/commands.js';
import { checkRecord, fieldBody, recordTurns, renderSft, type SftRecord, type TurnFields } from '../../src/chat/format.js';
import { conversation, runTurn, type TokenGenerator } from '../../src/chat/loop.js';
import { parseSwitches } from '../../src/chat/meta.js';
import { loadTokenizer } from '../../src/io/load-tokenizer.js';
import { createApp } from '../../src/serve/app.js';
import { IdChannel, type Engine, type GenRequest } from '../../src/serve/engine.js';
import type { EncodeOptions, Tokenizer } from '../../src/tokenizer/types.js';
import { HAVE_SHARED, SHARED, SKIP_MSG, sftLines } from './shared.js';

const skip = !HAVE_SHARED && SKIP_MSG;

function memoised(tok: Tokenizer): Tokenizer {
  const memo = new Map<string, number[]>();
  return Object.assign(Object.create(tok) as Tokenizer, {
    encode(text: string, o?: EncodeOptions): number[] {
      const k = `${o?.special ?? 'none'}|${o?.addBos ? 1 : 0}|${text}`;
      let v = memo.get(k);
      if (!v) memo.set(k, (v = tok.encode(text, o)));
      return [...v];
    },
  });
}

/** A model that records its prompts and writes `None` commands, then a short reply. */
function recorder(tok: Tokenizer): TokenGenerator & { prompts: number[][] } {
  const prompts: number[][] = [];
  return {
    prompts,
    async *generate(promptIds, { stopIds }) {
      prompts.push([...promptIds]);
      const open = tok.decode(promptIds.slice(-8)).endsWith('<|MOSS|>:');
      for (const t of tok.encode(open ? ' ok<eom>' : '<|Inner Thoughts|>: None<eot>\n<|Commands|>: None<eoc>', { special: 'allow' })) {
        yield t;
        if (stopIds.includes(t)) return;
      }
    },
  };
}

/** The same model as a serve Engine. */
function engineOf(tok: Tokenizer, gen: ReturnType<typeof recorder>): Engine {
  return {
    modelId: 'parity', contextLength: 1 << 20, tokenizer: tok, addBos: false,
    submit(req: GenRequest) {
      const ch = new IdChannel();
      void (async () => {
        for await (const t of gen.generate(req.promptIds, { stopIds: req.stopIds, maxNewTokens: req.maxNewTokens })) ch.push([t]);
        ch.end('stop');
      })();
      return ch;
    },
    stats: () => ({ active: 0, queued: 0, slots: 1, maxQueue: 1, tokensGenerated: 0, promptTokens: 0, steps: 0 }),
    close: async () => {},
  };
}

const TOOL: Record<string, { name: string; arg: string }> = { search: { name: 'search', arg: 'query' }, calculator: { name: 'calculator', arg: 'expression' }, solver: { name: 'solver', arg: 'equation' }, text2image: { name: 'text2image', arg: 'prompt' } };
const TOOL_OF: Record<string, string> = { Search: 'search', Calculate: 'calculator', Solve: 'solver', Text2Image: 'text2image' };

/** Python-literal `'…'` / `"…"` back to text (the inverse of commands.ts pyQuote). */
function unquote(s: string): string {
  const t = s.trim();
  if (!/^(['"]).*\1$/s.test(t)) return t;
  return t.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** A results body as one tool message per command, in the data's layout (Search hits, Solve lines, a value). */
function toolContents(cmds: readonly Command[], body: string): string[] {
  const out: string[] = [];
  let rest = body.replace(/^\n/, '');
  for (const [i, c] of cmds.entries()) {
    const next = cmds[i + 1];
    const head = rest.indexOf(' =>');
    let end = rest.length;
    if (next) {
      const at = rest.indexOf(`\n${next.name}(`, head);
      if (at >= 0) end = at + 1;
    }
    const chunk = rest.slice(head + 3, end);
    rest = rest.slice(end);
    if (c.name === 'Search') out.push(chunk.split('\n').filter((l) => /^<\|\d+\|>: /.test(l)).map((l) => unquote(l.replace(/^<\|\d+\|>: /, ''))).join('\n'));
    else if (c.name === 'Solve') out.push(chunk.replace(/^\n/, '').replace(/\n$/, ''));
    else out.push(unquote(chunk));
  }
  return out;
}

/** A stored field's raw body (between header and end token, as the model saw it), by `moss_fields` name. */
const RAW: Record<string, [string, string, string]> = { 'Inner Thoughts': ['Inner Thoughts', '<|Inner Thoughts|>:', '<eot>\n'], Commands: ['Commands', '<|Commands|>:', '<eoc>\n'], Results: ['Tool Responses', '<|Results|>:', '<eor>\n'] };
function rawFields(t: TurnFields, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => {
    const [field, head, end] = RAW[n];
    const text = t[field as keyof TurnFields]!;
    assert.ok(text.startsWith(head) && text.endsWith(end), text);
    return [n, text.slice(head.length, -end.length)];
  }));
}

/**
 * The record's turns before `k` and turn k's question, as OpenAI messages; `verbatim`: each past turn's
 * thoughts and commands also as `moss_fields` of its tool-call message, its results (all three without
 * tool calls) on its reply, as the server returns them.
 */
function messages(turns: readonly TurnFields[], k: number, verbatim = false): unknown[] {
  const m: unknown[] = [];
  turns.slice(0, k).forEach((t, j) => {
    m.push({ role: 'user', content: fieldBody('Human', t.Human!) });
    const cmds = parseCommands(fieldBody('Commands', t.Commands ?? ''));
    if (cmds.length) {
      const calls = cmds.map((c, i) => ({ id: `c${j}_${i}`, type: 'function', function: { name: TOOL[TOOL_OF[c.name]]?.name ?? c.name, arguments: JSON.stringify({ [TOOL[TOOL_OF[c.name]]?.arg ?? 'input']: c.arg }) } }));
      m.push({ role: 'assistant', content: null, reasoning_content: fieldBody('Inner Thoughts', t['Inner Thoughts']!), tool_calls: calls, ...(verbatim ? { moss_fields: rawFields(t, ['Inner Thoughts', 'Commands']) } : {}) });
      toolContents(cmds, fieldBody('Tool Responses', t['Tool Responses']!)).forEach((content, i) => m.push({ role: 'tool', tool_call_id: `c${j}_${i}`, content }));
    }
    const thoughts = fieldBody('Inner Thoughts', t['Inner Thoughts']!);
    const fields = verbatim ? { moss_fields: rawFields(t, cmds.length ? ['Results'] : ['Inner Thoughts', 'Commands', 'Results']) } : {};
    m.push({ role: 'assistant', content: fieldBody('MOSS', t.MOSS!), ...(!cmds.length && thoughts !== 'None' ? { reasoning_content: thoughts } : {}), ...fields });
  });
  m.push({ role: 'user', content: fieldBody('Human', turns[k].Human!) });
  return m;
}

const prefixOf = (p: readonly number[], ids: readonly number[]): boolean => p.length <= ids.length && p.every((x, i) => x === ids[i]);

test('training, chat loop and server render all 1,120 conversations to the same ids', { skip }, async (t) => {
  const tok = memoised(loadTokenizer(join(SHARED, 'tokenizers', 'moss')));
  const records: SftRecord[] = sftLines().map((l) => checkRecord(l.json));
  assert.equal(records.length, 1120);
  const gen = recorder(tok);
  const app = createApp({ engine: engineOf(tok, gen), defaultMaxTokens: 4, historyDir: join(SHARED, 'nonexistent-unused') });
  let serverFull = 0;
  let withTools = 0;
  for (const r of records) {
    const ids = renderSft(r, tok, { maxLen: Infinity })!.inputIds;
    const turns = recordTurns(r);
    const k = turns.length - 1; // the last turn carries the whole history
    const sw = parseSwitches(r.meta_instruction);
    const tools = sw.search || sw.calculator || sw.solver || sw.text2image;
    const at = `conversation ${r.conversation_id} (${r.category})`;

    // chat loop: the prompt the model continues for the last question …
    gen.prompts.length = 0;
    await runTurn(conversation(sw, turns.slice(0, k), fieldBody('Human', turns[k].Human!)), { model: gen, tokenizer: tok, maxContext: 1 << 20 });
    const loop = gen.prompts[0];
    assert.ok(prefixOf(loop, ids), `${at}: chat loop prompt is not a prefix of the training ids`);
    assert.ok(tok.decode(loop).endsWith(tools ? `${turns[k].Human}` : '<|MOSS|>:'), at);
    // … and the one before the reply, with the turn's thoughts, commands and results in place
    gen.prompts.length = 0;
    const { MOSS: _, ...current } = turns[k];
    await runTurn({ ...conversation(sw, turns.slice(0, k), ''), current }, { model: gen, tokenizer: tok, maxContext: 1 << 20 });
    assert.ok(prefixOf(gen.prompts[0], ids) && tok.decode(gen.prompts[0]).endsWith('<|MOSS|>:'), `${at}: reply prompt`);
    assert.equal(ids[gen.prompts[0].length], tok.encode(` ${fieldBody('MOSS', turns[k].MOSS!)}<eom>`)[0], `${at}: the reply follows`);

    // server: the same conversation as OpenAI messages (tools for the switches), and with the server running the plugins
    const toolDefs = tools ? { tools: Object.keys(TOOL).filter((t) => sw[t as keyof typeof sw]).map((t) => ({ type: 'function', function: { name: TOOL[t].name, parameters: { type: 'object', properties: { [TOOL[t].arg]: { type: 'string' } } } } })) } : {};
    const plugins = { moss_plugins: Object.keys(TOOL).filter((n) => sw[n as keyof typeof sw]) };
    const serve = async (body: object): Promise<number[]> => {
      gen.prompts.length = 0;
      const res = await app.fetch(new Request('http://x/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ max_tokens: 4, ...body }) }));
      assert.equal(res.status, 200, `${at}: ${await res.clone().text()}`);
      await res.text();
      return gen.prompts[0];
    };
    // with each turn's fields sent back verbatim (moss_fields): the training ids, for every conversation
    const exact = messages(turns, k, true);
    assert.ok(prefixOf(await serve({ messages: exact, ...toolDefs }), ids), `${at}: server prompt (moss_fields) is not a prefix of the training ids`);
    if (tools) assert.ok(prefixOf(await serve({ messages: exact, ...plugins }), ids), `${at}: moss_plugins prompt (moss_fields) is not a prefix of the training ids`);
    // from OpenAI fields alone: tool calls and tool messages re-rendered in the renderer's layout
    const served = await serve({ messages: messages(turns, k), ...toolDefs });
    if (tools) assert.deepEqual(await serve({ messages: messages(turns, k), ...plugins }), served, `${at}: moss_plugins prompt = tools prompt`);
    const toolish = turns.slice(0, k).some((t) => fieldBody('Commands', t.Commands!) !== 'None');
    if (toolish) withTools++;
    if (prefixOf(served, ids)) serverFull++;
    else {
      assert.ok(toolish, `${at}: server prompt is not a prefix of the training ids (no commands in its history)`);
      // the server writes commands as `A("x"), B("y")` and results in one layout; the data has others
      // (`1. A("x")  # why`, `None.`, unquoted hits): the same ids up to there
      const first = served.findIndex((x, i) => x !== ids[i]);
      const upTo = tok.decode(ids.slice(0, first));
      assert.ok(/<\|Commands\|>:[^<]*$/.test(upTo) || /<\|Results\|>:[^]*$/.test(upTo.slice(upTo.lastIndexOf('<|Commands|>:'))), `${at}: server prompt differs outside commands/results: …${JSON.stringify(upTo.slice(-80))}`);
    }
  }
  // most histories with tool calls round-trip exactly through OpenAI messages too
  assert.ok(serverFull >= 1120 - withTools / 2, `server = training for ${serverFull} of 1120 (${withTools} with commands in the history)`);
  t.diagnostic(`server prompt = training prefix for 1120/1120 conversations with moss_fields; from tool calls and tool messages alone for ${serverFull}/1120 (${withTools} with tool calls in their history)`);
});
