/**
 * `/v1/chat/completions` for a non-MOSS model: the messages (and the request's tools, when its
 * chat template takes them) go through the model's own chat template (src/chat/template.ts) and one
 * template turn (src/chat/template-turn.ts); events are the same as the MOSS path's (./chat-run.ts),
 * so JSON and SSE sending is shared. Checked synchronously in `startTemplateChat`, before any byte
 * is sent: a template that fails to render (400 with its error), `moss_plugins` (400: MOSS's
 * plugins need a MOSS model), tools the template cannot show (400), the prompt length (400), the
 * queue (429), a response_format schema the grammar cannot express (400). `response_format` is
 * constrained decoding (./tool-grammar.ts); tool calls here are not constrained. Deliberately no
 * HTTP and no MOSS format here.
 */
import { TemplateError, templateMessages, type ChatTemplate } from '../chat/template.js';
import { fitTemplatePrompt, runTemplateTurn } from '../chat/template-turn.js';
import type { TokenGenerator } from '../chat/loop.js';
import { QueueFullError, type Engine } from './engine.js';
import { ApiError } from './errors.js';
import type { ChatParams } from './validate.js';
import { checkSchemas, formatGrammar } from './tool-grammar.js';
import { ChatLogprobTap, type ChatLogprob } from './logprobs.js';

/** The events of ./chat-run.ts's ChatEvent that a template turn produces. */
export type TemplateChatEvent =
  | { readonly type: 'content'; readonly text: string; readonly logprobs?: ChatLogprob[] }
  | { readonly type: 'tool_call'; readonly index: number; readonly id: string; readonly name: string; readonly arguments: string }
  | { readonly type: 'finish'; readonly reason: 'stop' | 'length' | 'tool_calls'; readonly promptTokens: number; readonly completionTokens: number };

export interface TemplateChatDeps {
  readonly engine: Engine;
  readonly template: ChatTemplate;
  readonly defaultMaxTokens: number;
}

function admitCheck(engine: Engine): void {
  const s = engine.stats();
  if (s.active >= s.slots && s.queued >= s.maxQueue) {
    const e = new QueueFullError(1);
    throw new ApiError(429, e.message, 'server_busy', null, 'queue_full', { 'retry-after': String(e.retryAfterS) });
  }
}

/** Validates, encodes and admits the request, then returns its event stream (see the header). */
export function startTemplateChat(p: ChatParams, deps: TemplateChatDeps, signal: AbortSignal): AsyncGenerator<TemplateChatEvent> {
  const { engine, template } = deps;
  const tok = engine.tokenizer;
  if (p.plugins.length) throw new ApiError(400, `moss_plugins needs a MOSS model; ${engine.modelId} chats through its own chat template`, 'invalid_request_error', 'moss_plugins', 'unsupported_value');
  const offered = p.toolChoice === 'none' ? [] : p.tools;
  if (offered.length && !template.supportsTools) throw new ApiError(400, template.isPlain ? `${engine.modelId} has no chat template (it gets the plain User:/Assistant: transcript), so it cannot be offered tools` : `the chat template of ${engine.modelId} (${template.info.source}) does not take tools`, 'invalid_request_error', 'tools', 'unsupported_value');
  const tools = offered.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } } }));
  const messages = templateMessages(p.messages);
  let ids: number[];
  try {
    ids = fitTemplatePrompt(template, tok, messages, engine.contextLength, 1, tools.length ? tools : undefined);
  } catch (e) {
    if (e instanceof TemplateError) throw new ApiError(400, e.message, 'invalid_request_error', 'messages', 'template_error');
    throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'messages', 'context_length_exceeded');
  }
  checkSchemas([], p.responseFormat);
  admitCheck(engine);
  const fmt = p.responseFormat;
  // response_format: the output is JSON (constrained decoding), then one of the turn's stop ids
  const tap = p.logprobs === undefined ? undefined : new ChatLogprobTap(tok);
  const model: TokenGenerator = {
    generate: (promptIds, o) => {
      const s = engine.submit({ promptIds, maxNewTokens: o.maxNewTokens, stopIds: o.stopIds, sampling: p.sampling, signal: o.signal, admit: false, ...(fmt && o.stopIds.length ? { grammar: formatGrammar(fmt, o.stopIds) } : {}), ...(tap ? { logprobs: p.logprobs } : {}) });
      return tap ? tap.track(s) : s;
    },
  };
  return run(p, deps, messages, tools, ids, model, signal, tap);
}

async function* run(p: ChatParams, deps: TemplateChatDeps, messages: ReturnType<typeof templateMessages>, tools: readonly unknown[], ids: number[], model: TokenGenerator, signal: AbortSignal, tap?: ChatLogprobTap): AsyncGenerator<TemplateChatEvent> {
  const { engine, template } = deps;
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: unknown;
  let result: Awaited<ReturnType<typeof runTemplateTurn>> | undefined;
  void runTemplateTurn(template, messages, {
    model, tokenizer: engine.tokenizer, maxContext: engine.contextLength, maxNewTokens: p.maxTokens ?? deps.defaultMaxTokens,
    tools: tools.length ? tools : undefined, stop: p.stop, keepHistory: true, signal,
    onText: (t) => { queue.push(t); wake?.(); },
    ...(tap ? { onToken: (id: number, stop: boolean) => tap.token(id, !stop) } : {}),
  }, ids).then((r) => { result = r; }, (e) => { failure = e; }).finally(() => { done = true; wake?.(); });
  const content = (text: string): TemplateChatEvent => { const lp = tap?.take(text); return { type: 'content', text, ...(lp ? { logprobs: lp } : {}) }; };
  for (;;) {
    while (queue.length) yield content(queue.shift()!);
    if (done) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  if (failure) {
    if (signal.aborted) return;
    throw failure;
  }
  if (!result || result.finish === 'abort') return;
  if ((tools.length && result.reply) || (tap && !result.toolCalls.length)) {
    const e = content(tools.length ? result.reply : '');
    if (e.type === 'content' && (e.text || e.logprobs)) yield e;
  }
  const id = Date.now().toString(36);
  for (const [i, c] of result.toolCalls.entries()) yield { type: 'tool_call', index: i, id: `call_${id}_${i}`, name: c.name, arguments: c.arguments };
  yield { type: 'finish', reason: result.finish, promptTokens: result.promptTokens, completionTokens: result.completionTokens };
}
