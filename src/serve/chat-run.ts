/**
 * One chat completion as a stream of events (reasoning text, reply text, tool calls, the finish),
 * independent of how it is sent (JSON or SSE, ./openai.ts). Every mode is src/chat's one turn
 * (`runTurn`) over the one renderer, so the prompt and the reading back are those of training
 * and `moss chat`:
 *  - plain: the None fields are forced and the model writes `<|MOSS|>: …`;
 *  - client tools: the model writes thoughts and `<|Commands|>: Name("arg")`, returned as
 *    `tool_calls`; a `None` command goes on to the reply, as in the chat loop;
 *  - server plugins (`moss_plugins`): MOSS's plugins run here.
 * Admission (queue full -> 429) and the prompt length (400) are checked synchronously in
 * `startChat`, before any byte is sent. Deliberately no HTTP here.
 */
import type { Command } from '../chat/commands.js';
import { encodeSegments, rawBody, turnSegments } from '../chat/format.js';
import { pluginRunner, runTurn, type Conversation, type LoopEvent, type TokenGenerator, type TurnOptions } from '../chat/loop.js';
import { messagesConversation } from '../chat/messages.js';
import { ALL_OFF, PLUGIN_SWITCH, type PluginSwitches, type QualityTag } from '../chat/meta.js';
import type { Plugin } from '../plugins/types.js';
import { QueueFullError, type Engine, type SamplingParams } from './engine.js';
import { ApiError } from './errors.js';
import { callToCommand, commandsToCalls, toolMap } from './prompt.js';
import { StopStrings } from '../generate/stop.js';
import type { ChatParams } from './validate.js';
import type { ChatTemplate } from '../chat/template.js';
import { startTemplateChat } from './template-chat.js';
import type { Grammar } from '../generate/constrain/grammar.js';
import { checkSchemas, commandsGrammar, forcedCommand, formatGrammar, turnIds } from './tool-grammar.js';
import { ChatLogprobTap, type ChatLogprob } from './logprobs.js';

export type ChatEvent =
  | { readonly type: 'reasoning'; readonly text: string; readonly field: string }
  /** Reply text; `logprobs`: entries of the reply tokens read since the previous content event (when asked). */
  | { readonly type: 'content'; readonly text: string; readonly logprobs?: ChatLogprob[] }
  | { readonly type: 'tool_call'; readonly index: number; readonly id: string; readonly name: string; readonly arguments: string }
  /** A server-side plugin ran (moss_plugins): its command and, when it failed, why (timeout, too large, ...). */
  | { readonly type: 'plugin'; readonly name: string; readonly arguments: string; readonly ok: boolean; readonly error?: string }
  /** `fields`: the turn's thoughts, commands and results as raw bodies by `moss_field` name (when the model wrote them), to send back verbatim. */
  | { readonly type: 'finish'; readonly reason: 'stop' | 'length' | 'tool_calls'; readonly promptTokens: number; readonly completionTokens: number; readonly fields?: Record<string, string> };

export interface ChatDeps {
  readonly engine: Engine;
  readonly plugins: ReadonlyMap<string, Plugin>;
  /** Default max new tokens when the request gives none. */
  readonly defaultMaxTokens: number;
  readonly pluginTimeoutMs?: number;
  /** A non-MOSS model's chat template (./template-chat.ts); absent: the MOSS format. */
  readonly template?: ChatTemplate;
  /** Quality tag of a steer-trained model, ending the MOSS meta instruction. */
  readonly quality?: QualityTag;
}

/** 429 with Retry-After when the engine cannot take another request. */
export function busy(e: QueueFullError): ApiError {
  return new ApiError(429, e.message, 'server_busy', null, 'queue_full', { 'retry-after': String(e.retryAfterS) });
}

/** Throws 429 when every slot is busy and the queue is full. */
export function admitCheck(engine: Engine): void {
  const s = engine.stats();
  if (s.active >= s.slots && s.queued >= s.maxQueue) throw busy(new QueueFullError(1));
}

/** Grammars of a MOSS turn: the first phase of a tools turn (its stops hold `<eoc>`) and the reply. */
export interface TurnGrammars {
  readonly eoc: number;
  readonly commands?: Grammar;
  readonly reply?: Grammar;
}

/** The engine as the chat loop's model (an admitted request: no second queue check), constrained by `grammars`;
 *  with `lp`, every generation asks for log-probabilities (`lp.top` alternatives) and is tracked by `lp.tap`. */
export function engineModel(engine: Engine, sampling: SamplingParams, grammars?: TurnGrammars, lp?: { top: number; tap: ChatLogprobTap }): TokenGenerator {
  return {
    generate: (promptIds, o) => {
      const grammar = grammars ? (o.stopIds.includes(grammars.eoc) ? grammars.commands : grammars.reply) : undefined;
      const s = engine.submit({ promptIds, maxNewTokens: o.maxNewTokens, stopIds: o.stopIds, sampling, signal: o.signal, admit: false, ...(grammar ? { grammar } : {}), ...(lp ? { logprobs: lp.top } : {}) });
      return lp ? lp.tap.track(s) : s;
    },
  };
}

/** `moss_field` names of the SSE reasoning chunks. */
const FIELD_NAME: Record<string, string> = { 'Tool Responses': 'Results' };

/**
 * Validates the prompt against the context, admits the request and returns its event stream.
 * Throws ApiError (400 bad messages or prompt too long, 429 busy) before anything is generated.
 */
export function startChat(p: ChatParams, deps: ChatDeps, signal: AbortSignal): AsyncGenerator<ChatEvent> {
  if (deps.template) return startTemplateChat(p, { engine: deps.engine, template: deps.template, defaultMaxTokens: deps.defaultMaxTokens }, signal);
  const { engine } = deps;
  const tools = toolMap(p.plugins.length ? [] : p.tools, p.toolChoice);
  const switches: Record<keyof PluginSwitches, boolean> = { ...(p.plugins.length ? ALL_OFF : tools.switches) };
  for (const n of p.plugins) switches[PLUGIN_SWITCH[n]] = true;
  if (p.plugins.length && !p.tools.length) switches.innerThoughts ||= p.plugins.some((n) => n !== 'inner_thoughts');
  let conv: Conversation;
  try {
    conv = messagesConversation(p.messages, { switches, extraLines: tools.extraLines, toCommand: (c) => callToCommand(c, tools), quality: deps.quality });
  } catch (e) {
    throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'messages', 'invalid_value');
  }
  const tok = engine.tokenizer;
  const n = [...conv.meta, ...conv.history.flatMap((t) => turnSegments(t)), ...turnSegments(conv.current)];
  const size = encodeSegments(tok, n).ids.length;
  if (size + 1 > engine.contextLength) throw new ApiError(400, `the prompt has ${size} tokens, which does not fit the context of ${engine.contextLength} tokens`, 'invalid_request_error', 'messages', 'context_length_exceeded');
  const relay: { onEvent?: (e: LoopEvent) => void } = {};
  const choice = p.toolChoice;
  const offered = [...tools.byCommand.values()];
  checkSchemas(offered, p.responseFormat);
  const ids = turnIds(tok);
  let grammars: TurnGrammars | undefined;
  if (ids && (offered.length || p.responseFormat)) {
    grammars = {
      eoc: ids.eoc,
      commands: offered.length ? commandsGrammar(tools, choice, ids, p.parallelToolCalls ?? true) : undefined,
      reply: p.responseFormat ? formatGrammar(p.responseFormat, [ids.eom]) : undefined,
    };
  }
  admitCheck(engine);
  return chat(p, deps, conv, signal, {
    grammars,
    forceCommand: offered.length ? forcedCommand(tools, choice) : undefined,
    // client tools: calls of offered tools go back to the client; a command for no offered tool fails and the model replies
    run: p.plugins.length ? pluginRunner({ plugins: deps.plugins, switches, pluginTimeoutMs: deps.pluginTimeoutMs, signal, onEvent: (e) => relay.onEvent?.(e) })
      : async (cmds) => (commandsToCalls(cmds, tools).length ? null : cmds.map((c) => ({ ok: false, message: `no tool ${c.name}` }))),
    showCommands: p.plugins.length > 0,
    toCalls: (cmds) => commandsToCalls(cmds, tools),
    relay,
  });
}

async function* chat(p: ChatParams, deps: ChatDeps, conv: Conversation, signal: AbortSignal, x: {
  grammars?: TurnGrammars; forceCommand?: string; run: TurnOptions['run']; showCommands: boolean; toCalls: (cmds: readonly Command[]) => { name: string; arguments: string }[];
  relay: { onEvent?: (e: LoopEvent) => void };
}): AsyncGenerator<ChatEvent> {
  const { engine } = deps;
  const ac = new AbortController(); // a stop string ends the generation
  const sig = AbortSignal.any([signal, ac.signal]);
  const stops = new StopStrings(p.stop);
  const events: ChatEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (e: ChatEvent): void => { events.push(e); wake?.(); };
  // log-probabilities of the reply's tokens (the MOSS field), sent with the content they spell
  const tap = p.logprobs === undefined ? undefined : new ChatLogprobTap(engine.tokenizer);
  const withLp = (text: string): ChatEvent => { const lp = tap?.take(text); return { type: 'content', text, ...(lp ? { logprobs: lp } : {}) }; };
  const onEvent = (e: LoopEvent): void => {
    if (e.type === 'command') push({ type: 'plugin', name: e.name, arguments: e.arg, ok: e.ok, ...(e.message ? { error: e.message } : {}) });
    if (e.type !== 'field') return;
    if (e.field === 'MOSS') {
      const t = stops.push(e.text) + (e.done ? stops.flush() : '');
      if (t) push(withLp(t));
      if (stops.stopped) ac.abort();
    } else if (e.text && !(e.field === 'Commands' && !x.showCommands)) push({ type: 'reasoning', field: FIELD_NAME[e.field] ?? e.field, text: e.text });
  };
  x.relay.onEvent = onEvent;
  let done = false;
  let failure: unknown;
  let result: Awaited<ReturnType<typeof runTurn>> | undefined;
  const maxTokens = p.maxTokens ?? deps.defaultMaxTokens;
  const lp = tap ? { top: p.logprobs!, tap } : undefined;
  const onToken = tap ? (id: number, field: string | undefined, stop: boolean) => tap.token(id, field === 'MOSS' && !stop) : undefined;
  void runTurn(conv, { model: engineModel(engine, p.sampling, x.grammars, lp), tokenizer: engine.tokenizer, maxContext: engine.contextLength, maxNewTokens: maxTokens, keepHistory: true, signal: sig, onEvent, onToken, run: x.run, forceCommand: x.forceCommand })
    .then((r) => { result = r; }, (e) => { failure = e; })
    .finally(() => { done = true; wake?.(); });
  try {
    for (;;) {
      while (events.length) yield events.shift()!;
      if (done) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    ac.abort();
  }
  if (failure) {
    if (signal.aborted) return;
    throw new ApiError(400, (failure as Error).message, 'invalid_request_error', 'messages');
  }
  if (!result || (signal.aborted && !stops.stopped)) return;
  const rest = stops.flush();
  // a turn cut by max_tokens inside its commands still hands on the calls it finished (as tool calls)
  const calls = result.finish === 'tool_calls' || result.finish === 'length' ? x.toCalls(result.commands) : [];
  if (rest || (tap && !calls.length)) {
    const e = withLp(rest);
    if (e.type === 'content' && (e.text || e.logprobs)) yield e;
  }
  const id = Date.now().toString(36);
  for (const [i, c] of calls.entries()) yield { type: 'tool_call', index: i, id: `call_${id}_${i}`, name: c.name, arguments: c.arguments };
  const reason = calls.length ? 'tool_calls' : stops.stopped ? 'stop' : result.finish === 'length' ? 'length' : 'stop';
  const t = result.turn;
  const fields = conv.tools ? Object.fromEntries((['Inner Thoughts', 'Commands', 'Tool Responses'] as const).filter((k) => t[k]).map((k) => [FIELD_NAME[k] ?? k, rawBody(k, t[k]!)])) : {};
  yield { type: 'finish', reason, promptTokens: result.promptTokens, completionTokens: result.completionTokens, ...(Object.keys(fields).length ? { fields } : {}) };
}
