/**
 * One chat completion as a stream of events (reasoning text, reply text, tool calls, plugin steps,
 * the finish), independent of how it is sent (JSON or SSE, ./openai.ts). Three modes:
 *  - plain: the prompt ends with `<|MOSS|>:`, the model writes the reply until `<eom>`;
 *  - client tools: the model writes thoughts and `<|Commands|>: Name("arg")<eoc>`, returned as
 *    `tool_calls`; after the client's `tool` messages the model writes the reply;
 *  - server plugins (`moss_plugins`): src/chat's plugin loop runs MOSS's plugins here.
 * Admission (queue full -> 429) happens synchronously in `startChat`, before any byte is sent.
 * Deliberately no HTTP here.
 */
import { chatTurn, type TokenGenerator } from '../chat/loop.js';
import { fieldBody, type TurnFields } from '../chat/format.js';
import { ALL_OFF, type PluginSwitches } from '../chat/meta.js';
import type { Plugin } from '../plugins/types.js';
import { QueueFullError, type Engine, type FinishReason, type SamplingParams, type TokenStream } from './engine.js';
import { ApiError } from './errors.js';
import { commandsToCalls, parseCommands, renderChat, toolMap, type ToolMap } from './prompt.js';
import { FieldStream, StopStrings } from './text-stream.js';
import type { ChatMessage, ChatParams } from './validate.js';

export type ChatEvent =
  | { readonly type: 'reasoning'; readonly text: string; readonly field: string }
  | { readonly type: 'content'; readonly text: string }
  | { readonly type: 'tool_call'; readonly index: number; readonly id: string; readonly name: string; readonly arguments: string }
  | { readonly type: 'finish'; readonly reason: 'stop' | 'length' | 'tool_calls'; readonly promptTokens: number; readonly completionTokens: number };

export interface ChatDeps {
  readonly engine: Engine;
  readonly plugins: ReadonlyMap<string, Plugin>;
  /** Default max new tokens when the request gives none. */
  readonly defaultMaxTokens: number;
  readonly pluginTimeoutMs?: number;
}

/** 429 with Retry-After when the engine cannot take another request. */
export function busy(e: QueueFullError): ApiError {
  return new ApiError(429, e.message, 'server_busy', null, 'queue_full', { 'retry-after': String(e.retryAfterS) });
}

function admitCheck(engine: Engine): void {
  const s = engine.stats();
  if (s.active >= s.slots && s.queued >= s.maxQueue) throw busy(new QueueFullError(1));
}

/** Counts ids and forwards them as text; aborting `ac` ends the engine stream. */
async function* texts(stream: TokenStream, engine: Engine, count: { n: number }): AsyncGenerator<string> {
  const dec = engine.tokenizer.streamDecoder();
  for await (const id of stream) {
    count.n++;
    const s = dec.push(id);
    if (s) yield s;
  }
  const rest = dec.flush();
  if (rest) yield rest;
}

const finishOf = (r: FinishReason): 'stop' | 'length' => (r === 'length' ? 'length' : 'stop');

/**
 * Validates the prompt against the context, admits the request and returns its event stream.
 * Throws ApiError (400 prompt too long, 429 busy) before anything is generated.
 */
export function startChat(p: ChatParams, deps: ChatDeps, signal: AbortSignal): AsyncGenerator<ChatEvent> {
  if (p.plugins.length) {
    if (p.messages[p.messages.length - 1].role !== 'user') throw new ApiError(400, 'with moss_plugins the last message must be from the user', 'invalid_request_error', 'messages');
    admitCheck(deps.engine);
    return pluginChat(p, deps, signal);
  }
  const { engine } = deps;
  const tools = toolMap(p.tools, p.toolChoice);
  let r;
  try {
    r = renderChat(p.messages, engine.tokenizer, tools, p.toolChoice);
  } catch (e) {
    throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'messages', 'invalid_value');
  }
  const room = engine.contextLength - r.ids.length;
  if (room < 1) throw new ApiError(400, `the prompt has ${r.ids.length} tokens, which does not fit the context of ${engine.contextLength} tokens`, 'invalid_request_error', 'messages', 'context_length_exceeded');
  const maxNew = Math.min(p.maxTokens ?? deps.defaultMaxTokens, room);
  const ac = new AbortController();
  const sig = AbortSignal.any([signal, ac.signal]);
  const eom = engine.tokenizer.tokenToId('<eom>');
  const eoc = engine.tokenizer.tokenToId('<eoc>');
  const eos = engine.tokenizer.eosId;
  const stopIds = [eom, eos, ...(r.end === 'turn' ? [eoc] : [])].filter((x): x is number => x !== undefined && x !== null);
  let stream: TokenStream;
  try {
    stream = engine.submit({ promptIds: r.ids, maxNewTokens: maxNew, stopIds, sampling: p.sampling, signal: sig });
  } catch (e) {
    if (e instanceof QueueFullError) throw busy(e);
    throw e;
  }
  return toolChat(p, stream, r.end === 'reply', r.forcedPrefix, tools, engine, r.ids.length, ac);
}

async function* toolChat(p: ChatParams, stream: TokenStream, reply: boolean, forced: string, tools: ToolMap, engine: Engine, promptTokens: number, ac: AbortController): AsyncGenerator<ChatEvent> {
  const fs = new FieldStream(reply ? 'MOSS' : forced ? 'Commands' : undefined);
  const stops = new StopStrings(p.stop);
  const count = { n: 0 };
  let commands = forced ? forced.slice(forced.indexOf('<|Commands|>:') + '<|Commands|>: '.length) : '';
  let sawReply = false;
  const emit = function* (pieces: ReturnType<FieldStream['push']>): Generator<ChatEvent> {
    for (const f of pieces) {
      if (f.field === 'MOSS') {
        sawReply = true;
        const t = stops.push(f.text);
        if (t) yield { type: 'content', text: t };
        if (f.closed) {
          const rest = stops.flush();
          if (rest) yield { type: 'content', text: rest };
        }
        if (stops.stopped) ac.abort();
      } else if (f.field === 'Commands') commands += f.text;
      else if (f.text) yield { type: 'reasoning', text: f.text, field: f.field };
    }
  };
  try {
    for await (const t of texts(stream, engine, count)) {
      yield* emit(fs.push(t));
      if (stops.stopped) break;
    }
    yield* emit(fs.end());
    const rest = stops.flush();
    if (rest) yield { type: 'content', text: rest };
  } finally {
    ac.abort();
  }
  const reason = stops.stopped ? 'stop' : finishOf(await stream.finish);
  const calls = sawReply ? [] : commandsToCalls(parseCommands(commands), tools);
  const id = Date.now().toString(36);
  for (const [i, c] of calls.entries()) yield { type: 'tool_call', index: i, id: `call_${id}_${i}`, name: c.name, arguments: c.arguments };
  yield { type: 'finish', reason: calls.length ? 'tool_calls' : reason, promptTokens, completionTokens: count.n };
}

const SWITCH_NAMES: Record<string, keyof PluginSwitches> = { search: 'search', calculator: 'calculator', solver: 'solver', text2image: 'text2image', inner_thoughts: 'innerThoughts' };

/** Past user/assistant pairs as plain MOSS turns (plugin mode keeps no tool history from the client). */
function history(messages: readonly ChatMessage[]): TurnFields[] {
  const turns: TurnFields[] = [];
  for (const m of messages) {
    if (m.role === 'user') turns.push({ Human: `<|Human|>: ${m.content}<eoh>\n` });
    else if (m.role === 'assistant' && turns.length) turns[turns.length - 1].MOSS = `<|MOSS|>: ${m.content}<eom>\n`;
  }
  return turns;
}

async function* pluginChat(p: ChatParams, deps: ChatDeps, signal: AbortSignal): AsyncGenerator<ChatEvent> {
  const { engine } = deps;
  const last = p.messages[p.messages.length - 1];
  const switches: Record<keyof PluginSwitches, boolean> = { ...ALL_OFF };
  for (const n of p.plugins) switches[SWITCH_NAMES[n]] = true;
  const count = { n: 0, prompt: 0 };
  const events: ChatEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (e: ChatEvent): void => { events.push(e); wake?.(); };
  const model: TokenGenerator = {
    async *generate(promptIds, o) {
      count.prompt += promptIds.length;
      const s = engine.submit({ promptIds, maxNewTokens: o.maxNewTokens, stopIds: o.stopIds, sampling: p.sampling as SamplingParams, signal: o.signal, admit: false });
      for await (const id of s) { count.n++; yield id; }
    },
  };
  const fs = new FieldStream();
  const plugins = new Map<string, Plugin>();
  for (const [name, pl] of deps.plugins) {
    plugins.set(name, { name, run: async (arg, o) => {
      const r = await pl.run(arg, o);
      const text = r.kind === 'value' ? r.text : r.kind === 'lines' ? r.lines.join('\n') : r.kind === 'hits' ? r.hits.map((h) => h.snippet).join('\n') : r.files.join('\n');
      push({ type: 'reasoning', field: 'Results', text: `${name}("${arg}") => ${text}\n` });
      return r;
    } });
  }
  const hist = history(p.messages.slice(0, -1));
  let done = false;
  let failure: unknown;
  let turn: TurnFields | undefined;
  void chatTurn(hist, last.content, {
    model, tokenizer: engine.tokenizer, plugins, switches, maxContext: engine.contextLength,
    maxNewTokens: p.maxTokens ?? deps.defaultMaxTokens, pluginTimeoutMs: deps.pluginTimeoutMs, signal,
    onEvent: (e) => {
      if (e.type === 'text') for (const f of fs.push(e.text)) push(f.field === 'MOSS' ? { type: 'content', text: f.text } : { type: 'reasoning', field: f.field, text: f.text });
      else if (!e.ok) push({ type: 'reasoning', field: 'Results', text: `${e.name}("${e.arg}") => No result. (${e.message ?? ''})\n` });
    },
  }).then((t) => { turn = t; }, (e) => { failure = e; }).finally(() => { done = true; wake?.(); });
  for (;;) {
    while (events.length) yield events.shift()!;
    if (done) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  for (const f of fs.end()) yield f.field === 'MOSS' ? { type: 'content', text: f.text } : { type: 'reasoning', field: f.field, text: f.text };
  if (failure) {
    if (signal.aborted) return;
    throw new ApiError(400, (failure as Error).message, 'invalid_request_error', 'messages');
  }
  if (turn?.MOSS && !fieldBody('MOSS', turn.MOSS) && signal.aborted) return;
  yield { type: 'finish', reason: 'stop', promptTokens: count.prompt, completionTokens: count.n };
}
