/**
 * The OpenAI-compatible routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
 * Non-streaming answers aggregate the event stream of ./chat-run.ts; streaming answers send
 * `chat.completion.chunk` events (tool calls as deltas keyed by `index`, usage in a last chunk
 * when `stream_options.include_usage`), then `data: [DONE]`. Follows the OpenAI API reference and
 * llama.cpp server's behaviour. Deliberately no logprobs and no n > 1.
 */
import type { Engine, TokenStream } from './engine.js';
import { QueueFullError } from './engine.js';
import { ApiError, errorResponse, json } from './errors.js';
import { busy, startChat, type ChatDeps, type ChatEvent } from './chat-run.js';
import type { Metrics } from './metrics.js';
import { sseResponse } from './sse.js';
import { StopStrings } from '../generate/stop.js';
import { parseChat, parseCompletion } from './validate.js';

export interface RouteDeps extends ChatDeps {
  readonly metrics: Metrics;
}

const errorBody = (e: unknown): unknown => {
  if (e instanceof ApiError) return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
  return { error: { message: 'internal server error', type: 'server_error', param: null, code: null } };
};

let seq = 0;
const newId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Records time to first text and token counts as events pass. */
async function* measured(events: AsyncGenerator<ChatEvent>, m: Metrics, t0: number): AsyncGenerator<ChatEvent> {
  let first = true;
  try {
    for await (const e of events) {
      if (first && (e.type === 'content' || e.type === 'reasoning' || e.type === 'tool_call')) {
        m.firstToken((performance.now() - t0) / 1000);
        first = false;
      }
      if (e.type === 'finish') {
        m.promptTokens += e.promptTokens;
        m.completionTokens += e.completionTokens;
      }
      yield e;
    }
  } finally {
    await events.return(undefined);
  }
}

export async function chatCompletions(req: Request, body: unknown, d: RouteDeps): Promise<Response> {
  const p = parseChat(body);
  const t0 = performance.now();
  const events = measured(startChat(p, d, req.signal), d.metrics, t0);
  const id = newId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const model = d.engine.modelId;
  const usage = (e: { promptTokens: number; completionTokens: number }) => ({ prompt_tokens: e.promptTokens, completion_tokens: e.completionTokens, total_tokens: e.promptTokens + e.completionTokens });
  if (!p.stream) {
    let content = '';
    let reasoning = '';
    const calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
    const plugins: unknown[] = [];
    for await (const e of events) {
      if (e.type === 'content') content += e.text;
      else if (e.type === 'reasoning') reasoning += e.text;
      else if (e.type === 'tool_call') calls.push({ id: e.id, type: 'function', function: { name: e.name, arguments: e.arguments } });
      else if (e.type === 'plugin') plugins.push({ name: e.name, arguments: e.arguments, ok: e.ok, ...(e.error ? { error: e.error } : {}) });
      else {
        const message = { role: 'assistant', content: calls.length && !content ? null : content, ...(calls.length ? { tool_calls: calls } : {}), ...(reasoning ? { reasoning_content: reasoning } : {}), ...(plugins.length ? { moss_plugins: plugins } : {}) };
        return json({ id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: e.reason, logprobs: null }], usage: usage(e) });
      }
    }
    throw new ApiError(499, 'client closed the request', 'cancelled');
  }
  const chunk = (delta: unknown, finish: string | null = null) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  async function* sse(): AsyncGenerator<unknown> {
    try {
      yield chunk({ role: 'assistant', content: '' });
      for await (const e of events) {
        if (e.type === 'content') yield chunk({ content: e.text });
        else if (e.type === 'reasoning') yield chunk({ reasoning_content: e.text, moss_field: e.field });
        else if (e.type === 'tool_call') yield chunk({ tool_calls: [{ index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: e.arguments } }] });
        else if (e.type === 'plugin') yield chunk({ moss_plugin: { name: e.name, arguments: e.arguments, ok: e.ok, ...(e.error ? { error: e.error } : {}) } });
        else {
          yield chunk({}, e.reason);
          if (p.includeUsage) yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(e) };
        }
      }
    } finally {
      await events.return(undefined);
    }
  }
  return sseResponse(sse(), errorBody);
}

/** Raw completion: the prompt is encoded with control tokens allowed, so the MOSS format can be driven directly. */
export async function completions(req: Request, body: unknown, d: RouteDeps): Promise<Response> {
  const p = parseCompletion(body);
  const { engine } = d;
  const tok = engine.tokenizer;
  const ids = tok.encode(p.prompt, { special: 'allow', addBos: engine.addBos });
  if (!ids.length) throw new ApiError(400, 'prompt is empty', 'invalid_request_error', 'prompt', 'invalid_value');
  const room = engine.contextLength - ids.length;
  if (room < 1) throw new ApiError(400, `the prompt has ${ids.length} tokens, which does not fit the context of ${engine.contextLength} tokens`, 'invalid_request_error', 'prompt', 'context_length_exceeded');
  const ac = new AbortController();
  const stopIds = tok.eosId === null ? [] : [tok.eosId];
  let stream: TokenStream;
  try {
    stream = engine.submit({ promptIds: ids, maxNewTokens: Math.min(p.maxTokens ?? 16, room), stopIds, sampling: p.sampling, signal: AbortSignal.any([req.signal, ac.signal]) });
  } catch (e) {
    if (e instanceof QueueFullError) throw busy(e);
    throw e;
  }
  const id = newId('cmpl');
  const created = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  let n = 0;
  async function* pieces(): AsyncGenerator<string> {
    const dec = tok.streamDecoder({ skipSpecial: false });
    const stops = new StopStrings(p.stop);
    let first = true;
    try {
      if (p.echo) yield p.prompt;
      for await (const t of stream) {
        n++;
        if (stopIds.includes(t)) break;
        const s = stops.push(dec.push(t));
        if (s) {
          if (first) d.metrics.firstToken((performance.now() - t0) / 1000);
          first = false;
          yield s;
        }
        if (stops.stopped) return;
      }
      const rest = stops.push(dec.flush()) + stops.flush();
      if (rest) yield rest;
    } finally {
      ac.abort();
    }
  }
  const finishReason = async (): Promise<string> => ((await stream.finish) === 'length' ? 'length' : 'stop');
  const usage = () => ({ prompt_tokens: ids.length, completion_tokens: n, total_tokens: ids.length + n });
  const choice = (text: string, finish: string | null) => ({ index: 0, text, logprobs: null, finish_reason: finish });
  if (!p.stream) {
    let text = '';
    for await (const s of pieces()) text += s;
    d.metrics.promptTokens += ids.length;
    d.metrics.completionTokens += n;
    return json({ id, object: 'text_completion', created, model: engine.modelId, choices: [choice(text, await finishReason())], usage: usage() });
  }
  async function* sse(): AsyncGenerator<unknown> {
    const it = pieces();
    try {
      for await (const s of it) yield { id, object: 'text_completion', created, model: engine.modelId, choices: [choice(s, null)] };
      d.metrics.promptTokens += ids.length;
      d.metrics.completionTokens += n;
      yield { id, object: 'text_completion', created, model: engine.modelId, choices: [choice('', await finishReason())] };
      if (p.includeUsage) yield { id, object: 'text_completion', created, model: engine.modelId, choices: [], usage: usage() };
    } finally {
      await it.return(undefined);
    }
  }
  return sseResponse(sse(), errorBody);
}

export function models(engine: Engine): Response {
  return json({ object: 'list', data: [{ id: engine.modelId, object: 'model', created: 0, owned_by: 'moss.ts', context_length: engine.contextLength }] });
}

export { errorResponse };
