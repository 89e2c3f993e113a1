/**
 * The Ollama API over the same model, so tools built for Ollama (Open WebUI, Continue, the `ollama`
 * npm client) work against `moss serve`: `POST /api/chat` and `POST /api/generate` (NDJSON
 * streaming by default, `stream: false` for one object), `GET /api/tags`, `GET /api/ps`,
 * `POST /api/show`, `GET /api/version`. A request is translated into the OpenAI one and runs
 * through the same chat turn (./chat-run.ts), so prompts, tools, plugins-off and stop strings
 * behave as on /v1; `raw: true` on /api/generate sends the prompt as is (like /v1/completions).
 * Errors are Ollama's `{"error": "..."}`. Follows docs/api.md of ollama/ollama (v0.6).
 * Deliberately not here: pull/push/create/copy/delete/embeddings (one model per process), images.
 */
import { createHash } from 'node:crypto';
import { StopStrings } from '../generate/stop.js';
import { busy, startChat, type ChatEvent } from './chat-run.js';
import { QueueFullError } from './engine.js';
import { ApiError, badField, json } from './errors.js';
import type { ModelNames } from './models.js';
import type { RouteDeps } from './openai.js';
import { streamResponse } from './sse.js';
import { isObj, parseChat, parseCompletion, type Obj } from './validate.js';

export const OLLAMA_VERSION = '0.6.4';

export interface OllamaDeps extends RouteDeps {
  readonly names: ModelNames;
}

const started = new Date().toISOString();

/** Ollama's error shape for anything a handler throws. */
export function ollamaErrors(fn: (req: Request) => Promise<Response> | Response): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      return await fn(req);
    } catch (e) {
      if (e instanceof ApiError) return json({ error: e.message }, e.status, e.headers);
      throw e;
    }
  };
}

/** `name` or `name:latest` -> the served model's id (404 otherwise). */
function modelName(b: Obj, d: OllamaDeps): string {
  const m = b.model ?? b.name;
  if (m !== undefined && typeof m !== 'string') throw badField('model', 'model must be a string');
  const name = (m ?? '').replace(/:latest$/, '');
  try {
    d.names.check(name);
  } catch {
    throw new ApiError(404, `model "${m}" not found (served: ${d.names.id})`, 'not_found_error', 'model', 'model_not_found');
  }
  return m || `${d.names.id}:latest`;
}

/** Ollama `options` -> OpenAI sampling fields. */
function options(b: Obj): Obj {
  const o = b.options;
  if (o === undefined || o === null) return {};
  if (!isObj(o)) throw badField('options', 'options must be an object');
  const out: Obj = {};
  const map: Record<string, string> = { temperature: 'temperature', top_p: 'top_p', top_k: 'top_k', seed: 'seed', stop: 'stop', repeat_penalty: 'repetition_penalty', presence_penalty: 'presence_penalty', frequency_penalty: 'frequency_penalty' };
  for (const [k, v] of Object.entries(map)) if (o[k] !== undefined) out[v] = o[k];
  if (typeof o.num_predict === 'number' && o.num_predict > 0) out.max_tokens = o.num_predict;
  return out;
}

function format(b: Obj): Obj {
  if (b.format === undefined || b.format === null || b.format === '') return {};
  if (b.format === 'json') return { response_format: { type: 'json_object' } };
  if (isObj(b.format)) return { response_format: { type: 'json_schema', json_schema: { name: 'format', schema: b.format } } };
  throw badField('format', 'format must be "json" or a JSON schema object');
}

/** Ollama messages -> OpenAI messages: tool calls get ids, tool results are matched to them in order. */
function messages(list: unknown): unknown[] {
  if (!Array.isArray(list)) throw badField('messages', 'messages must be an array');
  const pending: string[] = [];
  let k = 0;
  return list.map((m, i) => {
    if (!isObj(m)) throw badField(`messages[${i}]`, 'each message must be an object');
    if (Array.isArray(m.images) && m.images.length) throw badField(`messages[${i}].images`, 'images are not supported by this model');
    const out: Obj = { role: m.role, content: m.content ?? '' };
    if (typeof m.thinking === 'string' && m.role === 'assistant') out.reasoning_content = m.thinking;
    if (Array.isArray(m.tool_calls)) {
      out.tool_calls = m.tool_calls.map((c, j) => {
        const f = isObj(c) ? c.function : undefined;
        if (!isObj(f) || typeof f.name !== 'string') throw badField(`messages[${i}].tool_calls[${j}]`, 'a tool call needs function.name');
        const id = `call_${k++}`;
        pending.push(id);
        return { id, type: 'function', function: { name: f.name, arguments: typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {}) } };
      });
    }
    if (m.role === 'tool') out.tool_call_id = pending.shift() ?? `call_${k++}`;
    return out;
  });
}

/** NDJSON streaming: one JSON object per line; an error mid-stream becomes one `{"error"}` line. */
function ndjson(source: AsyncGenerator<unknown>): Response {
  return streamResponse(source, {
    value: (v) => `${JSON.stringify(v)}\n`,
    error: (e) => `${JSON.stringify({ error: e instanceof ApiError ? e.message : 'internal server error' })}\n`,
    headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' },
  });
}

const ns = (ms: number): number => Math.round(ms * 1e6);

/** The finishing fields of a chat or generate answer. */
function stats(t0: number, promptTokens: number, completionTokens: number, reason: string): Obj {
  const total = performance.now() - t0;
  return { done: true, done_reason: reason === 'length' ? 'length' : 'stop', total_duration: ns(total), load_duration: 0, prompt_eval_count: promptTokens, prompt_eval_duration: 0, eval_count: completionTokens, eval_duration: ns(total) };
}

/** A chat turn's events as Ollama pieces: `field` is `message` (/api/chat) or `response` (/api/generate). */
async function answer(events: AsyncGenerator<ChatEvent>, model: string, stream: boolean, t0: number, chatShape: boolean): Promise<Response> {
  const piece = (msg: Obj, done = false, extra: Obj = {}) => ({ model, created_at: new Date().toISOString(), ...(chatShape ? { message: { role: 'assistant', content: '', ...msg } } : { response: msg.content ?? '', ...(msg.thinking ? { thinking: msg.thinking } : {}) }), done, ...extra });
  const call = (e: Extract<ChatEvent, { type: 'tool_call' }>) => {
    let args: unknown;
    try {
      args = JSON.parse(e.arguments);
    } catch {
      args = { input: e.arguments };
    }
    return { function: { name: e.name, arguments: args } };
  };
  if (!stream) {
    let content = '';
    let thinking = '';
    const calls: unknown[] = [];
    for await (const e of events) {
      if (e.type === 'content') content += e.text;
      else if (e.type === 'reasoning') thinking += e.text;
      else if (e.type === 'tool_call') calls.push(call(e));
      else if (e.type === 'finish') return json(piece({ content, ...(thinking ? { thinking } : {}), ...(calls.length ? { tool_calls: calls } : {}) }, true, stats(t0, e.promptTokens, e.completionTokens, e.reason)));
    }
    throw new ApiError(499, 'client closed the request', 'cancelled');
  }
  async function* lines(): AsyncGenerator<unknown> {
    try {
      for await (const e of events) {
        if (e.type === 'content') yield piece({ content: e.text });
        else if (e.type === 'reasoning') yield piece({ thinking: e.text });
        else if (e.type === 'tool_call') yield piece({ tool_calls: [call(e)] });
        else if (e.type === 'finish') yield piece({}, true, stats(t0, e.promptTokens, e.completionTokens, e.reason));
      }
    } finally {
      await events.return(undefined);
    }
  }
  return ndjson(lines());
}

async function measured(events: AsyncGenerator<ChatEvent>, d: OllamaDeps): Promise<AsyncGenerator<ChatEvent>> {
  return (async function* () {
    try {
      for await (const e of events) {
        if (e.type === 'finish') d.metrics.tokens(e);
        yield e;
      }
    } finally {
      await events.return(undefined);
    }
  })();
}

/** POST /api/chat */
export async function ollamaChat(req: Request, body: unknown, d: OllamaDeps): Promise<Response> {
  if (!isObj(body)) throw badField('body', 'request body must be a JSON object');
  const model = modelName(body, d);
  const t0 = performance.now();
  const stream = body.stream !== false;
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return json({ model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, done_reason: 'load', done: true });
  }
  const p = parseChat({ messages: messages(body.messages), ...(body.tools ? { tools: body.tools } : {}), ...options(body), ...format(body) });
  return answer(await measured(startChat(p, d, req.signal), d), model, stream, t0, true);
}

/** POST /api/generate: the prompt as a user turn (plus `system`), or as is with `raw: true`. */
export async function ollamaGenerate(req: Request, body: unknown, d: OllamaDeps): Promise<Response> {
  if (!isObj(body)) throw badField('body', 'request body must be a JSON object');
  const model = modelName(body, d);
  const t0 = performance.now();
  const stream = body.stream !== false;
  if (body.prompt !== undefined && typeof body.prompt !== 'string') throw badField('prompt', 'prompt must be a string');
  if (Array.isArray(body.images) && body.images.length) throw badField('images', 'images are not supported by this model');
  const prompt = (body.prompt as string | undefined) ?? '';
  if (!prompt) return json({ model, created_at: new Date().toISOString(), response: '', done_reason: 'load', done: true });
  if (body.raw === true) return raw(req, prompt, body, d, model, stream, t0);
  if (body.system !== undefined && typeof body.system !== 'string') throw badField('system', 'system must be a string');
  const msgs = [...(body.system ? [{ role: 'system', content: body.system }] : []), { role: 'user', content: prompt }];
  const p = parseChat({ messages: msgs, ...options(body), ...format(body) });
  return answer(await measured(startChat(p, d, req.signal), d), model, stream, t0, false);
}

/** `raw: true`: the prompt's own tokens, no template (as /v1/completions). */
async function raw(req: Request, prompt: string, body: Obj, d: OllamaDeps, model: string, stream: boolean, t0: number): Promise<Response> {
  const p = parseCompletion({ prompt, ...options(body) });
  const { engine } = d;
  const tok = engine.tokenizer;
  const ids = tok.encode(prompt, { special: 'allow', addBos: engine.addBos });
  const room = engine.contextLength - ids.length;
  if (room < 1) throw new ApiError(400, `the prompt has ${ids.length} tokens, which does not fit the context of ${engine.contextLength} tokens`, 'invalid_request_error', 'prompt', 'context_length_exceeded');
  const ac = new AbortController();
  const stopIds = tok.eosId === null ? [] : [tok.eosId];
  let ts;
  try {
    ts = engine.submit({ promptIds: ids, maxNewTokens: Math.min(p.maxTokens ?? d.defaultMaxTokens, room), stopIds, sampling: p.sampling, signal: AbortSignal.any([req.signal, ac.signal]) });
  } catch (e) {
    if (e instanceof QueueFullError) throw busy(e);
    throw e;
  }
  const tokens = ts;
  let n = 0;
  async function* events(): AsyncGenerator<ChatEvent> {
    const dec = tok.streamDecoder({ skipSpecial: false });
    const stops = new StopStrings(p.stop);
    try {
      for await (const t of tokens) {
        n++;
        if (stopIds.includes(t)) break;
        const s = stops.push(dec.push(t));
        if (s) yield { type: 'content', text: s };
        if (stops.stopped) break;
      }
      const rest = stops.stopped ? '' : stops.push(dec.flush()) + stops.flush();
      if (rest) yield { type: 'content', text: rest };
      const reason = !stops.stopped && (await tokens.finish) === 'length' ? 'length' : 'stop';
      yield { type: 'finish', reason, promptTokens: ids.length, completionTokens: n };
    } finally {
      ac.abort();
    }
  }
  return answer(await measured(events(), d), model, stream, t0, false);
}

function details(): Obj {
  return { parent_model: '', format: 'moss.ts', family: 'moss', families: ['moss'], parameter_size: '', quantization_level: '' };
}

function entry(d: OllamaDeps): Obj {
  const name = `${d.names.id}:latest`;
  return { name, model: name, modified_at: started, size: 0, digest: createHash('sha256').update(d.names.id).digest('hex'), details: details() };
}

/** GET /api/tags */
export function ollamaTags(d: OllamaDeps): Response {
  return json({ models: [entry(d)] });
}

/** GET /api/ps: the one model, always loaded. */
export function ollamaPs(d: OllamaDeps): Response {
  return json({ models: [{ ...entry(d), expires_at: '2999-01-01T00:00:00Z', size_vram: 0, context_length: d.engine.contextLength }] });
}

/** POST /api/show */
export function ollamaShow(body: unknown, d: OllamaDeps): Response {
  if (!isObj(body)) throw badField('body', 'request body must be a JSON object');
  modelName(body, d);
  return json({
    modelfile: `FROM ${d.names.id}\n`, parameters: '', template: d.template ? '(the model\'s chat template)' : '(the MOSS chat format)',
    details: details(), model_info: { 'general.basename': d.names.id, 'general.context_length': d.engine.contextLength, 'tokenizer.vocab_size': d.engine.tokenizer.vocabSize },
    capabilities: ['completion', 'tools'], modified_at: started,
  });
}

/** GET /api/version */
export function ollamaVersion(): Response {
  return json({ version: OLLAMA_VERSION });
}
